package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func randSlice(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// naiveNT is C = A·Wᵀ + bias in float64.
func naiveNT(a []float32, lda, m int, w []float32, ldw, n, k int, bias []float32) []float64 {
	c := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			if bias != nil {
				s = float64(bias[j])
			}
			for p := 0; p < k; p++ {
				s += float64(a[i*lda+p]) * float64(w[j*ldw+p])
			}
			c[i*n+j] = s
		}
	}
	return c
}

func TestGemmMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := []struct{ m, n, k int }{
		{1, 1, 1}, {6, 16, 4}, {7, 17, 5}, {13, 40, 300}, {128, 64, 64}, {130, 48, 513}, {150, 33, 257}, {5, 3, 2},
	}
	for _, s := range shapes {
		for _, workers := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("%dx%dx%d/w%d", s.m, s.n, s.k, workers), func(t *testing.T) {
				lda, ldc, ldw := s.k+3, s.n+5, s.k+1
				a := randSlice(rng, (s.m-1)*lda+s.k)
				w := randSlice(rng, (s.n-1)*ldw+s.k)
				bias := randSlice(rng, s.n)
				want := naiveNT(a, lda, s.m, w, ldw, s.n, s.k, bias)

				var pt Packed
				PackTransposed(&pt, w, s.n, s.k, ldw)
				// The same B in k×n layout, packed with Pack, must give the same panels.
				bt := make([]float32, s.k*s.n)
				for j := 0; j < s.n; j++ {
					for p := 0; p < s.k; p++ {
						bt[p*s.n+j] = w[j*ldw+p]
					}
				}
				var pn Packed
				Pack(&pn, bt, s.k, s.n, s.n)
				require.Equal(t, pt.data, pn.data)

				c := make([]float32, (s.m-1)*ldc+s.n)
				for i := range c {
					c[i] = float32(math.NaN()) // everything must be overwritten
				}
				for _, kern := range available() {
					for i := range c {
						c[i] = float32(math.NaN()) // everything must be overwritten
					}
					require.NoError(t, gemm(kern, c, ldc, a, lda, s.m, &pt, bias, nil, workers))
					tol := 1e-5 * math.Sqrt(float64(s.k)) * 4
					for i := 0; i < s.m; i++ {
						for j := 0; j < s.n; j++ {
							require.InDelta(t, want[i*s.n+j], c[i*ldc+j], tol, "%s: C[%d][%d]", kern.name, i, j)
						}
					}
				}
			})
		}
	}
}

func TestKernelsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	t.Logf("%d kernels, Gemm uses %s", len(available()), Kernel())
	for _, kern := range available() {
		for _, k := range []int{1, 2, 3, 4, 7, 256} {
			ldc := 20
			a := randSlice(rng, kern.mr*k)
			b := randSlice(rng, k*16)
			c := randSlice(rng, (kern.mr-1)*ldc+16)
			want := make([]float64, len(c))
			for i := 0; i < kern.mr; i++ {
				for j := 0; j < 16; j++ {
					s := float64(c[i*ldc+j])
					for p := 0; p < k; p++ {
						s += float64(a[p*kern.mr+i]) * float64(b[p*16+j])
					}
					want[i*ldc+j] = s
				}
			}
			kern.run(k, a, b, c, ldc)
			for i := 0; i < kern.mr; i++ {
				for j := 0; j < 16; j++ {
					require.InDelta(t, want[i*ldc+j], c[i*ldc+j], 1e-4, "%s k=%d C[%d][%d]", kern.name, k, i, j)
				}
			}
		}
	}
}

func TestGemmErrors(t *testing.T) {
	var p Packed
	PackTransposed(&p, make([]float32, 12), 3, 4, 4)
	require.Error(t, Gemm(make([]float32, 6), 3, make([]float32, 7), 4, 2, &p, nil, nil, 1))
	require.Error(t, Gemm(make([]float32, 6), 3, make([]float32, 8), 3, 2, &p, nil, nil, 1))
	require.Error(t, Gemm(make([]float32, 6), 3, make([]float32, 8), 4, 2, &p, []float32{1}, nil, 1))
	require.NoError(t, Gemm(make([]float32, 6), 3, make([]float32, 8), 4, 2, &p, nil, nil, 1))
}

