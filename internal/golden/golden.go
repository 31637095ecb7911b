// Package golden compares test output with recorded golden files, so that
// a refactor can prove it moved no number.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// update rewrites the golden files instead of comparing with them:
// go test ./... -run Golden -update-golden.
var update = flag.Bool("update-golden", false, "rewrite the golden files of testdata/golden")

// Check compares got with testdata/golden/name byte for byte, or rewrites
// the file with -update-golden.
func Check(t testing.TB, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(want), got, "golden file %s changed", path)
}
