//go:build !linux

package atomicfile

// exchange reports that this platform has no atomic exchange of two
// directory entries.
func exchange(a, b string) (bool, error) { return false, nil }
