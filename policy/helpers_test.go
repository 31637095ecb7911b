package policy

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync/atomic"

	"github.com/nlpodyssey/spago/mat"

	"github.com/pmlm-go/pmlm/encoder"
)

// staticText is a test TextEncoder: one fixed vector per word, chosen by the
// test (unknown words get a zero vector and id -1). It counts Encode calls.
type staticText struct {
	dim   int
	vecs  map[string][]float32
	calls atomic.Int64
}

func (s *staticText) Name() string { return "test-static" }
func (s *staticText) Dim() int     { return s.dim }

func (s *staticText) Encode(ctx context.Context, text string) (*encoder.Encoded, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.calls.Add(1)
	words := strings.Fields(text)
	e := &encoder.Encoded{NumWords: len(words)}
	for i, w := range words {
		v, ok := s.vecs[w]
		id := i
		if !ok {
			v, id = make([]float32, s.dim), -1
		}
		e.Tokens = append(e.Tokens, w)
		e.IDs = append(e.IDs, id)
		e.Vectors = append(e.Vectors, v)
		e.Special = append(e.Special, false)
		e.WordOf = append(e.WordOf, i)
	}
	return e, nil
}

// randomVectors gives each word a vector with entries uniform in [-1, 1).
func randomVectors(words []string, dim int, seed uint64) *staticText {
	rng := rand.New(rand.NewPCG(seed, 0))
	st := &staticText{dim: dim, vecs: map[string][]float32{}}
	for _, w := range words {
		v := make([]float32, dim)
		for i := range v {
			v[i] = float32(2*rng.Float64() - 1)
		}
		st.vecs[w] = v
	}
	return st
}

func column(vals ...float32) *mat.Dense[T] {
	return mat.NewDense[T](mat.WithShape(len(vals), 1), mat.WithBacking(vals))
}

func randomWords(n, dim int, rng *rand.Rand) [][]float32 {
	out := make([][]float32, n)
	for j := range out {
		out[j] = make([]float32, dim)
		for i := range out[j] {
			out[j][i] = float32(rng.NormFloat64())
		}
	}
	return out
}
