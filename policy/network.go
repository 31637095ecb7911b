// Package policy is the fine-grained prompt step of PMLM (paper section 4.2,
// algorithm 1): a word-level policy network scores every word of the
// current prompt state for deletion, π(e|s) = softmax(f(E ‖ mean(E) ‖ x̂));
// an episode deletes n words one at a time from the coarse prompt s0; and a
// REINFORCE trainer updates the policy and the patient encoder with Adam.
//
//   - Policy is the network contract; MLP is the paper's network (3 layers,
//     hidden 256, dropout 0.4, output 1), scoring all words of a state in
//     one batched spago graph.
//   - Run plays one episode (sampled or greedy) and keeps the
//     log-probabilities as graph nodes; Refine is greedy, deterministic
//     inference through the graph.
//   - MLP.Freeze takes a graph-free snapshot of the weights (Frozen, a
//     Scorer) and RefineWith is Refine through it: the same deletions,
//     with no autodiff graph (and, for a context-free embedder such as
//     encoder/wordvec, one embedding of the coarse prompt instead of one
//     per state). Package pmlm answers through it.
//   - Trainer runs mini-batches of episodes concurrently, with a reward
//     supplied by the caller (RewardFunc), validation-based selection of the
//     best epoch and atomic, resumable checkpoints.
//
// All graph values are spago float32 tensors (type T). The trainer trains
// an MLP without graphs (tape.go: a recorded forward pass and a
// hand-written backward pass, checked against the graph), summing every
// gradient in a fixed order, so training is bitwise reproducible for a
// seed, whatever the number of workers; other Policy implementations are
// trained through their spago graph, which is not (spago sums gradients in
// the order its backward goroutines finish). Greedy inference is
// deterministic.
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
	sprand "github.com/nlpodyssey/spago/mat/rand"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/nn/activation"
	"github.com/nlpodyssey/spago/nn/linear"

	"github.com/pmlm-go/pmlm/internal/dropout"
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

// paramShapes lists the shapes of MLP.Params for this configuration.
func (c Config) paramShapes() [][]int {
	width := func(i int) int {
		if i == c.Layers-1 {
			return 1
		}
		return c.Hidden
	}
	shapes := [][]int{{width(0), c.WordDim}, {width(0), c.WordDim + c.PatientDim}, {width(0), 1}}
	for i := 1; i < c.Layers; i++ {
		shapes = append(shapes, []int{width(i), width(i - 1)}, []int{width(i), 1})
	}
	return shapes
}

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
	// Input is the first layer. Exported fields are what spago's traversal
	// (nn.ForEachParam) finds.
	Input *InputLayer
	// Layers are the linear layers after the first, the last one with output 1.
	Layers []*linear.Model
	cfg    Config
	drop   *dropout.Source
}

// InputLayer is the first layer of f, Linear(2d_w+d_p → width), with its
// weight matrix W = [WordW | ContextW] kept as two column blocks: WordW
// multiplies e_j, ContextW multiplies mean(E) ‖ x̂. Since the second part is
// the same for every word of a state, it is multiplied once per state
// instead of once per word (see MLP.Logits).
type InputLayer struct {
	nn.Module
	WordW    *nn.Param // [width d_w]
	ContextW *nn.Param // [width d_w+d_p]
	B        *nn.Param // [width 1]
}

// dropout applies inverted dropout to h with a fresh mask: h ⊙ mask, whose
// gradient is gy ⊙ mask.
func (m *MLP) dropout(h mat.Tensor) mat.Tensor {
	return m.drop.Apply(h, m.cfg.Dropout)
}

