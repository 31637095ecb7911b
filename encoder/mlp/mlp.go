// Package mlp is the paper's patient encoder on spago: a standardizer that
// flattens a zero-padded visit matrix, a two-layer MLP with dropout that
// maps it to x̂ (it implements encoder.Encoder and Differentiable), a
// supervised warm start, and a versioned file format.
package mlp

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/initializers"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/rand"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/nn/linear"

	"github.com/pmlm-go/pmlm/encoder"
	"github.com/pmlm-go/pmlm/internal/atomicfile"
	"github.com/pmlm-go/pmlm/internal/dropout"
	"github.com/pmlm-go/pmlm/internal/kernels"
)

// elem is the element type of every patient-encoder graph value. spago
// panics when float32 and float64 values meet in one operation, so every
// constant that enters a graph is built with this type.
type elem = float32

// Differentiable is an encoder.Encoder whose encodings can also be built as
// nodes of a spago graph, so that a loss computed downstream (the prompt
// policy's REINFORCE loss, a warm-start classifier) backpropagates into
// the encoder's parameters, which nn.ForEachParam finds.
type Differentiable interface {
	encoder.Encoder
	nn.Model
	// Forward returns x̂ as a [Dim 1] node. With train set, dropout is
	// applied (MLP draws the masks from a seeded generator of its own).
	Forward(visits [][]float64, train bool) (mat.Tensor, error)
}

// Config is the shape of the paper's patient mlp.
type Config struct {
	// MaxVisits is the number of visits the input is padded (or cut) to.
	MaxVisits int
	// Metrics is the number of metrics per visit.
	Metrics int
	// Hidden and Out are the sizes of the hidden layer and of x̂.
	Hidden, Out int
	// Dropout is the probability of zeroing a hidden unit while training.
	Dropout float64
}

// DefaultConfig returns the paper's configuration for the given number
// of metrics: 45 visits, 2 layers, hidden 256, dropout 0.4, output 128.
func DefaultConfig(metrics int) Config {
	return Config{MaxVisits: 45, Metrics: metrics, Hidden: 256, Out: 128, Dropout: 0.4}
}

// Inputs is the length of the flattened input, MaxVisits·Metrics.
func (c Config) Inputs() int { return c.MaxVisits * c.Metrics }

func (c Config) validate() error {
	if c.MaxVisits <= 0 || c.Metrics <= 0 || c.Hidden <= 0 || c.Out <= 0 {
		return fmt.Errorf("mlp: MLP config %+v: sizes must be positive", c)
	}
	if c.Dropout < 0 || c.Dropout >= 1 {
		return fmt.Errorf("mlp: MLP config: dropout %v outside [0, 1)", c.Dropout)
	}
	return nil
}

// MLP is the paper's patient encoder: the standardized visits, zero-padded
// to MaxVisits and concatenated, go through Linear → ReLU → Dropout →
// Linear. It is a spago model: its exported fields are what
// nn.ForEachParam traverses and what Save writes.
type MLP struct {
	nn.Module
	Config       Config
	Standardizer *Standardizer
	Hidden       *linear.Model // W [Hidden Inputs], B [Hidden 1]
	Output       *linear.Model // W [Out Hidden], B [Out 1]

	// drop is the encoder's own dropout generator (see SetDropoutSeed).
	drop *dropout.Source
}

// SetDropoutSeed reseeds the generator of the dropout masks that Forward
// draws while training: New seeds it with its seed, Load with 0. Call
// it before training a loaded or cloned encoder to choose the stream. It
// must not run concurrently with Forward.
func (m *MLP) SetDropoutSeed(seed uint64) { m.drop = dropout.New(seed) }

var _ Differentiable = (*MLP)(nil)

func init() { gob.Register(&MLP{}) }

// New returns an encoder with Xavier-uniform weights drawn from a spago
// generator seeded with seed, and zero biases. std must be fitted on the
// training split with cfg.Metrics metrics.
func New(cfg Config, std *Standardizer, seed uint64) (*MLP, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if std == nil || std.NumMetrics() != cfg.Metrics || len(std.Std) != cfg.Metrics {
		return nil, fmt.Errorf("mlp: standardizer does not match %d metrics", cfg.Metrics)
	}
	gen := rand.NewLockedRand(seed)
	return &MLP{
		Config:       cfg,
		Standardizer: std,
		Hidden:       newLinear(cfg.Inputs(), cfg.Hidden, gen),
		Output:       newLinear(cfg.Hidden, cfg.Out, gen),
		drop:         dropout.New(seed),
	}, nil
}

func newLinear(in, out int, gen *rand.LockedRand) *linear.Model {
	w := mat.NewDense[elem](mat.WithShape(out, in))
	initializers.XavierUniform(w, 1, gen)
	return &linear.Model{
		W: nn.NewParam(w),
		B: nn.NewParam(mat.NewDense[elem](mat.WithShape(out, 1))),
	}
}

// Dim is the length of x̂.
func (m *MLP) Dim() int { return m.Config.Out }

