// Package dropout applies inverted dropout with masks drawn from a seeded
// generator of its own.
//
// spago's ag.Dropout draws from the process-wide generator of package ag and
// locks it once per element: results then depend on everything else that ran
// in the process, and concurrent forward passes serialize on that lock. A
// Source belongs to one network, is seeded by its owner, and draws a whole
// mask under one lock.
package dropout

import (
	"math/rand/v2"
	"sync"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
)

// Source draws dropout masks. It is safe for concurrent use.
type Source struct {
	mu  sync.Mutex
	rng *rand.Rand
}

// New returns a Source seeded with seed.
func New(seed uint64) *Source {
	return &Source{rng: rand.New(rand.NewPCG(seed, 0x64726f70))} // "drop"
}

// Mask returns an [r c] matrix whose entries are 0 with probability p and
// 1/(1−p) otherwise (inverted dropout, as spago's).
func (s *Source) Mask(r, c int, p float64) *mat.Dense[float32] {
	data := make([]float32, r*c)
	keep := float32(1 / (1 - p))
	s.mu.Lock()
	for i := range data {
		if s.rng.Float64() >= p {
			data[i] = keep
		}
	}
	s.mu.Unlock()
	return mat.NewDense[float32](mat.WithShape(r, c), mat.WithBacking(data))
}

// Apply returns h ⊙ mask for a fresh mask of h's shape; its gradient is
// gy ⊙ mask. p ≤ 0 returns h unchanged.
func (s *Source) Apply(h mat.Tensor, p float64) mat.Tensor {
	if p <= 0 {
		return h
	}
	shape := h.Value().Shape()
	return ag.Prod(h, s.Mask(shape[0], shape[1], p))
}
