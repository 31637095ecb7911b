package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ReplaceDir makes dir hold the directory that fill writes, so that dir is
// at every moment either the old directory or the complete new one, even
// if the process is killed:
//
//   - replaceable is called first with dir when something exists there; it
//     must refuse (return an error) anything the caller did not write,
//     since the old directory is deleted;
//   - leftovers of interrupted earlier calls for the same dir (hidden
//     siblings ".BASE.tmp-*") are removed;
//   - fill writes the new content into an empty hidden sibling, which is
//     flushed to disk;
//   - the sibling and dir are exchanged in one atomic rename where the
//     platform has one (Linux renameat2 RENAME_EXCHANGE), otherwise dir is
//     renamed aside and the sibling into place (a crash between the two
//     leaves dir absent; the next call cleans up);
//   - the old directory is removed.
//
// Two concurrent calls for the same dir are not supported.
func ReplaceDir(dir string, replaceable func(dir string) error, fill func(tmp string) error) error {
	dir = filepath.Clean(dir)
	if _, err := os.Lstat(dir); err == nil {
		if err := replaceable(dir); err != nil {
			return err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("atomicfile: %w", err)
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	if err := RemoveLeftovers(dir); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, leftoverPrefix(dir))
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := fill(tmp); err != nil {
		return err
	}
	if err := SyncDir(tmp); err != nil {
		return err
	}
	if _, err := os.Lstat(dir); err == nil {
		exchanged, err := exchange(tmp, dir)
		if err != nil {
			return fmt.Errorf("atomicfile: replace %s: %w", dir, err)
		}
		if !exchanged {
			old := tmp + ".old"
			if err := os.Rename(dir, old); err != nil {
				return fmt.Errorf("atomicfile: %w", err)
			}
			if err := os.Rename(tmp, dir); err != nil {
				_ = os.Rename(old, dir)
				return fmt.Errorf("atomicfile: %w", err)
			}
			tmp = old // the deferred RemoveAll removes the old directory
		}
	} else if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	return SyncDir(parent)
}

// leftoverPrefix is the name prefix of ReplaceDir's hidden siblings of dir.
func leftoverPrefix(dir string) string { return "." + filepath.Base(dir) + ".tmp-" }

// RemoveLeftovers removes the hidden siblings that interrupted ReplaceDir
// calls for dir left behind (complete or partial copies of the old or the
// new directory).
func RemoveLeftovers(dir string) error {
	dir = filepath.Clean(dir)
	entries, err := os.ReadDir(filepath.Dir(dir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	prefix := leftoverPrefix(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			if err := os.RemoveAll(filepath.Join(filepath.Dir(dir), e.Name())); err != nil {
				return fmt.Errorf("atomicfile: remove the leftover of an interrupted save: %w", err)
			}
		}
	}
	return nil
}
