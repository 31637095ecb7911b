package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeDir(t *testing.T, dir, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f"), []byte(content), 0o600))
}

func readDir(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "f"))
	require.NoError(t, err)
	return string(b)
}

func TestReplaceDir(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "m")
	ok := func(string) error { return nil }
	require.NoError(t, ReplaceDir(dir, ok, func(tmp string) error { writeDir(t, tmp, "one"); return nil }))
	assert.Equal(t, "one", readDir(t, dir))

	// While the new content is written, dir still holds the old one.
	require.NoError(t, ReplaceDir(dir, ok, func(tmp string) error {
		assert.Equal(t, "one", readDir(t, dir))
		writeDir(t, tmp, "two")
		return nil
	}))
	assert.Equal(t, "two", readDir(t, dir))

	// A failed fill or a refusal leaves the old content and no leftover.
	boom := errors.New("boom")
	require.ErrorIs(t, ReplaceDir(dir, ok, func(tmp string) error { writeDir(t, tmp, "three"); return boom }), boom)
	require.ErrorIs(t, ReplaceDir(dir, func(string) error { return boom }, func(string) error { return nil }), boom)
	assert.Equal(t, "two", readDir(t, dir))

	// Leftovers of interrupted calls are removed, other files are not.
	require.NoError(t, os.Mkdir(filepath.Join(root, ".m.tmp-1"), 0o755))
	require.NoError(t, os.Mkdir(filepath.Join(root, ".m.tmp-1.old"), 0o755))
	require.NoError(t, os.Mkdir(filepath.Join(root, ".other.tmp-1"), 0o755))
	require.NoError(t, ReplaceDir(dir, ok, func(tmp string) error { writeDir(t, tmp, "four"); return nil }))
	entries, err := os.ReadDir(root)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"m", ".other.tmp-1"}, names)
	assert.Equal(t, "four", readDir(t, dir))
}