// New returns an MLP with weights drawn by Xavier-uniform initialisation
// (ReLU gain; the first layer's two blocks drawn as one [width in] matrix)
// from a spago generator seeded with seed, and zero biases. Dropout masks
// come from a generator of the network's own, also seeded with seed (its
// state is saved neither by Save nor by checkpoints).
func New(cfg Config, seed uint64) (*MLP, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	gen := sprand.NewLockedRand(seed)
	m := &MLP{cfg: cfg, drop: dropout.New(seed)}
	gain := initializers.Gain(activation.ReLU)
	width := func(i int) int {
		if i == cfg.Layers-1 {
			return 1
		}
		return cfg.Hidden
	}
	in, dw := cfg.InputDim(), cfg.WordDim
	w := mat.NewDense[T](mat.WithShape(width(0), in))
	initializers.XavierUniform(w, gain, gen)
	m.Input = &InputLayer{
		WordW:    nn.NewParam(w.Slice(0, 0, width(0), dw)),
		ContextW: nn.NewParam(w.Slice(0, dw, width(0), in)),
		B:        nn.NewParam(mat.NewDense[T](mat.WithShape(width(0), 1))),
	}
	for i := 1; i < cfg.Layers; i++ {
		l := linear.New[T](width(i-1), width(i))
		initializers.XavierUniform(l.W.Value().(mat.Matrix), gain, gen)
		m.Layers = append(m.Layers, l)
	}
	return m, nil
}

// Config returns the network's configuration.
func (m *MLP) Config() Config { return m.cfg }

// Params returns the input layer's WordW, ContextW and B, then W and B of
// each following layer.
func (m *MLP) Params() []*nn.Param {
	ps := []*nn.Param{m.Input.WordW, m.Input.ContextW, m.Input.B}
	for _, l := range m.Layers {
		ps = append(ps, l.W, l.B)
	}
	return ps
}

// ErrShape reports inputs whose sizes do not match the network.
var ErrShape = errors.New("policy: shape mismatch")

// checkInput validates the inputs of Logits and returns E as a [d_w n]
// matrix (column j is e_j) and mean(E) as a [d_w 1] column.
func (m *MLP) checkInput(words [][]float32, patient mat.Tensor) (e, mean *mat.Dense[T], err error) {
	n, dw, dp := len(words), m.cfg.WordDim, m.cfg.PatientDim
	if n == 0 {
		return nil, nil, fmt.Errorf("%w: no words to score", ErrShape)
	}
	if dp > 0 {
		if patient == nil {
			return nil, nil, fmt.Errorf("%w: nil patient encoding, want [%d 1]", ErrShape, dp)
		}
		if s := patient.Shape(); patient.Size() != dp || (len(s) == 2 && s[1] != 1) {
			return nil, nil, fmt.Errorf("%w: patient encoding of shape %v, want [%d 1]", ErrShape, s, dp)
		}
	}
	sum := make([]float64, dw)
	data := make([]T, dw*n) // row-major [d_w n]
	for j, ej := range words {
		if len(ej) != dw {
			return nil, nil, fmt.Errorf("%w: word %d has %d dimensions, want %d", ErrShape, j, len(ej), dw)
		}
		for i, v := range ej {
			sum[i] += float64(v)
			data[i*n+j] = v
		}
	}
	avg := make([]T, dw)
	for i, v := range sum {
		avg[i] = T(v / float64(n))
	}
	return mat.NewDense[T](mat.WithShape(dw, n), mat.WithBacking(data)),
		mat.NewDense[T](mat.WithShape(dw, 1), mat.WithBacking(avg)), nil
}

func ones(r, c int) *mat.Dense[T] {
	data := make([]T, r*c)
	for i := range data {
		data[i] = 1
	}
	return mat.NewDense[T](mat.WithShape(r, c), mat.WithBacking(data))
}

// context returns mean(E) ‖ x̂ as a column node.
func (m *MLP) context(mean *mat.Dense[T], patient mat.Tensor) mat.Tensor {
	if m.cfg.PatientDim == 0 {
		return mean
	}
	return ag.Concat(mean, ag.Reshape(patient, m.cfg.PatientDim, 1)) // a fresh slice: Concat keeps it
}

