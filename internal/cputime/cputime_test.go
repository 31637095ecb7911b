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
	x := 0.0
	for start := time.Now(); time.Since(start) < 50*time.Millisecond; {
		x += 1e-9 // busy for 50 ms
	}
	after, ok := cputime.Process()
	require.True(t, ok)
	assert.Greater(t, after-before, 10*time.Millisecond, "x = %v", x)
}