// NumMetrics is the number of metrics per visit the encoder reads.
func (m *MLP) NumMetrics() int { return m.Config.Metrics }

// Input returns the standardized, padded and concatenated input vector of
// one patient (length Config.Inputs()).
func (m *MLP) Input(visits [][]float64) ([]float32, error) {
	x := make([]float32, m.Config.Inputs())
	if err := m.Standardizer.Flatten(x, visits, m.Config.MaxVisits); err != nil {
		return nil, err
	}
	return x, nil
}

// Encode returns x̂ without dropout and without building a graph.
func (m *MLP) Encode(visits [][]float64) ([]float32, error) {
	x, err := m.Input(visits)
	if err != nil {
		return nil, err
	}
	// Plain matrix-vector products on the parameters' row-major data
	// (kernels.MatVec: AVX2 on amd64), the same sums as the graph's up to
	// rounding.
	hidden := affineVec(m.Hidden, x)
	kernels.ReLU(hidden)
	return affineVec(m.Output, hidden), nil
}

// affineVec returns W·x + b of a linear layer for one input vector.
func affineVec(l *linear.Model, x []float32) []float32 {
	y := make([]float32, l.B.Shape()[0])
	kernels.MatVec(y, l.W.Data().F32(), len(x), x)
	for i, b := range l.B.Data().F32() {
		y[i] += b
	}
	return y
}

// Forward returns x̂ of one patient as a [Out 1] graph node.
func (m *MLP) Forward(visits [][]float64, train bool) (mat.Tensor, error) {
	return m.ForwardBatch([][][]float64{visits}, train)
}

// ForwardBatch encodes several patients at once and returns a [Out n]
// node whose column j is x̂ of patients[j]: one matrix product per layer
// instead of n.
func (m *MLP) ForwardBatch(patients [][][]float64, train bool) (mat.Tensor, error) {
	n := len(patients)
	if n == 0 {
		return nil, fmt.Errorf("%w: no patients to encode", ErrInput)
	}
	in := m.Config.Inputs()
	// Column-major gather: build the [n Inputs] rows, then transpose
	// once, so that each patient is a column.
	rows := make([]float32, n*in)
	for j, visits := range patients {
		if err := m.Standardizer.Flatten(rows[j*in:(j+1)*in], visits, m.Config.MaxVisits); err != nil {
			return nil, fmt.Errorf("patient %d: %w", j, err)
		}
	}
	var x mat.Tensor
	if n == 1 {
		x = mat.NewDense[elem](mat.WithShape(in, 1), mat.WithBacking(rows))
	} else {
		x = mat.NewDense[elem](mat.WithShape(n, in), mat.WithBacking(rows)).T()
	}
	h := ag.ReLU(affine(m.Hidden, x, n))
	if train {
		if m.drop == nil {
			return nil, fmt.Errorf("mlp: training forward pass of an MLP without a dropout generator (build it with New or Load, or call SetDropoutSeed)")
		}
		h = m.drop.Apply(h, m.Config.Dropout)
	}
	return affine(m.Output, h, n), nil
}

// affine computes W·x + b for a [in n] input, broadcasting the [out 1]
// bias over the n columns.
func affine(l *linear.Model, x mat.Tensor, n int) mat.Tensor {
	if n == 1 {
		return ag.Affine(l.B, l.W, x)
	}
	ones := make([]elem, n)
	for i := range ones {
		ones[i] = 1
	}
	row := mat.NewDense[elem](mat.WithShape(1, n), mat.WithBacking(ones))
	return ag.Add(ag.Mul(l.W, x), ag.Mul(l.B, row))
}

// fileFormat tags saved encoders so that Load rejects other gob files.
const fileFormat = "pmlm-patient-mlp/1"

// savedMLP is the on-disk form. The weights are plain slices rather than
// spago matrices: gob bounds a slice's length by the input's size, whereas
// spago's matrix decoder allocates whatever shape a (corrupt) header
// claims and can exhaust memory.
type savedMLP struct {
	Format           string
	Config           Config
	Mean, Std        []float64
	HiddenW, HiddenB []float32
	OutputW, OutputB []float32
}

// Save writes the encoder (configuration, standardizer and weights) as a
// gob stream.
func (m *MLP) Save(w io.Writer) error {
	s := savedMLP{
		Format: fileFormat, Config: m.Config,
		Mean: m.Standardizer.Mean, Std: m.Standardizer.Std,
		HiddenW: m.Hidden.W.Data().F32(), HiddenB: m.Hidden.B.Data().F32(),
		OutputW: m.Output.W.Data().F32(), OutputB: m.Output.B.Data().F32(),
	}
	if err := gob.NewEncoder(w).Encode(s); err != nil {
		return fmt.Errorf("mlp: save: %w", err)
	}
	return nil
}

// SaveFile writes the encoder to the named file atomically (internal/atomicfile).
func (m *MLP) SaveFile(path string) error {
	return atomicfile.Write(path, 0o600, m.Save)
}

// ErrCorrupt marks a saved encoder that cannot be read back.
var ErrCorrupt = errors.New("mlp: corrupt or foreign model file")

