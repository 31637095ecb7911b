package cuda

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// naive is the textbook triple loop in float64, the reference for both
// multipliers.
func naive(b Batch, a, bm []float32) []float32 {
	c := make([]float32, b.Count*b.M*b.N)
	for z := 0; z < b.Count; z++ {
		for i := 0; i < b.M; i++ {
			for j := 0; j < b.N; j++ {
				var s float64
				for p := 0; p < b.K; p++ {
					bv := bm[z*b.K*b.N+p*b.N+j]
					if b.TransB {
						bv = bm[z*b.K*b.N+j*b.K+p]
					}
					s += float64(a[z*b.M*b.K+i*b.K+p]) * float64(bv)
				}
				c[z*b.M*b.N+i*b.N+j] = float32(s)
			}
		}
	}
	return c
}

func randomBatch(rng *rand.Rand, b Batch) (a, bm []float32) {
	a = make([]float32, b.Count*b.M*b.K)
	bm = make([]float32, b.Count*b.K*b.N)
	for i := range a {
		a[i] = float32(rng.NormFloat64())
	}
	for i := range bm {
		bm[i] = float32(rng.NormFloat64())
	}
	return a, bm
}

// shapes covers tile edges (1, 63, 64, 65, 127, 129), both layouts, both
// GPU kernels and an empty batch.
var shapes = []Batch{
	{Count: 1, M: 1, N: 1, K: 1},
	{Count: 3, M: 17, N: 33, K: 5},
	{Count: 2, M: 64, N: 64, K: 16},
	{Count: 4, M: 65, N: 63, K: 100, TransB: true},
	{Count: 2, M: 130, N: 70, K: 768, TransB: true},
	{Count: 5, M: 100, N: 1, K: 328},
	{Count: 0, M: 4, N: 4, K: 4},
	// Enough tiles for the GPU's 128×128 kernel on a 132-multiprocessor chip.
	{Count: 300, M: 129, N: 7, K: 9, TransB: true},
	{Count: 70, M: 200, N: 130, K: 33},
}

// maxScaledErr returns the largest |got − want| divided by √K, the typical
// magnitude of a sum of K products of unit normals: float32 rounding grows
// like eps·√K, so the bound is independent of the shape.
func maxScaledErr(t *testing.T, b Batch, got, want []float32) float64 {
	t.Helper()
	require.Len(t, got, len(want))
	worst := 0.0
	for i := range got {
		worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
	}
	return worst / math.Sqrt(float64(max(b.K, 1)))
}

func TestCPUMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	m := NewCPU(3)
	for _, b := range shapes {
		t.Run(fmt.Sprintf("%+v", b), func(t *testing.T) {
			a, bm := randomBatch(rng, b)
			c := make([]float32, b.Count*b.M*b.N)
			require.NoError(t, m.MatMul(b, a, bm, c))
			assert.Less(t, maxScaledErr(t, b, c, naive(b, a, bm)), 5e-6)
		})
	}
}

func TestValidateRejectsBadShapes(t *testing.T) {
	m := NewCPU(1)
	err := m.MatMul(Batch{Count: 1, M: 2, N: 2, K: 2}, make([]float32, 3), make([]float32, 4), make([]float32, 4))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "A has 3 values")
	require.Error(t, m.MatMul(Batch{Count: -1}, nil, nil, nil))
	assert.Equal(t, 32.0, Batch{Count: 2, M: 2, N: 2, K: 2}.FLOPs())
}

func TestNewWithoutTagIsCPU(t *testing.T) {
	m, err := New()
	if err != nil {
		require.ErrorIs(t, err, ErrNoDevice) // built with -tags cuda on a machine without a GPU
		t.Skip(err)
	}
	defer m.Close()
	assert.NotEmpty(t, m.Name())
}

// BenchmarkMatMul measures the BERTScore-shaped product (128 candidate tokens
// against 128 reference tokens of 768 dimensions, 16 pairs) on New's
// multiplier: the CPU twin without the cuda tag, the GPU with it.
func BenchmarkMatMul(b *testing.B) {
	m, err := New()
	if err != nil {
		b.Skip(err)
	}
	defer m.Close()
	for _, s := range []Batch{
		{Count: 16, M: 128, N: 128, K: 768, TransB: true},
		{Count: 1, M: 512, N: 768, K: 768},
	} {
		b.Run(fmt.Sprintf("%dx%dx%dx%d", s.Count, s.M, s.N, s.K), func(b *testing.B) {
			a, bm := randomBatch(rand.New(rand.NewPCG(1, 1)), s)
			c := make([]float32, s.Count*s.M*s.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := m.MatMul(s, a, bm, c); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(s.FLOPs()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func ExampleCPU_MatMul() {
	m := NewCPU(0)
	// One 2×2 product: [1 2; 3 4] · [5 6; 7 8].
	a := []float32{1, 2, 3, 4}
	b := []float32{5, 6, 7, 8}
	c := make([]float32, 4)
	if err := m.MatMul(Batch{Count: 1, M: 2, N: 2, K: 2}, a, b, c); err != nil {
		panic(err)
	}
	fmt.Println(c)
	// Output: [19 22 43 50]
}
