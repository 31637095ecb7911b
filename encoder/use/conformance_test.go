package use

import (
	"context"
	"math"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// relL2 is ‖a − b‖/‖a‖.
func relL2(a, b []float32) float64 {
	var d, n float64
	for i := range a {
		x := float64(a[i]) - float64(b[i])
		d += x * x
		n += float64(a[i]) * float64(a[i])
	}
	return math.Sqrt(d / n)
}

// maxAbsDiff is the largest |a[i] − b[i]|.
func maxAbsDiff(t testing.TB, a, b []float32) float64 {
	t.Helper()
	require.Equal(t, len(a), len(b))
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// conformance runs m on the reference texts (the TF.js graph's outputs,
// internal/usegen/reference) and checks the ids equal, every sentence
// vector is within tol, and every token state within tol (stateTol = 0)
// or within a relative L2 error of stateTol. It returns the largest
// absolute difference and relative L2 error of the states and the largest
// difference of the sentence vectors.
func conformance(t *testing.T, m *Model, tol, stateTol float64) (states, scaled, vectors float64) {
	ctx := context.Background()
	var ref modelCases
	readGzipJSON(t, "testdata/states.json.gz", &ref)
	require.Equal(t, "cpu", ref.Backend)
	for _, c := range ref.Cases {
		ids := m.Tokenizer().Encode(c.Text)
		require.Equal(t, c.IDs, ids, "%q", c.Text)
		if len(ids) > m.MaxLen() {
			ids = ids[:m.MaxLen()] // the graph clips; Run refuses
		}
		out, err := m.Run(ctx, [][]int{ids})
		require.NoError(t, err)
		for l, want := range [][][]float32{c.Layer0, c.Layer1} {
			if want == nil {
				continue
			}
			require.Len(t, out[0].Layers[l], len(want), "%q", c.Text)
			for i := range want {
				d := maxAbsDiff(t, want[i], out[0].Layers[l][i])
				rel := relL2(want[i], out[0].Layers[l][i])
				states, scaled = max(states, d), max(scaled, rel)
				if stateTol > 0 {
					assert.LessOrEqual(t, rel, stateTol, "layer %d token %d of %q", l, i, c.Text)
				} else {
					assert.LessOrEqual(t, d, tol, "layer %d token %d of %q", l, i, c.Text)
				}
			}
		}
		d := maxAbsDiff(t, c.Vector, out[0].Vector)
		vectors = max(vectors, d)
		assert.LessOrEqual(t, d, tol, "vector of %q", c.Text)
	}
	// Sentence vectors of 91 more texts, run as one batch: the batch must
	// not change any sequence's result.
	readGzipJSON(t, "testdata/model.json.gz", &ref)
	var batch [][]int
	for _, c := range ref.Cases {
		ids := m.Tokenizer().Encode(c.Text)
		require.Equal(t, c.IDs, ids, "%q", c.Text)
		batch = append(batch, ids[:min(len(ids), m.MaxLen())])
	}
	out, err := m.Run(ctx, batch)
	require.NoError(t, err)
	for i, c := range ref.Cases {
		d := maxAbsDiff(t, c.Vector, out[i].Vector)
		vectors = max(vectors, d)
		assert.LessOrEqual(t, d, tol, "vector of %q", c.Text)
	}
	return states, scaled, vectors
}

// TestConformanceEmbedded checks the embedded model (float16 matrices)
// against the real graph: sentence vectors within 1e-3; token states
// within a relative L2 error of 5e-3 (measured: 2.6e-3). The states reach
// 73 in a few dimensions, where float16 weights (relative precision 5e-4
// each) cannot hold an absolute 1e-3 (measured: 0.035); float32 weights
// can (TestConformanceFloat32) but take 26 MB. No single matrix is to
// blame: keeping any one of the 11 weight matrices in float32 (the others
// float16) lowers the largest state difference from 0.035 to 0.028 at best
// (layer0/qkv/kernel) and to 0.034–0.041 otherwise (measured 2026-12-03
// with a throwaway probe over these reference texts), so an absolute 1e-3
// needs about 16 mantissa bits on nearly every weight: at least 3 bytes a
// value, about 19.5 MB compressed, over the 16 MB budget.
func TestConformanceEmbedded(t *testing.T) {
	s, sc, v := conformance(t, testModel(t), 1e-3, 5e-3)
	t.Logf("float16 weights: largest difference %.2g on token states (relative L2 error %.2g), %.2g on sentence vectors", s, sc, v)
}

// TestConformanceFloat32 checks float32 weights against the graph within
// 1e-4. The float32 file (26 MB) is not in the repository: build it with
// internal/usegen -dtype float32 and point USE_MODEL_F32 at it.
func TestConformanceFloat32(t *testing.T) {
	name := os.Getenv("USE_MODEL_F32")
	if name == "" {
		t.Skip("USE_MODEL_F32 not set (see internal/usegen)")
	}
	f, err := os.Open(name)
	require.NoError(t, err)
	defer f.Close()
	m, err := Read(f)
	require.NoError(t, err)
	require.Equal(t, "float32", m.Header().DType)
	// Absolute 1e-4 on the states too: the scaled bound is never looser.
	s, sc, v := conformance(t, m, 1e-4, 0)
	t.Logf("float32 weights: largest difference %.2g on token states (relative L2 error %.2g), %.2g on sentence vectors", s, sc, v)
}