func TestGemmEpilogueSeesOwnColumns(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	m, n, k := 10, 70, 9
	a, w := randSlice(rng, m*k), randSlice(rng, n*k)
	var p Packed
	PackTransposed(&p, w, n, k, k)
	c := make([]float32, m*n)
	seen := make([]int, n)
	require.NoError(t, Gemm(c, n, a, k, m, &p, nil, func(c []float32, ldc, m, n0, n1 int) {
		for j := n0; j < n1; j++ {
			seen[j]++
		}
	}, 2))
	for j, s := range seen {
		require.Equal(t, 1, s, "column %d", j)
	}
}

func TestExp32(t *testing.T) {
	for x := -87.0; x <= 88; x += 0.001 {
		got := float64(Exp32(float32(x)))
		want := math.Exp(float64(float32(x)))
		require.InDelta(t, 0, (got-want)/want, 3e-7, "x=%v", x)
	}
	require.Equal(t, float32(0), Exp32(-100))
	require.True(t, math.IsInf(float64(Exp32(100)), 1))
}

func TestErf32(t *testing.T) {
	var worst float64
	for x := -6.0; x <= 6; x += 0.0005 {
		got := float64(Erf32(float32(x)))
		worst = max(worst, math.Abs(got-math.Erf(float64(float32(x)))))
	}
	require.Less(t, worst, 5e-7)
}

func TestSoftmaxAndLayerNorm(t *testing.T) {
	row := []float32{1, 2, 3, -1}
	SoftmaxScaled(row, 0.5)
	var sum float64
	den := math.Exp(0.5) + math.Exp(1) + math.Exp(1.5) + math.Exp(-0.5)
	for i, x := range []float64{1, 2, 3, -1} {
		require.InDelta(t, math.Exp(0.5*x)/den, row[i], 1e-7)
		sum += float64(row[i])
	}
	require.InDelta(t, 1, sum, 1e-6)

	x := []float32{0.4, 0.8, -0.7, -0.5}
	dst := make([]float32, 4)
	AddLayerNorm(dst, x, nil, []float32{1, 1, 1, 1}, []float32{0, 0, 0, 0}, 1e-12)
	mean := (0.4 + 0.8 - 0.7 - 0.5) / 4
	var v float64
	for _, e := range x {
		v += (float64(e) - mean) * (float64(e) - mean)
	}
	sd := math.Sqrt(v / 4)
	for i, e := range x {
		require.InDelta(t, (float64(e)-mean)/sd, dst[i], 1e-6)
	}
}

func TestGELU(t *testing.T) {
	v := []float32{-3, -1, 0, 0.5, 2, 5}
	g := append([]float32(nil), v...)
	GELUErf(g)
	for i, x := range v {
		f := float64(x)
		require.InDelta(t, 0.5*f*(1+math.Erf(f/math.Sqrt2)), g[i], 1e-6)
	}
}

func BenchmarkGemm(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range []struct{ m, n, k int }{{128, 768, 768}, {128, 3072, 768}, {128, 768, 3072}, {2048, 768, 768}} {
		a, w := randSlice(rng, s.m*s.k), randSlice(rng, s.n*s.k)
		var p Packed
		PackTransposed(&p, w, s.n, s.k, s.k)
		c := make([]float32, s.m*s.n)
		for _, kern := range available() {
			for _, workers := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%dx%dx%d/w%d", kern.name, s.m, s.n, s.k, workers), func(b *testing.B) {
					for b.Loop() {
						_ = gemm(kern, c, s.n, a, s.k, s.m, &p, nil, nil, workers)
					}
					b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

func TestParallelCoversOnce(t *testing.T) {
	for _, n := range []int{0, 1, 5, 100} {
		for _, workers := range []int{0, 1, 2, 7} {
			hits := make([]int, n)
			ws := make([]bool, max(workers, 1))
			Parallel(n, workers, func(w, lo, hi int) {
				ws[w] = true
				for i := lo; i < hi; i++ {
					hits[i]++
				}
			})
			for i, h := range hits {
				require.Equal(t, 1, h, "n=%d workers=%d i=%d", n, workers, i)
			}
		}
	}
}

func TestVectorOpsMatchScalar(t *testing.T) {
	if !vectorOps {
		t.Skip("no AVX2/FMA")
	}
	rng := rand.New(rand.NewPCG(8, 8))
	x := make([]float32, 4003)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 4)
	}
	x[0], x[1], x[2] = -100, 0, -87.5
	g := append([]float32(nil), x...)
	require.Equal(t, 4000, geluErfVec(g))
	for i, v := range x[:4000] {
		f := float64(v)
		require.InDelta(t, 0.5*f*(1+math.Erf(f/math.Sqrt2)), g[i], 1e-6*max(1, math.Abs(f)), "gelu(%v)", v)
	}
	e := make([]float32, len(x))
	for i, v := range x {
		e[i] = float32(math.Abs(float64(v))) * 5
	}
	e[0], e[1] = 100, 0
	const scale, shift = -0.5, 1.25 // arguments -0.5·e+1.25 ≤ 1.25
	want := append([]float32(nil), e...)
	n, sum := expScaledSumVec(e, scale, shift)
	require.Equal(t, 4000, n)
	var wantSum float64
	for i, v := range want[:4000] {
		w := math.Exp(float64(v*scale + shift))
		wantSum += w
		require.InDelta(t, w, e[i], 3e-7*w+1e-37, "exp(%v)", v*scale+shift)
	}
	require.InDelta(t, wantSum, sum, 1e-6*wantSum)
}

func TestReLU(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	// Lengths around the vector widths (8, 32), so that both loops and the
	// scalar tail run.
	for _, n := range []int{0, 1, 7, 8, 9, 31, 32, 33, 40, 100, 1027} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		if n > 3 {
			x[0], x[1], x[2] = float32(math.NaN()), float32(math.Copysign(0, -1)), float32(math.Inf(-1))
		}
		got := append([]float32(nil), x...)
		ReLU(got)
		for i, v := range x {
			switch {
			case math.IsNaN(float64(v)):
				assert.True(t, math.IsNaN(float64(got[i])), "n=%d: relu(NaN) stays NaN", n)
			case v > 0:
				assert.Equal(t, v, got[i], "n=%d i=%d", n, i)
			default:
				assert.Zero(t, got[i], "n=%d i=%d: relu(%v)", n, i, v) // −0 == +0
			}
		}
	}
}

