package atomicfile

import (
	"errors"

	"golang.org/x/sys/unix"
)

// exchange swaps the entries a and b atomically (renameat2 with
// RENAME_EXCHANGE); exchanged is false when the file system or kernel
// cannot, so that the caller falls back to two renames.
func exchange(a, b string) (exchanged bool, err error) {
	err = unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP) {
		return false, nil
	}
	return err == nil, err
}
