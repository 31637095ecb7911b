// Package policy is the fine-grained prompt step of PMLM (paper section 4.2):
// a word-level policy network that, given the current prompt state and the
// patient encoding x̂, scores every word for deletion; episodes that delete
// n words one at a time from the coarse prompt; and a REINFORCE trainer that
// updates the policy and the patient encoder with Adam.
//
// All graph values are spago float32 tensors (type T). Training is not
// bitwise reproducible (spago runs operators and backward passes in
// goroutines), but greedy inference is deterministic.
package policy

import (
	"encoding/gob"
	"errors"
	"fmt"
	"io"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/initializers"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/mat/rand"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/nn/activation"
	"github.com/nlpodyssey/spago/nn/linear"
)

// T is the element type of every graph value. Mixing float32 and float64
// nodes panics inside spago, so constants are built in T as well.
type T = float32

// Policy scores the words of a prompt state for deletion:
// π(e|s) = softmax(Logits(...)). Implementations must be safe for concurrent
// forward passes (episodes of a mini-batch run concurrently and share the
// parameters).
type Policy interface {
	// Logits returns one unnormalised deletion score per word as an [n 1]
	// node. words holds the embeddings of the state's n ≥ 1 words (each of
	// length WordDim), patient is the patient encoding x̂ ([PatientDim 1]),
	// which may require gradients. train enables dropout.
	Logits(words [][]float32, patient mat.Tensor, train bool) (mat.Tensor, error)
	// Params returns the learnable parameters in a fixed order; checkpoints
	// store and restore them by position.
	Params() []*nn.Param
}

// Config describes the MLP policy f of equation (7).
type Config struct {
	// WordDim is d_w, the length of a word embedding e_j.
	WordDim int
	// PatientDim is d_p, the length of the patient encoding x̂.
	PatientDim int
	// Hidden is the width of the hidden layers (paper: 256).
	Hidden int
	// Layers is the number of linear layers (paper: 3).
	Layers int
	// Dropout is the dropout probability after each hidden layer (paper: 0.4).
	Dropout float64
}

// DefaultConfig returns the paper's settings (section 5.1) for the given
// embedding sizes: 3 layers, hidden 256, dropout 0.4, output 1.
func DefaultConfig(wordDim, patientDim int) Config {
	return Config{WordDim: wordDim, PatientDim: patientDim, Hidden: 256, Layers: 3, Dropout: 0.4}
}

// InputDim is the input width of f: 2·d_w + d_p (e_j ‖ mean(E) ‖ x̂).
func (c Config) InputDim() int { return 2*c.WordDim + c.PatientDim }

func (c Config) validate() error {
	switch {
	case c.WordDim < 1:
		return fmt.Errorf("policy: word dimension %d, want ≥ 1", c.WordDim)
	case c.PatientDim < 0:
		return fmt.Errorf("policy: patient dimension %d, want ≥ 0", c.PatientDim)
	case c.Layers < 1:
		return fmt.Errorf("policy: %d layers, want ≥ 1", c.Layers)
	case c.Layers > 1 && c.Hidden < 1:
		return fmt.Errorf("policy: hidden width %d, want ≥ 1", c.Hidden)
	case c.Dropout < 0 || c.Dropout >= 1:
		return fmt.Errorf("policy: dropout %g, want in [0, 1)", c.Dropout)
	}
	return nil
}

// MLP is the paper's policy network: f(e_j ‖ mean(E) ‖ x̂) scored for all
// words of a state in one batched graph.
type MLP struct {
	nn.Module
	// Layers are the linear layers, input first. Exported so that spago's
	// traversal (nn.Parameters) finds them.
	Layers []*linear.Model
	cfg    Config
}

var _ Policy = (*MLP)(nil)

// New returns an MLP with weights drawn by Xavier-uniform initialisation
// (ReLU gain) from a spago generator seeded with seed, and zero biases.
func New(cfg Config, seed uint64) (*MLP, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	gen := rand.NewLockedRand(seed)
	m := &MLP{cfg: cfg}
	in := cfg.InputDim()
	for i := 0; i < cfg.Layers; i++ {
		out := cfg.Hidden
		if i == cfg.Layers-1 {
			out = 1
		}
		l := linear.New[T](in, out)
		initializers.XavierUniform(l.W.Value().(mat.Matrix), initializers.Gain(activation.ReLU), gen)
		m.Layers = append(m.Layers, l)
		in = out
	}
	return m, nil
}

