package similarity

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func randomVectors(rng *rand.Rand, n, dim int) [][]float32 {
	out := make([][]float32, n)
	for i := range out {
		out[i] = make([]float32, dim)
		for j := range out[i] {
			out[i][j] = float32(rng.NormFloat64())
		}
	}
	return out
}

// bruteForce ranks all references by float64 cosine similarity, sorting
// the whole list: an independent oracle for TopK.
func bruteForce(vectors [][]float32, q []float32, k int, exclude ...int) []int {
	type s struct {
		i   int
		sim float64
	}
	norm := func(v []float32) float64 {
		t := 0.0
		for _, x := range v {
			t += float64(x) * float64(x)
		}
		return math.Sqrt(t)
	}
	var all []s
	for i, v := range vectors {
		if excluded(i, exclude) {
			continue
		}
		d := 0.0
		for j := range v {
			d += float64(v[j]) * float64(q[j])
		}
		all = append(all, s{i, d / (norm(v) * norm(q))})
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].sim > all[b].sim })
	out := []int{}
	for _, x := range all[:min(k, len(all))] {
		out = append(out, x.i)
	}
	return out
}

func indices(nb []Neighbor) []int {
	out := []int{}
	for _, n := range nb {
		out = append(out, n.Index)
	}
	return out
}

func TestTopKMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 7, 500, parallelMin + 123} {
		vecs := randomVectors(rng, n, 24)
		labels := make([]string, n)
		for i := range labels {
			labels[i] = fmt.Sprintf("L%d", i%5)
		}
		r, err := NewExact(vecs, labels)
		require.NoError(t, err)
		r.workers = 2 // exercise the split scan even on a one-core runner
		for trial := 0; trial < 5; trial++ {
			q := randomVectors(rng, 1, 24)[0]
			k := 1 + rng.IntN(12)
			ex := []int{rng.IntN(n)}
			got, err := r.TopK(q, k, ex...)
			require.NoError(t, err)
			assert.Equal(t, bruteForce(vecs, q, k, ex...), indices(got), "n=%d k=%d", n, k)
			for j, nb := range got {
				assert.Equal(t, labels[nb.Index], nb.Label)
				if j > 0 {
					assert.GreaterOrEqual(t, got[j-1].Similarity, nb.Similarity)
				}
			}
		}
	}
}

func TestTopKHandMade(t *testing.T) {
	vecs := [][]float32{
		{1, 0},   // 0: cos 1 with the query
		{0, 1},   // 1: cos 0
		{10, 10}, // 2: cos 0.7071 (scale does not matter)
		{-1, 0},  // 3: cos -1
		{2, 0},   // 4: cos 1, ties with 0
		{0, 0},   // 5: zero vector: similarity 0, ties with 1
	}
	labels := []string{"a", "b", "c", "d", "e", "f"}
	r, err := NewExact(vecs, labels)
	require.NoError(t, err)
	got, err := r.TopK([]float32{3, 0}, 4)
	require.NoError(t, err)
	assert.Equal(t, []int{0, 4, 2, 1}, indices(got))
	assert.InDelta(t, 1, got[0].Similarity, 1e-6)
	assert.InDelta(t, math.Sqrt2/2, got[2].Similarity, 1e-6)
	assert.Equal(t, "c", got[2].Label)

	// The query patient itself is left out while training.
	got, err = r.TopK([]float32{3, 0}, 2, 0)
	require.NoError(t, err)
	assert.Equal(t, []int{4, 2}, indices(got))

	// k larger than what is left, and k = 0.
	got, err = r.TopK([]float32{3, 0}, 10, 3)
	require.NoError(t, err)
	assert.Equal(t, []int{0, 4, 2, 1, 5}, indices(got))
	got, err = r.TopK([]float32{3, 0}, 0)
	require.NoError(t, err)
	assert.Empty(t, got)
}

func TestBadInputs(t *testing.T) {
	_, err := NewExact([][]float32{{1, 2}, {1}}, []string{"a", "b"})
	require.ErrorIs(t, err, ErrDimension)
	assert.Contains(t, err.Error(), "vector 1")
	_, err = NewExact([][]float32{{1, 2}}, []string{"a", "b"})
	require.ErrorIs(t, err, ErrInvalid)
	_, err = NewExact(nil, nil)
	require.ErrorIs(t, err, ErrInvalid)
	_, err = NewExact([][]float32{{1, float32(math.NaN())}}, []string{"a"})
	require.ErrorIs(t, err, ErrInvalid)

	r, err := NewExact([][]float32{{1, 2}}, []string{"a"})
	require.NoError(t, err)
	_, err = r.TopK([]float32{1, 2, 3}, 1)
	require.ErrorIs(t, err, ErrDimension)
	_, err = r.TopK([]float32{1, float32(math.Inf(1))}, 1)
	require.ErrorIs(t, err, ErrInvalid)
	_, err = r.TopK([]float32{1, 2}, -1)
	require.ErrorIs(t, err, ErrInvalid)
}

// TestConcurrentQueries runs queries from many goroutines (meaningful under
// -race) and checks each against the sequential answer.
func TestConcurrentQueries(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	vecs := randomVectors(rng, parallelMin+10, 16)
	labels := make([]string, len(vecs))
	r, err := NewExact(vecs, labels)
	require.NoError(t, err)
	r.workers = 2
	queries := randomVectors(rng, 16, 16)
	want := make([][]Neighbor, len(queries))
	for i, q := range queries {
		want[i], err = r.TopK(q, 5)
		require.NoError(t, err)
	}
	var wg sync.WaitGroup
	got := make([][]Neighbor, len(queries))
	for i, q := range queries {
		wg.Go(func() { got[i], _ = r.TopK(q, 5, i) })
	}
	wg.Wait()
	for i := range queries {
		exp := want[i]
		// The concurrent query excluded index i: drop it from the
		// sequential answer when present.
		if len(got[i]) == 5 && !containsIndex(exp, i) {
			assert.Equal(t, exp, got[i])
		} else {
			assert.NotContains(t, indices(got[i]), i)
		}
	}
}

func containsIndex(nb []Neighbor, i int) bool {
	for _, n := range nb {
		if n.Index == i {
			return true
		}
	}
	return false
}

func TestPrecisionAtKHandMade(t *testing.T) {
	// Reference: two "x" patients near (1,0), two "y" near (0,1).
	ref := [][]float32{{1, 0.1}, {1, 0.2}, {0.1, 1}, {0.2, 1}}
	r, err := NewExact(ref, []string{"x", "x", "y", "y"})
	require.NoError(t, err)
	queries := [][]float32{
		{1, 0},    // labelled x, both neighbours x: 2/2
		{0, 1},    // labelled x, both neighbours y: 0/2
		{0.15, 1}, // labelled y, both neighbours y: 2/2
		{1, 1},    // labelled y; nearest {1,0.2} (x) and {0.2,1} (y), equal cosines: 1/2
	}
	labels := []string{"x", "x", "y", "y"}
	want := (1.0 + 0 + 1 + 0.5) / 4
	got, err := PrecisionAtK(context.Background(), r, queries, labels, 2)
	require.NoError(t, err)
	assert.InDelta(t, want, got, 1e-12)

	_, err = PrecisionAtK(context.Background(), r, queries, labels[:1], 2)
	require.ErrorIs(t, err, ErrInvalid)
	_, err = PrecisionAtK(context.Background(), r, queries, labels, 0)
	require.ErrorIs(t, err, ErrInvalid)
}