func BenchmarkReLU(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 3))
	x := randSlice(rng, 16*256)
	v := make([]float32, len(x))
	for b.Loop() {
		copy(v, x)
		// In rows of 16, as the policy's fused GEMM epilogue calls it.
		for r := 0; r < len(v); r += 16 {
			ReLU(v[r : r+16])
		}
	}
}

func BenchmarkPackA(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	a := randSlice(rng, 128*768)
	dst := make([]float32, 128*768)
	for b.Loop() {
		packTiles(dst, a, 768, 128, 768, 16, 0, 8)
	}
}

func TestSoftmaxScaledLongRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	for _, n := range []int{1, 8, 37, 128} {
		row := randSlice(rng, n)
		for i := range row {
			row[i] *= 10
		}
		want := make([]float64, n)
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, float64(v)*0.125)
		}
		var sum float64
		for i, v := range row {
			want[i] = math.Exp(float64(v)*0.125 - mx)
			sum += want[i]
		}
		SoftmaxScaled(row, 0.125)
		for i := range row {
			require.InDelta(t, want[i]/sum, row[i], 1e-6, "n=%d i=%d", n, i)
		}
	}
}

func TestGemmTAMatchesGemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, s := range []struct{ m, n, k int }{{1, 1, 1}, {5, 3, 2}, {17, 40, 33}, {130, 48, 260}, {33, 17, 5}} {
		for _, workers := range []int{1, 2} {
			lda, ldat := s.k+2, s.m+3
			a := randSlice(rng, s.m*lda)
			at := make([]float32, s.k*ldat)
			for i := 0; i < s.m; i++ {
				for p := 0; p < s.k; p++ {
					at[p*ldat+i] = a[i*lda+p]
				}
			}
			w := randSlice(rng, s.n*s.k)
			var pt Packed
			PackTransposed(&pt, w, s.n, s.k, s.k)
			bias := randSlice(rng, s.n)
			want := make([]float32, s.m*s.n)
			got := make([]float32, s.m*s.n)
			require.NoError(t, Gemm(want, s.n, a, lda, s.m, &pt, bias, nil, workers))
			require.NoError(t, GemmTA(got, s.n, at, ldat, s.m, &pt, bias, nil, workers))
			require.Equal(t, want, got, "%+v w%d", s, workers)
		}
	}
	var pt Packed
	PackTransposed(&pt, make([]float32, 6), 2, 3, 3)
	require.Error(t, GemmTA(make([]float32, 8), 2, make([]float32, 5), 4, 4, &pt, nil, nil, 1))
	require.Error(t, GemmTA(make([]float32, 8), 2, make([]float32, 12), 3, 4, &pt, nil, nil, 1))
}