// Config returns the network's configuration.
func (m *MLP) Config() Config { return m.cfg }

// Params returns W and B of each layer, input layer first.
func (m *MLP) Params() []*nn.Param {
	ps := make([]*nn.Param, 0, 2*len(m.Layers))
	for _, l := range m.Layers {
		ps = append(ps, l.W, l.B)
	}
	return ps
}

// ErrShape reports inputs whose sizes do not match the network.
var ErrShape = errors.New("policy: shape mismatch")

// input builds X, the [2d_w+d_p n] input matrix whose column j is
// e_j ‖ mean(E) ‖ x̂. The word part is a constant; the patient part is x̂
// broadcast over the columns (x̂·1ᵀ), so gradients flow back into x̂.
func (m *MLP) input(words [][]float32, patient mat.Tensor) (mat.Tensor, error) {
	n, dw, dp := len(words), m.cfg.WordDim, m.cfg.PatientDim
	if n == 0 {
		return nil, fmt.Errorf("%w: no words to score", ErrShape)
	}
	if dp > 0 {
		if patient == nil {
			return nil, fmt.Errorf("%w: nil patient encoding, want [%d 1]", ErrShape, dp)
		}
		if s := patient.Shape(); patient.Size() != dp || (len(s) == 2 && s[1] != 1) {
			return nil, fmt.Errorf("%w: patient encoding of shape %v, want [%d 1]", ErrShape, s, dp)
		}
	}
	mean := make([]float64, dw)
	for j, e := range words {
		if len(e) != dw {
			return nil, fmt.Errorf("%w: word %d has %d dimensions, want %d", ErrShape, j, len(e), dw)
		}
		for i, v := range e {
			mean[i] += float64(v)
		}
	}
	// Row-major [2d_w n]: rows 0..d_w-1 hold the words, the next d_w rows the mean.
	top := make([]T, 2*dw*n)
	for i := 0; i < dw; i++ {
		mi := T(mean[i] / float64(n))
		for j, e := range words {
			top[i*n+j] = e[i]
			top[(dw+i)*n+j] = mi
		}
	}
	wordPart := mat.NewDense[T](mat.WithShape(2*dw*n, 1), mat.WithBacking(top))
	if dp == 0 {
		return mat.NewDense[T](mat.WithShape(2*dw, n), mat.WithBacking(top)), nil
	}
	x := ag.Reshape(patient, dp, 1)
	bcast := ag.Mul(x, ones(1, n))              // [d_p n]
	flat := ag.Reshape(bcast, dp*n, 1)          // row-major, so stacking rows = concatenating data
	stacked := ag.Concat(wordPart, flat)        // fresh slice: Concat keeps it
	return ag.Reshape(stacked, 2*dw+dp, n), nil // [in n]
}

func ones(r, c int) *mat.Dense[T] {
	data := make([]T, r*c)
	for i := range data {
		data[i] = 1
	}
	return mat.NewDense[T](mat.WithShape(r, c), mat.WithBacking(data))
}

// Logits scores all n words in one batched graph: every layer computes
// W·H + b·1ᵀ on the [width n] matrix of hidden states, and the [1 n] output
// is transposed to the [n 1] column that Softmax and LogSumExp expect.
// Dropout masks are drawn per element, so per word, as in per-word scoring.
func (m *MLP) Logits(words [][]float32, patient mat.Tensor, train bool) (mat.Tensor, error) {
	x, err := m.input(words, patient)
	if err != nil {
		return nil, err
	}
	n := len(words)
	row := ones(1, n)
	h := x
	for i, l := range m.Layers {
		h = ag.Add(ag.Mul(l.W, h), ag.Mul(l.B, row))
		if i < len(m.Layers)-1 {
			h = ag.ReLU(h)
			if train && m.cfg.Dropout > 0 {
				h = ag.Dropout(h, m.cfg.Dropout)
			}
		}
	}
	return ag.T(h), nil
}

