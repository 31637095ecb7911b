package cputime_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/internal/cputime"
)

func TestProcessGrowsWithWork(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("no process CPU time on this platform")
	}
	before, ok := cputime.Process()
	require.True(t, ok)
	// Work until the process has used 20 ms more CPU. On a loaded machine
	// a fixed wall-clock busy loop may get only a few milliseconds of CPU,
	// so the loop waits for the CPU time itself, within a generous
	// deadline: a Process that does not grow fails at the deadline.
	x := 0.0
	after := before
	for deadline := time.Now().Add(30 * time.Second); after-before < 20*time.Millisecond && time.Now().Before(deadline); {
		for range 1_000_000 {
			x += 1e-9
		}
		after, ok = cputime.Process()
		require.True(t, ok)
	}
	assert.GreaterOrEqual(t, after-before, 20*time.Millisecond, "x = %v", x)
}
