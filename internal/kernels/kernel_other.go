//go:build !amd64

package kernels

func available() []microKernel { return []microKernel{genericKernel} }

func (m microKernel) run(k int, a []float32, lda int, b, c []float32, ldc int) {
	kernelGo(m.mr, k, a, lda, b, c, ldc)
}