// logitsPerWord is the unbatched reference: f applied to each word's
// [in 1] input vector separately, scores concatenated. Tests check that
// Logits equals it (values and gradients).
func (m *MLP) logitsPerWord(words [][]float32, patient mat.Tensor, train bool) (mat.Tensor, error) {
	n, dw := len(words), m.cfg.WordDim
	if n == 0 {
		return nil, fmt.Errorf("%w: no words to score", ErrShape)
	}
	mean := make([]T, dw)
	for _, e := range words {
		for i, v := range e {
			mean[i] += v / T(n)
		}
	}
	meanNode := mat.NewDense[T](mat.WithBacking(append([]T(nil), mean...)))
	scores := make([]mat.Tensor, n)
	for j, e := range words {
		ej := mat.NewDense[T](mat.WithBacking(append([]T(nil), e...)))
		var h mat.Tensor
		if m.cfg.PatientDim > 0 {
			h = ag.Concat(ej, meanNode, patient)
		} else {
			h = ag.Concat(ej, meanNode)
		}
		for i, l := range m.Layers {
			h = ag.Affine(l.B, l.W, h)
			if i < len(m.Layers)-1 {
				h = ag.ReLU(h)
				if train && m.cfg.Dropout > 0 {
					h = ag.Dropout(h, m.cfg.Dropout)
				}
			}
		}
		scores[j] = h
	}
	return ag.Concat(scores...), nil
}

// modelFormat names the gob payload written by Save; version it when the
// layout changes so that old files fail with a clear error.
const (
	modelFormat  = "pmlm-policy-mlp"
	modelVersion = 1
)

// savedTensor is one parameter value in a saved model or checkpoint.
type savedTensor struct {
	Shape []int
	Data  []float32
}

type savedMLP struct {
	Format  string
	Version int
	Config  Config
	Params  []savedTensor
}

// Save writes the network (configuration and weights) to w with encoding/gob.
func (m *MLP) Save(w io.Writer) error {
	s := savedMLP{Format: modelFormat, Version: modelVersion, Config: m.cfg, Params: snapshot(m.Params())}
	if err := gob.NewEncoder(w).Encode(&s); err != nil {
		return fmt.Errorf("policy: save: %w", err)
	}
	return nil
}

// Load reads a network written by Save.
func Load(r io.Reader) (*MLP, error) {
	var s savedMLP
	if err := gob.NewDecoder(r).Decode(&s); err != nil {
		return nil, fmt.Errorf("policy: load: %w", err)
	}
	if s.Format != modelFormat {
		return nil, fmt.Errorf("policy: load: format %q, want %q", s.Format, modelFormat)
	}
	if s.Version != modelVersion {
		return nil, fmt.Errorf("policy: load: format version %d, want %d", s.Version, modelVersion)
	}
	m, err := New(s.Config, 0)
	if err != nil {
		return nil, fmt.Errorf("policy: load: %w", err)
	}
	if err := restore(m.Params(), s.Params, "policy"); err != nil {
		return nil, fmt.Errorf("policy: load: %w", err)
	}
	return m, nil
}

// snapshot copies the values of ps.
func snapshot(ps []*nn.Param) []savedTensor {
	out := make([]savedTensor, len(ps))
	for i, p := range ps {
		out[i] = savedTensor{Shape: append([]int(nil), p.Shape()...), Data: copyData(p)}
	}
	return out
}

// restore sets the values of ps from saved, checking count and shapes.
func restore(ps []*nn.Param, saved []savedTensor, what string) error {
	if len(saved) != len(ps) {
		return fmt.Errorf("%w: %s has %d parameters, saved %d", ErrShape, what, len(ps), len(saved))
	}
	for i, p := range ps {
		if !sameShape(p.Shape(), saved[i].Shape) || p.Size() != len(saved[i].Data) {
			return fmt.Errorf("%w: %s parameter %d has shape %v, saved %v with %d values",
				ErrShape, what, i, p.Shape(), saved[i].Shape, len(saved[i].Data))
		}
	}
	for i, p := range ps {
		p.SetData(float.Make[T](saved[i].Data...))
	}
	return nil
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// copyData returns a fresh copy of p's values (F32 of a float32 matrix may
// alias its backing array).
func copyData(p mat.Tensor) []float32 { return append([]float32(nil), p.Data().F32()...) }
