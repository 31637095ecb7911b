package stats

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestObservedMoments(t *testing.T) {
	nan := math.NaN()
	series := [][][]float64{
		{{1, nan, 5}, {3, nan, 5}},
		{{5, nan, 5}},
	}
	mean, std := ObservedMoments(series, 3)
	assert.InDeltaSlice(t, []float64{3, 0, 5}, mean, 1e-12)
	// Channel 0: values 1, 3, 5 → population variance 8/3. Channel 1 was
	// never observed and channel 2 has no spread: both get 1.
	assert.InDeltaSlice(t, []float64{math.Sqrt(8.0 / 3), 1, 1}, std, 1e-12)
}

func TestSoftmaxAndArgmax(t *testing.T) {
	p := Softmax([]float64{1000, 1000 + math.Log(3)}) // stable for large inputs
	assert.InDeltaSlice(t, []float64{0.25, 0.75}, p, 1e-12)
	assert.Equal(t, 1, Argmax(p))
	assert.Equal(t, 0, Argmax([]float64{2, 2, 1}), "first on ties")
}
