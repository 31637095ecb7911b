package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

func TestMatVecMatchesFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, shape := range [][3]int{{1, 1, 1}, {3, 7, 9}, {4, 8, 8}, {5, 16, 20}, {13, 33, 40}, {1525, 128, 128}, {64, 32, 128}} {
		rows, n, lda := shape[0], shape[1], shape[2]
		a := make([]float32, rows*lda)
		x := make([]float32, n)
		for i := range a {
			a[i] = float32(rng.NormFloat64())
		}
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		y := make([]float32, rows)
		for i := range y {
			y[i] = float32(math.NaN()) // MatVec overwrites y
		}
		MatVec(y, a, lda, x)
		for i := range rows {
			var want, mag float64
			for j := range n {
				want += float64(a[i*lda+j]) * float64(x[j])
				mag += math.Abs(float64(a[i*lda+j]) * float64(x[j]))
			}
			assert.InDelta(t, want, float64(y[i]), 1e-6*mag+1e-6, "shape %v row %d", shape, i)
		}
	}
	MatVec(nil, nil, 0, nil)
	assert.Panics(t, func() { MatVec(make([]float32, 2), make([]float32, 8), 3, make([]float32, 4)) })
}

func BenchmarkMatVec(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	const rows, n = 1536, 128 // the general LM's output layer
	a := make([]float32, rows*n)
	for i := range a {
		a[i] = float32(rng.NormFloat64())
	}
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	y := make([]float32, rows)
	b.Run("kernels", func(b *testing.B) {
		b.SetBytes(int64(4 * len(a)))
		for range b.N {
			MatVec(y, a, n, x)
		}
	})
	// gonum's Sgemv (SSE), what the decoder used before, for the ratio.
	b.Run("gonum", func(b *testing.B) {
		b.SetBytes(int64(4 * len(a)))
		for range b.N {
			blas32.Gemv(blas.NoTrans, 1, blas32.General{Rows: rows, Cols: n, Stride: n, Data: a},
				blas32.Vector{N: n, Inc: 1, Data: x}, 0, blas32.Vector{N: rows, Inc: 1, Data: y})
		}
	})
}