// Load reads an encoder written by Save and checks that its shapes are
// consistent.
func Load(r io.Reader) (*MLP, error) {
	var s savedMLP
	if err := gob.NewDecoder(r).Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if s.Format != fileFormat {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrCorrupt, s.Format, fileFormat)
	}
	c := s.Config
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	layer := func(name string, w, b []float32, rows, cols int) (*linear.Model, error) {
		// Compare by division: a corrupt config must not overflow.
		if len(b) != rows || rows == 0 || len(w)%rows != 0 || len(w)/rows != cols {
			return nil, fmt.Errorf("%w: %s layer has %d weights and %d biases, want %d×%d and %d",
				ErrCorrupt, name, len(w), len(b), rows, cols, rows)
		}
		return &linear.Model{
			W: nn.NewParam(mat.NewDense[elem](mat.WithShape(rows, cols), mat.WithBacking(w))),
			B: nn.NewParam(mat.NewDense[elem](mat.WithShape(rows, 1), mat.WithBacking(b))),
		}, nil
	}
	if c.MaxVisits > math.MaxInt32 || c.Metrics > math.MaxInt32 {
		return nil, fmt.Errorf("%w: config %+v too large", ErrCorrupt, c)
	}
	hidden, err := layer("hidden", s.HiddenW, s.HiddenB, c.Hidden, c.Inputs())
	if err != nil {
		return nil, err
	}
	output, err := layer("output", s.OutputW, s.OutputB, c.Out, c.Hidden)
	if err != nil {
		return nil, err
	}
	m := &MLP{Config: c, Standardizer: &Standardizer{Mean: s.Mean, Std: s.Std}, Hidden: hidden, Output: output, drop: dropout.New(0)}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return m, nil
}

// LoadFile reads an encoder from the named file.
func LoadFile(path string) (*MLP, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("mlp: load: %w", err)
	}
	defer f.Close()
	m, err := Load(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// check verifies that a decoded model is usable.
func (m *MLP) check() error {
	if m == nil {
		return errors.New("no model")
	}
	c := m.Config
	if err := c.validate(); err != nil {
		return err
	}
	if m.Standardizer == nil || len(m.Standardizer.Mean) != c.Metrics || len(m.Standardizer.Std) != c.Metrics {
		return fmt.Errorf("standardizer does not match %d metrics", c.Metrics)
	}
	for i := range m.Standardizer.Mean {
		mu, sd := m.Standardizer.Mean[i], m.Standardizer.Std[i]
		if math.IsNaN(mu) || math.IsInf(mu, 0) || !(sd > 0) || math.IsInf(sd, 0) {
			return fmt.Errorf("standardizer metric %d: mean %v, std %v", i, mu, sd)
		}
	}
	for _, s := range []struct {
		name      string
		l         *linear.Model
		rows, col int
	}{{"hidden", m.Hidden, c.Hidden, c.Inputs()}, {"output", m.Output, c.Out, c.Hidden}} {
		if s.l == nil || s.l.W == nil || s.l.B == nil {
			return fmt.Errorf("%s layer missing", s.name)
		}
		if !sameShape(s.l.W.Shape(), s.rows, s.col) || !sameShape(s.l.B.Shape(), s.rows, 1) {
			return fmt.Errorf("%s layer: W %v, B %v, want [%d %d] and [%d 1]",
				s.name, s.l.W.Shape(), s.l.B.Shape(), s.rows, s.col, s.rows)
		}
		for _, p := range []*nn.Param{s.l.W, s.l.B} {
			if _, ok := p.Matrix.(*mat.Dense[elem]); !ok {
				return fmt.Errorf("%s layer: parameters are %T, want float32", s.name, p.Matrix)
			}
			if p.Data().Len() != p.Shape()[0]*p.Shape()[1] {
				return fmt.Errorf("%s layer: %d values for shape %v", s.name, p.Data().Len(), p.Shape())
			}
		}
	}
	return nil
}

func sameShape(got []int, rows, cols int) bool {
	return len(got) == 2 && got[0] == rows && got[1] == cols
}

// Kind is the kind under which an MLP is saved, for model manifests.
const Kind = "encoder.mlp/1"

// Kind names the saved form of an MLP (Save, Load).
func (m *MLP) Kind() string { return Kind }

// Clone returns an independent copy of the encoder (parameters copied
// through the saved form), with its own dropout generator seeded by seed:
// the pipeline fine-tunes such a copy with the policy while the original
// stays frozen for retrieval.
func (m *MLP) Clone(seed uint64) (*MLP, error) {
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		return nil, err
	}
	c, err := Load(&buf)
	if err != nil {
		return nil, err
	}
	c.SetDropoutSeed(seed)
	return c, nil
}

// DifferentiableCopy is Clone as a Differentiable: the copy of the
// retrieval encoder that the pipeline fine-tunes with the policy.
func (m *MLP) DifferentiableCopy(seed uint64) (Differentiable, error) { return m.Clone(seed) }
