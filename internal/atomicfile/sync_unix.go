//go:build unix

package atomicfile

import (
	"errors"
	"syscall"
)

// isInvalid reports the error some file systems give for fsync on a
// directory.
func isInvalid(err error) bool { return errors.Is(err, syscall.EINVAL) }
