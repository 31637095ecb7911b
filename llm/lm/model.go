package lm

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
)

// Model is a trained (or freshly initialized) language model with its
// vocabulary. Generation is safe for concurrent use; training changes the
// weights and must not overlap with anything else.
type Model struct {
	cfg    Config
	vocab  *Vocabulary
	lay    layout
	params []float32
	info   Info // how it was trained (SetInfo, Load)

	packOnce sync.Once
	packed   *packedModel // the weights packed for inference
	decoders sync.Pool    // of *decoder, for Generate
}

// ErrModel is returned for a model that cannot be built or used.
var ErrModel = errors.New("lm: invalid model")

// New returns a model of the given shape over vocab, initialized from
// seed as GPT-2 is: normal weights with standard deviation 0.02, the
// projections into the residual stream scaled down by √(2·Layers), zero
// biases, unit layer-norm gains. cfg.Vocab is set from vocab.
func New(cfg Config, vocab *Vocabulary, seed uint64) (*Model, error) {
	if vocab == nil {
		return nil, fmt.Errorf("%w: nil vocabulary", ErrModel)
	}
	cfg.Vocab = vocab.Size()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Model{cfg: cfg, vocab: vocab, lay: cfg.layout()}
	m.params = make([]float32, m.lay.size)
	rng := rand.New(rand.NewPCG(seed, 0x6c6d2d696e6974)) // "lm-init"
	normal := func(s span, std float64) {
		for i := range s.of(m.params) {
			m.params[s.off+i] = float32(rng.NormFloat64() * std)
		}
	}
	ones := func(s span) {
		for i := range s.of(m.params) {
			m.params[s.off+i] = 1
		}
	}
	normal(m.lay.wte, 0.02)
	residual := 0.02 / math.Sqrt(2*float64(cfg.Layers))
	for _, ly := range m.lay.layers {
		ones(ly.ln1G)
		ones(ly.ln2G)
		normal(ly.wqkv, 0.02)
		normal(ly.wo, residual)
		normal(ly.wfc, 0.02)
		normal(ly.wproj, residual)
	}
	ones(m.lay.lnfG)
	return m, nil
}

// Info returns how the model was trained, as recorded by SetInfo, Save,
// Load or ReadModel (zero for a model fresh from New).
func (m *Model) Info() Info { return m.info }

// SetInfo records how the model was trained; Save and WriteModel store it.
// Call it before the model is shared between goroutines.
func (m *Model) SetInfo(info Info) { m.info = info }

// Config returns the model's shape.
func (m *Model) Config() Config { return m.cfg }

// Vocabulary returns the model's vocabulary.
func (m *Model) Vocabulary() *Vocabulary { return m.vocab }

// NumParams is the number of weights.
func (m *Model) NumParams() int { return len(m.params) }

// inference returns the weights packed for the forward pass, packing them
// on first use.
func (m *Model) inference() *packedModel {
	m.packOnce.Do(func() {
		m.packed = new(packedModel)
		m.packed.pack(m.cfg, m.lay, m.params, false)
	})
	return m.packed
}

// promptIDs encodes a prompt as the model reads it: BosID, the prompt's
// tokens, SepID. A prompt longer than MaxPrompt tokens keeps its first
// quarter and its last three quarters of MaxPrompt, so that both the task
// and the end of the patient description survive.
func (m *Model) promptIDs(prompt string) []int {
	ids := m.vocab.Encode(prompt)
	if len(ids) > m.cfg.MaxPrompt {
		head := m.cfg.MaxPrompt / 4
		tail := m.cfg.MaxPrompt - head
		ids = append(ids[:head:head], ids[len(ids)-tail:]...)
	}
	out := make([]int, 0, len(ids)+2)
	out = append(out, BosID)
	out = append(out, ids...)
	return append(out, SepID)
}

// maxReply is the most reply tokens (EosID included) after a prompt of n
// ids (BosID and SepID included).
func (m *Model) maxReply(n int) int { return m.cfg.Context + 1 - n }

// example turns a prompt and a reply into a training sequence, cutting
// the reply to fit the context (a cut reply has no EosID).
func (m *Model) example(prompt, reply string) sequence {
	ids := m.promptIDs(prompt)
	start := len(ids) - 1
	r := append(m.vocab.Encode(reply), EosID)
	if room := m.maxReply(len(ids)); len(r) > room {
		r = r[:room]
	}
	return sequence{ids: append(ids, r...), start: start}
}
