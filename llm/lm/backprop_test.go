package lm

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func tinyVocab(t testing.TB) *Vocabulary {
	t.Helper()
	v, err := NewVocabulary([]string{
		"Discharge diagnosis: gestational diabetes. Check glucose 6 weeks after delivery.",
		"Discharge diagnosis: normal pregnancy. Routine care, 42-day check.",
	}, 1)
	require.NoError(t, err)
	return v
}

func tinyConfig() Config {
	return Config{Dim: 8, Heads: 2, Layers: 2, Hidden: 12, Context: 24, MaxPrompt: 8}
}

// randomize gives every weight, gains and biases included, a random value
// so that no gradient is trivially zero.
func randomize(m *Model, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range m.params {
		m.params[i] = float32(rng.NormFloat64() * 0.5)
	}
}

// TestGradientMatchesFiniteDifferences checks the hand-written backward
// pass against central differences of the loss, for weights of every
// tensor.
func TestGradientMatchesFiniteDifferences(t *testing.T) {
	m, err := New(tinyConfig(), tinyVocab(t), 1)
	require.NoError(t, err)
	randomize(m, 2)
	seq := m.example("diagnosis: diabetes", "Check glucose 6 weeks.")
	require.Greater(t, seq.targets(), 3)
	ws := newWorkspace(m.cfg)
	pm := new(packedModel)
	loss := func() float64 {
		pm.pack(m.cfg, m.lay, m.params, false)
		return lossAndGrad(ws, m.params, nil, m.lay, pm, seq, 1, false)
	}
	grad := make([]float32, len(m.params))
	pm.pack(m.cfg, m.lay, m.params, true)
	lossAndGrad(ws, m.params, grad, m.lay, pm, seq, 1, true)

	l := m.lay
	spans := map[string]span{"wte": l.wte, "lnfG": l.lnfG, "lnfB": l.lnfB}
	for i, ly := range l.layers {
		for name, s := range map[string]span{"ln1G": ly.ln1G, "ln1B": ly.ln1B, "wqkv": ly.wqkv, "bqkv": ly.bqkv,
			"wo": ly.wo, "bo": ly.bo, "ln2G": ly.ln2G, "ln2B": ly.ln2B, "wfc": ly.wfc, "bfc": ly.bfc,
			"wproj": ly.wproj, "bproj": ly.bproj} {
			spans[name+string(rune('0'+i))] = s
		}
	}
	const eps = 1e-2
	checked := 0
	for name, s := range spans {
		for i := s.off; i < s.off+s.n; i++ {
			old := m.params[i]
			m.params[i] = old + eps
			up := loss()
			m.params[i] = old - eps
			down := loss()
			m.params[i] = old
			num := (up - down) / (2 * eps)
			got := float64(grad[i])
			require.InDelta(t, num, got, 2e-3+2e-2*math.Abs(num), "%s[%d]: numeric %g, backward %g", name, i-s.off, num, got)
			checked++
		}
	}
	require.Greater(t, checked, m.NumParams()/2)
}
