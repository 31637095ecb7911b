package mlp

import (
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/nn"
)

// paperEncoder is the paper's size: 45 visits × 35 metrics → 256 → 128,
// and a patient with 20 visits.
func paperEncoder(b *testing.B) (*MLP, [][]float64) {
	rng := rand.New(rand.NewPCG(1, 1))
	visits := make([][]float64, 20)
	for v := range visits {
		visits[v] = make([]float64, 35)
		for m := range visits[v] {
			visits[v][m] = rng.NormFloat64()
		}
	}
	std, err := FitStandardizer([][][]float64{visits})
	if err != nil {
		b.Fatal(err)
	}
	m, err := New(DefaultConfig(35), std, 1)
	if err != nil {
		b.Fatal(err)
	}
	return m, visits
}

// BenchmarkEncode is the inference cost per patient.
func BenchmarkEncode(b *testing.B) {
	m, visits := paperEncoder(b)
	for b.Loop() {
		if _, err := m.Encode(visits); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkForwardBackward is one training pass of one patient through the
// spago graph (dropout on) with a backward pass from the sum of x̂.
func BenchmarkForwardBackward(b *testing.B) {
	m, visits := paperEncoder(b)
	for b.Loop() {
		x, err := m.Forward(visits, true)
		if err != nil {
			b.Fatal(err)
		}
		if err := ag.Backward(ag.ReduceSum(x)); err != nil {
			b.Fatal(err)
		}
		nn.ZeroGrad(m)
	}
}
