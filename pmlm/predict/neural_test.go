package predict

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNeuralBaselinesLearn trains each baseline on two classes that differ
// by the mean of one channel and checks the held-out accuracy.
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

// TestNeuralTrainingIsReproducible (issue 15 item 16): two fits with the
// same seed give bit-identical weights for every architecture. Before the
// graphs were built for it (tied.go), spago's concurrent backward pass
// summed the gradients of the weights used at every timestep and example
// in the order its goroutines finished.
func TestNeuralTrainingIsReproducible(t *testing.T) {
	for _, arch := range []Arch{ArchLSTM, ArchCNN, ArchTransformer} {
		t.Run(string(arch), func(t *testing.T) {
			fit := func() [][]float64 {
				rng := rand.New(rand.NewPCG(4, 4))
				train, y := twoClassSeries(rng, 48, 3)
				m := &NeuralClassifier{Config: NeuralConfig{Arch: arch, Hidden: 16, Epochs: 3, BatchSize: 16, Seed: 2}}
				require.NoError(t, m.Fit(context.Background(), train, y, 2))
				return saveParams(m.net)
			}
			a := fit()
			for range 2 {
				assert.Equal(t, a, fit())
			}
		})
	}
}
