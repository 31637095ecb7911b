package policy

import (
	"context"
	"fmt"
	"strings"

	"github.com/nlpodyssey/spago/mat"

	"github.com/pmlm-go/pmlm/encoder"
)

// replacer tracks an episode's replace actions (Options.Replace). Its zero
// value offers none.
type replacer struct {
	spec *Replacement
	cand [][]float32 // mean word vector of each candidate
	done bool        // the replacement was made (or cannot be made any more)
}

// newReplacer checks spec against a prompt of n words and embeds its
// candidates once per episode.
func newReplacer(ctx context.Context, text encoder.TextEncoder, spec *Replacement, n int) (*replacer, error) {
	if spec == nil || len(spec.Candidates) == 0 {
		return &replacer{done: true}, nil
	}
	if spec.From < 0 || spec.To <= spec.From || spec.To > n {
		return nil, fmt.Errorf("policy: replacement of words [%d, %d) in a prompt of %d words", spec.From, spec.To, n)
	}
	r := &replacer{spec: spec, cand: make([][]float32, len(spec.Candidates))}
	for i, c := range spec.Candidates {
		enc, err := text.Encode(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("policy: encode replacement %d: %w", i, err)
		}
		if enc.NumWords == 0 {
			return nil, fmt.Errorf("policy: replacement %d is empty", i)
		}
		r.cand[i] = meanVector(enc.WordVectors())
	}
	return r, nil
}

// edits returns the edit vectors of the replace actions available in the
// state whose words have the given vectors and s0 positions, and the state
// position of the phrase; nil when there are none.
func (r *replacer) edits(vecs [][]float32, origin []int) ([][]float32, int) {
	if r.done {
		return nil, -1
	}
	at := r.phrase(origin)
	if at < 0 {
		r.done = true // a word of the phrase was deleted: no replacement any more
		return nil, -1
	}
	span := meanVector(vecs[at : at+r.spec.To-r.spec.From])
	out := make([][]float32, len(r.cand))
	for i, c := range r.cand {
		e := make([]float32, len(span))
		for j := range e {
			e[j] = span[j] - c[j]
		}
		out[i] = e
	}
	return out, at
}

// phrase returns the state position of the phrase's first word, or −1 when
// one of its words is gone.
func (r *replacer) phrase(origin []int) int {
	for k, o := range origin {
		if o != r.spec.From {
			continue
		}
		for j := 0; j < r.spec.To-r.spec.From; j++ {
			if k+j >= len(origin) || origin[k+j] != r.spec.From+j {
				return -1
			}
		}
		return k
	}
	return -1
}

// apply replaces the phrase at state position at by candidate c.
func (r *replacer) apply(words []string, origin []int, at, c int) ([]string, []int, Deletion) {
	l := r.spec.To - r.spec.From
	last := words[at+l-1]
	punct := last[len(strings.TrimRight(last, ",.;:")):]
	ins := strings.Fields(r.spec.Candidates[c])
	ins[len(ins)-1] += punct
	d := Deletion{Word: strings.Join(words[at:at+l], " "), Index: r.spec.From, StateIndex: at,
		Replacement: strings.Join(ins, " ")}
	nw := make([]string, 0, len(words)-l+len(ins))
	no := make([]int, 0, cap(nw))
	nw = append(append(append(nw, words[:at]...), ins...), words[at+l:]...)
	no = append(no, origin[:at]...)
	for range ins {
		no = append(no, -1)
	}
	no = append(no, origin[at+l:]...)
	r.done = true
	return nw, no, d
}

func meanVector(vs [][]float32) []float32 {
	out := make([]float32, len(vs[0]))
	for _, v := range vs {
		for j, x := range v {
			out[j] += x
		}
	}
	for j := range out {
		out[j] /= float32(len(vs))
	}
	return out
}

// LogitsWithEdits scores the words' deletions and the edit actions in one
// batched graph (EditScorer): the edit vectors are scored as extra columns
// of E, while mean(E) stays the words' mean.
func (m *MLP) LogitsWithEdits(words, edits [][]float32, patient mat.Tensor, train bool) (mat.Tensor, error) {
	if len(edits) == 0 {
		return m.Logits(words, patient, train)
	}
	for i, e := range edits {
		if len(e) != m.cfg.WordDim {
			return nil, fmt.Errorf("%w: edit %d has %d dimensions, want %d", ErrShape, i, len(e), m.cfg.WordDim)
		}
	}
	_, mean, err := m.checkInput(words, patient)
	if err != nil {
		return nil, err
	}
	all := append(append([][]float32(nil), words...), edits...)
	e, _, err := m.checkInput(all, patient)
	if err != nil {
		return nil, err
	}
	return m.forward(e, mean, patient, len(all), train), nil
}