// Logits scores all n words in one batched graph. With X the [2d_w+d_p n]
// input matrix whose column j is e_j ‖ mean(E) ‖ x̂, the first layer's
// W·X + b·1ᵀ is computed as WordW·E + (ContextW·(mean(E) ‖ x̂) + b)·1ᵀ: the
// rows of X that repeat in every column are multiplied once, not n times.
// The next layers compute W·H + b·1ᵀ on the [width n] hidden matrix, and
// the [1 n] output is transposed to the [n 1] column that Softmax and
// LogSumExp expect. Dropout masks are drawn per element, so per word, as in
// per-word scoring.
func (m *MLP) Logits(words [][]float32, patient mat.Tensor, train bool) (mat.Tensor, error) {
	e, mean, err := m.checkInput(words, patient)
	if err != nil {
		return nil, err
	}
	return m.forward(e, mean, patient, len(words), train), nil
}

// forward scores the n columns of e ([d_w n]) in the context mean(E) ‖ x̂.
func (m *MLP) forward(e, mean *mat.Dense[T], patient mat.Tensor, n int, train bool) mat.Tensor {
	row := ones(1, n)
	shared := ag.Affine(m.Input.B, m.Input.ContextW, m.context(mean, patient)) // [width 1]
	h := ag.Add(ag.Mul(m.Input.WordW, e), ag.Mul(shared, row))
	for _, l := range m.Layers {
		h = ag.ReLU(h)
		if train && m.cfg.Dropout > 0 {
			h = m.dropout(h)
		}
		h = ag.Add(ag.Mul(l.W, h), ag.Mul(l.B, row))
	}
	return ag.T(h)
}

// inputW returns the first layer's full weight matrix [WordW | ContextW]
// as a graph node (gradients reach both blocks).
func (m *MLP) inputW() mat.Tensor {
	width := m.Input.B.Shape()[0]
	in := m.cfg.InputDim()
	// Stack the transposed blocks vertically (row-major data concatenation).
	wt := ag.Concat(
		ag.Reshape(ag.T(m.Input.WordW), m.cfg.WordDim*width, 1),
		ag.Reshape(ag.T(m.Input.ContextW), (in-m.cfg.WordDim)*width, 1),
	)
	return ag.T(ag.Reshape(wt, in, width))
}

// logitsPerWord is the unbatched reference: f as one Linear(in → width) on
// each word's input vector e_j ‖ mean(E) ‖ x̂ separately, scores
// concatenated. Tests check that Logits equals it (values and gradients).
func (m *MLP) logitsPerWord(words [][]float32, patient mat.Tensor, train bool) (mat.Tensor, error) {
	_, mean, err := m.checkInput(words, patient)
	if err != nil {
		return nil, err
	}
	w := m.inputW()
	scores := make([]mat.Tensor, len(words))
	for j, ej := range words {
		x := mat.NewDense[T](mat.WithBacking(append([]T(nil), ej...)))
		h := ag.Affine(m.Input.B, w, ag.Concat(x, m.context(mean, patient)))
		for _, l := range m.Layers {
			h = ag.ReLU(h)
			if train && m.cfg.Dropout > 0 {
				h = m.dropout(h)
			}
			h = ag.Affine(l.B, l.W, h)
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
	if err := s.Config.validate(); err != nil {
		return nil, fmt.Errorf("policy: load: %w", err)
	}
	// Check the stored shapes against the configuration before New
	// allocates anything: a corrupted configuration must not ask for
	// gigabytes.
	want := s.Config.paramShapes()
	if len(want) != len(s.Params) {
		return nil, fmt.Errorf("policy: load: %w: configuration needs %d parameters, file has %d", ErrShape, len(want), len(s.Params))
	}
	for i, sh := range want {
		if !sameShape(sh, s.Params[i].Shape) || sh[0]*sh[1] != len(s.Params[i].Data) {
			return nil, fmt.Errorf("policy: load: %w: parameter %d has shape %v with %d values, configuration needs %v",
				ErrShape, i, s.Params[i].Shape, len(s.Params[i].Data), sh)
		}
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

// Kind is the kind under which an MLP policy is saved, for model
// manifests.
const Kind = "policy.mlp/1"

// Kind names the saved form of an MLP (Save, Load).
func (m *MLP) Kind() string { return Kind }
