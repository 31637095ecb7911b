package policy

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewMatchesPaperShape(t *testing.T) {
	m, err := New(DefaultConfig(100, 128), 1)
	require.NoError(t, err)
	// Linear(328→256) as two column blocks, then Linear(256→256), Linear(256→1).
	assert.Equal(t, []int{256, 100}, m.Input.WordW.Shape())
	assert.Equal(t, []int{256, 228}, m.Input.ContextW.Shape())
	assert.Equal(t, []int{256, 1}, m.Input.B.Shape())
	require.Len(t, m.Layers, 2)
	assert.Equal(t, []int{256, 256}, m.Layers[0].W.Shape())
	assert.Equal(t, []int{1, 256}, m.Layers[1].W.Shape())
	assert.Len(t, m.Params(), 7)
	assert.Len(t, ParamsOf(m), 7, "spago's traversal finds every parameter")

	// Xavier-uniform with ReLU gain: |w| ≤ √2·√(6/(in+out)), and not all zero.
	w := append(m.Input.WordW.Data().F64(), m.Input.ContextW.Data().F64()...)
	limit := 1.4143 * 0.10846 // √2 · √(6/(328+256))
	var nonzero int
	for _, v := range w {
		assert.LessOrEqual(t, v, limit)
		assert.GreaterOrEqual(t, v, -limit)
		if v != 0 {
			nonzero++
		}
	}
	assert.Greater(t, nonzero, len(w)/2)

	same, err := New(DefaultConfig(100, 128), 1)
	require.NoError(t, err)
	assert.Equal(t, w[:1000], same.Input.WordW.Data().F64()[:1000], "same seed, same weights")
	other, err := New(DefaultConfig(100, 128), 2)
	require.NoError(t, err)
	assert.NotEqual(t, w[:1000], other.Input.WordW.Data().F64()[:1000])
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, c := range []Config{
		{WordDim: 0, PatientDim: 1, Hidden: 4, Layers: 3},
		{WordDim: 2, PatientDim: -1, Hidden: 4, Layers: 3},
		{WordDim: 2, PatientDim: 1, Hidden: 4, Layers: 0},
		{WordDim: 2, PatientDim: 1, Hidden: 4, Layers: 3, Dropout: 1},
	} {
		_, err := New(c, 1)
		assert.Error(t, err, "%+v", c)
	}
}

// TestBatchedEqualsPerWord checks the batched graph against f applied to
// each word separately: same logits, same gradients for every parameter
// and for x̂.
func TestBatchedEqualsPerWord(t *testing.T) {
	const dw, dp, n = 6, 5, 9
	cfg := Config{WordDim: dw, PatientDim: dp, Hidden: 16, Layers: 3, Dropout: 0.4}
	rng := rand.New(rand.NewPCG(7, 7))
	words := randomWords(n, dw, rng)
	xs := make([]float32, dp)
	for i := range xs {
		xs[i] = float32(rng.NormFloat64())
	}
	// A non-trivial upstream gradient: a weighted sum of log-softmax entries.
	weights := []int{3, 0, 7}

	run := func(form string) (logits []float64, grads [][]float64, gx []float64) {
		m, err := New(cfg, 42)
		require.NoError(t, err)
		// Non-zero biases so that the bias broadcast is exercised.
		for i, b := range []*nn.Param{m.Input.B, m.Layers[0].B, m.Layers[1].B} {
			v := slices.Clone(b.Data().F32())
			for k := range v {
				v[k] = 0.01 * float32(k+i)
			}
			b.SetData(mat.NewDense[T](mat.WithBacking(v)).Data())
		}
		x := column(append([]float32(nil), xs...)...)
		x.SetRequiresGrad(true)
		var z mat.Tensor
		switch form {
		case "batched":
			z, err = m.Logits(words, x, false)
		default:
			z, err = m.logitsPerWord(words, x, false)
		}
		require.NoError(t, err)
		require.Equal(t, []int{n, 1}, z.Value().Shape())
		lse := ag.LogSumExp(z)
		var loss mat.Tensor
		for k, j := range weights {
			lp := ag.ProdScalar(ag.Sub(ag.At(z, j, 0), lse), mat.Scalar(T(k+1)))
			loss = ag.Add(loss, lp)
		}
		require.NoError(t, ag.Backward(loss))
		for _, p := range m.Params() {
			require.True(t, p.HasGrad())
			grads = append(grads, p.Grad().Data().F64())
		}
		require.True(t, x.HasGrad())
		return z.Value().Data().F64(), grads, x.Grad().Data().F64()
	}
	zw, gw, xw := run("per-word")
	var xb []float64
	for _, form := range []string{"batched"} {
		zb, gb, xbf := run(form)
		assert.InDeltaSlice(t, zw, zb, 1e-5, form)
		for i := range gw {
			assert.InDeltaSlice(t, gw[i], gb[i], 1e-4, "%s: parameter %d", form, i)
		}
		assert.InDeltaSlice(t, xw, xbf, 1e-4, form)
		xb = xbf
	}
	var norm float64
	for _, v := range xb {
		norm += v * v
	}
	assert.Greater(t, norm, 1e-8, "x̂ receives a gradient")
}

