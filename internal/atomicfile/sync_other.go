//go:build !unix

package atomicfile

// isInvalid reports the error some file systems give for fsync on a
// directory; on Windows a directory cannot be synced at all.
func isInvalid(error) bool { return true }
