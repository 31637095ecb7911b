package similarity

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNeighborTableEqualsTopK checks every row of the table against TopK
// with the row excluded, on sets that cross the product's blocks and hold
// exact ties (duplicated vectors, zero vectors) and near-ties (vectors
// that differ in the last bits).
func TestNeighborTableEqualsTopK(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct{ n, dim, k int }{{1, 8, 10}, {5, 8, 10}, {300, 16, 10}, {2100, 37, 10}, {4500, 64, 3}} {
		t.Run(fmt.Sprintf("%dx%d-k%d", tc.n, tc.dim, tc.k), func(t *testing.T) {
			vs := randomVectors(rng, tc.n, tc.dim)
			labels := make([]string, tc.n)
			for i := range vs {
				labels[i] = fmt.Sprint(i % 7)
				switch {
				case i%50 == 1:
					vs[i] = vs[i-1] // an exact tie
				case i%50 == 2:
					vs[i] = append([]float32(nil), vs[i-2]...) // a near-tie
					vs[i][0] *= 1 + 1e-7
				case i%97 == 3:
					clear(vs[i]) // similarity 0 to everything
				}
			}
			e, err := NewExact(vs, labels)
			require.NoError(t, err)
			tab, err := e.NeighborTable(context.Background(), tc.k)
			require.NoError(t, err)
			for i := range vs {
				want, err := e.TopK(vs[i], tc.k, i)
				require.NoError(t, err)
				require.Equal(t, want, tab.Neighbors(i), "row %d", i)
			}
			t.Logf("%d of %d rows fell back to a scan", tab.Fallbacks, tc.n)
		})
	}
}

func TestNeighborTableLookup(t *testing.T) {
	e, err := NewIndex(keyedRefs())
	require.NoError(t, err)
	tab, err := e.NeighborTable(context.Background(), 2)
	require.NoError(t, err)
	nb, ok := tab.Lookup("a", 1)
	require.True(t, ok)
	want, err := e.Recommend(context.Background(), Query{Vector: []float32{1, 0}, K: 1, Exclude: []string{"a"}})
	require.NoError(t, err)
	assert.Equal(t, want, nb)
	_, ok = tab.Lookup("zz", 1)
	assert.False(t, ok)
	_, ok = tab.Lookup("a", 3)
	assert.False(t, ok)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = e.NeighborTable(ctx, 2)
	assert.ErrorIs(t, err, context.Canceled)
}

// tableBenchN is the number of patients of the neighbour-table
// benchmarks: 4,000 by default (CI runs every benchmark once),
// PMLM_TABLE_N for more.
func tableBenchN(b *testing.B) int {
	n := 4000
	if s := os.Getenv("PMLM_TABLE_N"); s != "" {
		var err error
		n, err = strconv.Atoi(s)
		require.NoError(b, err)
	}
	return n
}

// BenchmarkNeighborTable builds the top-10 table of n random
// 128-dimensional patients; ns/pair is the cost per similarity (the time
// grows with n²).
func BenchmarkNeighborTable(b *testing.B) {
	n, dim := tableBenchN(b), 128
	rng := rand.New(rand.NewPCG(1, 2))
	e, err := NewExact(randomVectors(rng, n, dim), make([]string, n))
	require.NoError(b, err)
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.NeighborTable(context.Background(), 10); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n*n), "ns/pair")
}

// BenchmarkNeighborTableByQueries is the same table made by one TopK scan
// per patient, as training did before the table.
func BenchmarkNeighborTableByQueries(b *testing.B) {
	n, dim := tableBenchN(b), 128
	rng := rand.New(rand.NewPCG(1, 2))
	vs := randomVectors(rng, n, dim)
	e, err := NewExact(vs, make([]string, n))
	require.NoError(b, err)
	b.ResetTimer()
	for b.Loop() {
		for i := range vs {
			if _, err := e.TopK(vs[i], 10, i); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n*n), "ns/pair")
}
