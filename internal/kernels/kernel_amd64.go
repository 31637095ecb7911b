package kernels

import "golang.org/x/sys/cpu"

//go:noescape
func kernel6x16FMA(k int, a *float32, lda int, b *float32, c *float32, ldc int)

//go:noescape
func kernel14x16AVX512(k int, a *float32, lda int, b *float32, c *float32, ldc int)

// run calls the micro-kernel; the caller guarantees the bounds (mr rows
// of A from a, of C from c). A switch rather than a function value, so
// that the slices do not escape to the heap.
func (m microKernel) run(k int, a []float32, lda int, b, c []float32, ldc int) {
	switch m.id {
	case kernAVX512:
		kernel14x16AVX512(k, &a[0], lda, &b[0], &c[0], ldc)
	case kernFMA:
		kernel6x16FMA(k, &a[0], lda, &b[0], &c[0], ldc)
	default:
		kernelGo(m.mr, k, a, lda, b, c, ldc)
	}
}

// kernels lists the micro-kernels this processor can run, best first.
func available() []microKernel {
	var ks []microKernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, microKernel{name: "avx512", mr: 14, id: kernAVX512})
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, microKernel{name: "avx2-fma", mr: 6, id: kernFMA})
	}
	return append(ks, genericKernel)
}
