package kernels

import "golang.org/x/sys/cpu"

//go:noescape
func kernel6x16FMA(k int, a *float32, lda int, b *float32, c *float32, ldc int)

//go:noescape
func kernel14x16AVX512(k int, a *float32, lda int, b *float32, c *float32, ldc int)

// kernelFMA and kernelAVX512 wrap the assembly kernels; the caller
// guarantees the bounds (mr rows of A from a, of C from c).
func kernelFMA(k int, a []float32, lda int, b, c []float32, ldc int) {
	kernel6x16FMA(k, &a[0], lda, &b[0], &c[0], ldc)
}

func kernelAVX512(k int, a []float32, lda int, b, c []float32, ldc int) {
	kernel14x16AVX512(k, &a[0], lda, &b[0], &c[0], ldc)
}

// kernels lists the micro-kernels this processor can run, best first.
func available() []microKernel {
	var ks []microKernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, microKernel{name: "avx512", mr: 14, fn: kernelAVX512})
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, microKernel{name: "avx2-fma", mr: 6, fn: kernelFMA})
	}
	return append(ks, genericKernel)
}
