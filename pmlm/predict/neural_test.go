package predict

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNeuralBaselinesLearn trains each baseline on two classes that differ
// by the mean of one channel and checks the held-out accuracy. spago's
// training is not bitwise reproducible, hence the margin below the ~1.0
// these reach.
func TestNeuralBaselinesLearn(t *testing.T) {
	for _, arch := range []Arch{ArchLSTM, ArchCNN, ArchTransformer} {
		t.Run(string(arch), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(31, 32))
			train, trainY := twoClassSeries(rng, 160, 3)
			test, testY := twoClassSeries(rng, 80, 3)
			m := &NeuralClassifier{Config: NeuralConfig{Arch: arch, Hidden: 16, Epochs: 15, Seed: 9}}
			require.NoError(t, m.Fit(context.Background(), train, trainY, 2))
			got, err := PredictAll(context.Background(), m, test)
			require.NoError(t, err)
			acc := accuracy(got, testY)
			run, kept := m.TrainedEpochs()
			t.Logf("%s: test accuracy %.3f after %d epochs (kept epoch %d)", arch, acc, run, kept)
			assert.GreaterOrEqual(t, acc, 0.8)
			p, err := m.Predict(context.Background(), test[0])
			require.NoError(t, err)
			assert.InDelta(t, 1, sum(p.Probs), 1e-9)
		})
	}
}

func TestNeuralErrors(t *testing.T) {
	ctx := context.Background()
	m := &NeuralClassifier{Config: NeuralConfig{Arch: "rnn"}}
	assert.ErrorContains(t, m.Fit(ctx, [][][]float64{{{1}}, {{2}}}, []int{0, 1}, 2), "unknown architecture")
	m.Config.Arch = ArchCNN
	_, err := m.Predict(ctx, [][]float64{{1}})
	assert.ErrorIs(t, err, ErrNotFitted)
	assert.Error(t, m.Fit(ctx, [][][]float64{{{1}}, {{2}}}, []int{0, 5}, 2))
	m.Config.Epochs = 1
	require.NoError(t, m.Fit(ctx, [][][]float64{{{1}}, {{2}}, {{1}}, {{2}}}, []int{0, 1, 0, 1}, 2))
	_, err = m.Predict(ctx, [][]float64{{1, 2}})
	assert.Error(t, err)
	// Longer than the training maximum: truncated to the last timesteps.
	_, err = m.Predict(ctx, [][]float64{{1}, {2}, {3}})
	assert.NoError(t, err)
}
