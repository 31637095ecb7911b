//go:build !cuda

package cuda

// New returns the CPU twin; build with the "cuda" tag to run on a GPU.
func New() (Multiplier, error) { return NewCPU(0), nil }
