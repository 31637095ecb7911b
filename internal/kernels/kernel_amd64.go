package kernels

import "golang.org/x/sys/cpu"

// hasFMA reports, once at start-up, whether the AVX2/FMA micro-kernel can
// run on this processor.
var hasFMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func kernel6x16FMA(k int, a *float32, lda int, b *float32, c *float32, ldc int)

// kernel6x16 adds the product of six rows of A (k values each, lda apart)
// and a packed k×16 panel of B to six rows of C (ldc apart). The caller
// guarantees the bounds.
func kernel6x16(k int, a []float32, lda int, b []float32, c []float32, ldc int) {
	if hasFMA {
		kernel6x16FMA(k, &a[0], lda, &b[0], &c[0], ldc)
		return
	}
	kernel6x16Go(k, a, lda, b, c, ldc)
}
