package policy

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/internal/dropout"
	"github.com/pmlm-go/pmlm/internal/stats"
)

// TestTapeGradientsEqualTheGraph checks the hand-written backward pass
// against spago's graph on the trainer's loss
// −advantage·log π(a) − β·H(π), with dropout (the same masks), edits and
// non-zero biases: the same scores and the same gradients for every
// parameter and for x̂.
func TestTapeGradientsEqualTheGraph(t *testing.T) {
	const dw, dp, nw, ne, dropSeed = 6, 4, 9, 2, 5
	cfg := Config{WordDim: dw, PatientDim: dp, Hidden: 16, Layers: 3, Dropout: 0.4}
	rng := rand.New(rand.NewPCG(3, 9))
	words, edits := randomWords(nw, dw, rng), randomWords(ne, dw, rng)
	xs := make([]float32, dp)
	for i := range xs {
		xs[i] = float32(rng.NormFloat64())
	}
	for _, c := range []struct {
		name            string
		edits           [][]float32
		train           bool
		action          int
		advantage, beta float64
	}{
		{"reinforce", nil, false, 3, 0.7, 0},
		{"entropy only", nil, false, 3, 0, 0.3},
		{"dropout, edits, both terms", edits, true, nw + 1, -0.4, 0.2},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := New(cfg, 42)
			require.NoError(t, err)
			for i, p := range m.Params() { // non-zero biases, so that the broadcasts count
				if i == 2 || i%2 == 0 && i > 2 {
					v := slices.Clone(p.Data().F32())
					for k := range v {
						v[k] = 0.01 * float32(k+i)
					}
					p.SetData(mat.NewDense[T](mat.WithBacking(v)).Data())
				}
			}

			// The graph.
			m.drop = dropout.New(dropSeed)
			x := column(slices.Clone(xs)...)
			x.SetRequiresGrad(true)
			z, err := m.LogitsWithEdits(words, c.edits, x, c.train)
			require.NoError(t, err)
			logp := ag.Sub(ag.At(z, c.action, 0), ag.LogSumExp(z))
			loss := ag.Add(ag.ProdScalar(logp, mat.Scalar(T(-c.advantage))),
				ag.ProdScalar(sumEntropy([]mat.Tensor{z}), mat.Scalar(T(-c.beta))))
			require.NoError(t, ag.Backward(loss))
			var want [][]float64
			for _, p := range m.Params() {
				require.True(t, p.HasGrad())
				want = append(want, p.Grad().Data().F64())
				p.ZeroGrad()
			}
			wantX := x.Grad().Data().F64()

			// The tape, with a source seeded as the graph's was.
			var drop *dropout.Source
			if c.train {
				drop = dropout.New(dropSeed)
			}
			tp, zt, err := m.forwardTape(words, c.edits, xs, drop)
			require.NoError(t, err)
			assert.InDeltaSlice(t, z.Value().Data().F64(), zt, 1e-5, "scores")
			g := m.newGradients()
			m.backwardTape(tp, scoreGradient(stats.Softmax(zt), c.action, c.advantage, c.beta), g)
			var norm float64
			for i := range want {
				got := make([]float64, len(g.params[i]))
				for k, v := range g.params[i] {
					got[k] = float64(v)
					norm += got[k] * got[k]
				}
				assert.InDeltaSlice(t, want[i], got, 1e-4, "parameter %d", i)
			}
			gotX := make([]float64, dp)
			for k, v := range g.patient {
				gotX[k] = float64(v)
			}
			assert.InDeltaSlice(t, wantX, gotX, 1e-4, "x̂")
			assert.Greater(t, norm, 1e-6, "the loss has a gradient")
		})
	}
}

// TestScoreGradientIsFiniteDifference checks dL/dz of the trainer's loss
// against central differences of −advantage·log π(a) − β·H(π) in float64,
// including an action of probability 0 for the entropy term.
func TestScoreGradientIsFiniteDifference(t *testing.T) {
	const adv, beta, a = 0.8, 0.5, 1
	loss := func(z []float64) float64 {
		p := stats.Softmax(z)
		var h float64
		for _, v := range p {
			if v > 0 {
				h -= v * math.Log(v)
			}
		}
		return -adv*math.Log(p[a]) - beta*h
	}
	z := []float64{0.3, -1.2, 2.0, 0.1}
	dz := scoreGradient(stats.Softmax(z), a, adv, beta)
	for j := range z {
		const eps = 1e-6
		zp, zm := slices.Clone(z), slices.Clone(z)
		zp[j] += eps
		zm[j] -= eps
		assert.InDelta(t, (loss(zp)-loss(zm))/(2*eps), float64(dz[j]), 1e-5, "z_%d", j)
	}
	zero := scoreGradient([]float64{0, 1}, 1, 0, 1)
	assert.Equal(t, []float32{0, 0}, zero, "a certain choice has no entropy gradient, and no NaN")
}

// TestTrainingWithoutPatientInput: a policy without a patient input (d_p
// = 0) trains through the tape whatever x̂ the cases give, as the graph
// ignores it.
func TestTrainingWithoutPatientInput(t *testing.T) {
	const dw = 6
	task := newToyTask(4, 5, 2, dw, 3, 2) // the cases still give a 3-d x̂
	m, err := New(DefaultConfig(dw, 0), 2)
	require.NoError(t, err)
	w0 := slices.Clone(m.Params()[0].Data().F32())
	tr, err := NewTrainer(TrainerConfig{Policy: m, Text: task.text, Cases: task, Reward: task.reward,
		Epochs: 1, BatchSize: 4, Workers: 2, Steps: 2, Seed: 2})
	require.NoError(t, err)
	_, err = tr.Train(context.Background())
	require.NoError(t, err)
	assert.NotEqual(t, w0, m.Params()[0].Data().F32(), "trained")
}
