//go:build !amd64

package kernels

const hasFMA = false

func kernel6x16(k int, a []float32, lda int, b []float32, c []float32, ldc int) {
	kernel6x16Go(k, a, lda, b, c, ldc)
}