func TestLogitsShapeErrors(t *testing.T) {
	m, err := New(Config{WordDim: 3, PatientDim: 2, Hidden: 4, Layers: 3}, 1)
	require.NoError(t, err)
	x := column(1, 2)
	_, err = m.Logits(nil, x, false)
	assert.ErrorIs(t, err, ErrShape)
	_, err = m.Logits([][]float32{{1, 2, 3}, {1, 2}}, x, false)
	assert.ErrorIs(t, err, ErrShape)
	_, err = m.Logits([][]float32{{1, 2, 3}}, column(1, 2, 3), false)
	assert.ErrorIs(t, err, ErrShape)
	_, err = m.Logits([][]float32{{1, 2, 3}}, nil, false)
	assert.ErrorIs(t, err, ErrShape)
	z, err := m.Logits([][]float32{{1, 2, 3}}, x, false)
	require.NoError(t, err)
	assert.Equal(t, []int{1, 1}, z.Value().Shape())
}

func TestDropoutOnlyInTraining(t *testing.T) {
	m, err := New(Config{WordDim: 4, PatientDim: 2, Hidden: 32, Layers: 3, Dropout: 0.4}, 3)
	require.NoError(t, err)
	words := randomWords(5, 4, rand.New(rand.NewPCG(1, 2)))
	x := column(0.5, -0.5)
	a, err := m.Logits(words, x, false)
	require.NoError(t, err)
	b, err := m.Logits(words, x, false)
	require.NoError(t, err)
	assert.Equal(t, a.Value().Data().F64(), b.Value().Data().F64(), "eval is deterministic")
	c, err := m.Logits(words, x, true)
	require.NoError(t, err)
	assert.NotEqual(t, a.Value().Data().F64(), c.Value().Data().F64(), "training applies dropout")
}

func TestSaveLoadRoundTrip(t *testing.T) {
	m, err := New(Config{WordDim: 4, PatientDim: 3, Hidden: 8, Layers: 3, Dropout: 0.4}, 9)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, m.Save(&buf))
	data := buf.Bytes()
	got, err := Load(bytes.NewReader(data))
	require.NoError(t, err)
	assert.Equal(t, m.Config(), got.Config())
	for i, p := range m.Params() {
		assert.Equal(t, p.Data().F32(), got.Params()[i].Data().F32())
	}
	words := randomWords(4, 4, rand.New(rand.NewPCG(3, 3)))
	x := column(1, 0, -1)
	za, err := m.Logits(words, x, false)
	require.NoError(t, err)
	zb, err := got.Logits(words, x, false)
	require.NoError(t, err)
	assert.Equal(t, za.Value().Data().F64(), zb.Value().Data().F64())

	_, err = Load(bytes.NewReader(data[:len(data)/2]))
	assert.Error(t, err, "truncated model")
}
