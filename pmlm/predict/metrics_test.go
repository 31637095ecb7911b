package predict

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScore(t *testing.T) {
	// Class 0: tp 2, fp 1, fn 0 → F1 0.8; class 1: tp 1, fp 0, fn 1 → 2/3;
	// class 2: tp 0, fp 0, fn 1 (predicted unknown) → 0.
	s, err := Score([]int{0, 0, 0, 1, -1}, []int{0, 0, 1, 1, 2}, 4)
	require.NoError(t, err)
	assert.InDelta(t, 0.6, s.Accuracy, 1e-12)
	assert.InDelta(t, 0.6, s.MicroF1, 1e-12)
	assert.InDelta(t, (0.8+2.0/3+0)/3, s.MacroF1, 1e-12)
	_, err = Score([]int{0}, []int{0, 1}, 2)
	assert.Error(t, err)
	_, err = Score([]int{5}, []int{0}, 2)
	assert.Error(t, err)
}

func TestNew(t *testing.T) {
	for _, name := range PredictorNames() {
		p, err := New(name, 1)
		require.NoError(t, err)
		assert.Equal(t, name, p.Name())
	}
	_, err := New("rocket", 1)
	assert.Error(t, err)
}

// TestWeightedScore checks that counting an example twice scores as
// listing it twice.
func TestWeightedScore(t *testing.T) {
	pred, truth := []int{0, 1, 2, 1}, []int{0, 2, 2, 1}
	w, err := WeightedScore(pred, truth, []int{2, 0, 1, 3}, 3)
	require.NoError(t, err)
	d, err := Score([]int{0, 0, 2, 1, 1, 1}, []int{0, 0, 2, 1, 1, 1}, 3)
	require.NoError(t, err)
	assert.Equal(t, d, w)
	s, err := Score(pred, truth, 3)
	require.NoError(t, err)
	assert.Equal(t, ClassScore{F1: 2.0 / 3, Support: 1, Predicted: 2}, s.PerClass[1])
	_, err = WeightedScore(pred, truth, []int{0, 0, 0, 0}, 3)
	require.Error(t, err)
}
