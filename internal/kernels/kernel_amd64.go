package kernels

import "golang.org/x/sys/cpu"

//go:noescape
func kernel16x16AVX512P(k int, a *float32, b *float32, c *float32, ldc int)

//go:noescape
func kernel6x16FMAP(k int, a *float32, b *float32, c *float32, ldc int)

// run calls the micro-kernel on a packed k×mr tile of A and a packed
// k×16 panel of B, adding into mr rows of C (ldc apart). A switch rather
// than a function value, so that the slices do not escape to the heap.
func (m microKernel) run(k int, a, b, c []float32, ldc int) {
	// The assembly reads these extents; check them once here.
	_, _, _ = a[k*m.mr-1], b[k*nr-1], c[(m.mr-1)*ldc+nr-1]
	switch m.id {
	case kernAVX512:
		kernel16x16AVX512P(k, &a[0], &b[0], &c[0], ldc)
	case kernFMA:
		kernel6x16FMAP(k, &a[0], &b[0], &c[0], ldc)
	default:
		kernelGo(m.mr, k, a, b, c, ldc)
	}
}

// available lists the micro-kernels this processor can run, best first.
func available() []microKernel {
	var ks []microKernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, microKernel{name: "avx512", mr: 16, id: kernAVX512})
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, microKernel{name: "avx2-fma", mr: 6, id: kernFMA})
	}
	return append(ks, genericKernel)
}
