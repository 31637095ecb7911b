//go:build cuda

package cuda

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newGPUOrSkip(t testing.TB) *GPU {
	g, err := NewGPU()
	if errors.Is(err, ErrNoDevice) {
		t.Skip(err)
	}
	require.NoError(t, err)
	return g
}

func TestGPUMatchesCPU(t *testing.T) {
	g := newGPUOrSkip(t)
	defer g.Close()
	t.Log(g.Name())
	rng := rand.New(rand.NewPCG(3, 4))
	cpu := NewCPU(0)
	for _, b := range shapes {
		t.Run(fmt.Sprintf("%+v", b), func(t *testing.T) {
			a, bm := randomBatch(rng, b)
			want := make([]float32, b.Count*b.M*b.N)
			got := make([]float32, len(want))
			require.NoError(t, cpu.MatMul(b, a, bm, want))
			require.NoError(t, g.MatMul(b, a, bm, got))
			assert.Less(t, maxScaledErr(t, b, got, want), 5e-5)
		})
	}
	require.NoError(t, g.Close())
	assert.Error(t, g.MatMul(shapes[0], []float32{1}, []float32{1}, []float32{0}))
}

// TestGPUThroughput times the kernel and cuBLAS's batched SGEMM on the same
// resident data and logs GFLOP/s of each (run with -v on a GPU machine).
func TestGPUThroughput(t *testing.T) {
	g := newGPUOrSkip(t)
	defer g.Close()
	for _, s := range []Batch{
		{Count: 16, M: 128, N: 128, K: 768, TransB: true},   // BERTScore similarity matrices
		{Count: 64, M: 100, N: 256, K: 328},                 // policy scoring, 64 states of 100 words
		{Count: 8, M: 1024, N: 1024, K: 1024},               // large square
		{Count: 1, M: 4096, N: 4096, K: 4096, TransB: true}, // one big product
	} {
		a, bm := randomBatch(rand.New(rand.NewPCG(5, 6)), s)
		c := make([]float32, s.Count*s.M*s.N)
		require.NoError(t, g.MatMul(s, a, bm, c))
		ours, err := g.timeResident(s, 20, false)
		require.NoError(t, err)
		blas, err := g.timeResident(s, 20, true)
		if err != nil {
			t.Logf("%+v: kernel %.3f ms (%.0f GFLOP/s); cuBLAS unavailable: %v", s, ours, s.FLOPs()/ours/1e6, err)
			continue
		}
		t.Logf("%+v: kernel %.3f ms = %.0f GFLOP/s; cuBLAS SgemmStridedBatched %.3f ms = %.0f GFLOP/s; ratio %.2f",
			s, ours, s.FLOPs()/ours/1e6, blas, s.FLOPs()/blas/1e6, blas/ours)
	}
}
