//go:build !amd64

package kernels

func available() []microKernel { return []microKernel{genericKernel} }

func (m microKernel) run(k int, a, b, c []float32, ldc int) {
	kernelGo(m.mr, k, a, b, c, ldc)
}
