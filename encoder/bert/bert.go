// Package bert loads BERT-family checkpoints in HuggingFace layout
// (config.json, vocab.txt, tokenizer_config.json and model.safetensors or
// pytorch_model.bin) into a cybertron BERT, offline, with HuggingFace's
// numerics (exact erf GELU, the configured LayerNorm epsilon) and
// HuggingFace's BertTokenizer, and exposes the per-token hidden states of
// any layer as an encoder.TextEncoder.
//
// The forward pass runs by default on the packed, multi-core kernels of
// internal/kernels (AVX-512 or AVX2/FMA where the processor has them),
// several sentences per call if asked (HiddenStatesBatch, EncodeBatch); it
// equals cybertron's own forward on the same weights within 1e-5 and is
// 6–14× faster on a bert-base (BENCHMARKS.md). WithForward(ForwardCybertron)
// selects cybertron's forward.
//
// Nothing here touches the network: there is no download path.
package bert

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	cbert "github.com/nlpodyssey/cybertron/pkg/models/bert"
	"github.com/nlpodyssey/cybertron/pkg/vocabulary"
	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"

	"github.com/pmlm-go/pmlm/encoder"
)

// Sentinel errors of package bert; test with errors.Is. Every error of
// the package is wrapped with the "bert: " prefix, file names and details.
var (
	// ErrMissingFile is returned when a required file of the model directory is absent.
	ErrMissingFile = errors.New("bert: missing model file")
	// ErrBadConfig is returned when config.json has an invalid value.
	ErrBadConfig = errors.New("bert: invalid config")
	// ErrUnsupported is returned for a valid setting this package does not implement.
	ErrUnsupported = errors.New("bert: unsupported")
	// ErrBadVocab is returned when vocab.txt is empty, lacks a special token or disagrees
	// with config.json.
	ErrBadVocab = errors.New("bert: invalid vocabulary")
	// ErrBadWeights is returned when the weights file is malformed or disagrees with
	// config.json.
	ErrBadWeights = errors.New("bert: invalid weights")
	// ErrMissingTensor is returned when the weights file lacks a tensor the model needs.
	ErrMissingTensor = errors.New("bert: missing tensor")
	// ErrBadLayer is returned for a layer outside 0..NumLayers.
	ErrBadLayer = errors.New("bert: layer out of range")
)

// The files of a model directory.
const (
	ConfigFile          = "config.json"
	VocabFile           = "vocab.txt"
	TokenizerConfigFile = "tokenizer_config.json"
	SafetensorsFile     = "model.safetensors"
	PytorchFile         = "pytorch_model.bin"
)

// Options configures Load.
type Options struct {
	// Layer selects the hidden states Encode returns, numbered as
	// HuggingFace's hidden_states: 0 is the embedding output, k the output
	// of encoder layer k. nil means the last layer. Use LayerOf to set it.
	Layer *int
	// Name replaces the model name in Name() (default: the directory's
	// base name).
	Name string
	// Forward selects the forward implementation (default ForwardFast).
	Forward Forward
}

// LayerOf returns a pointer to k, for Options.Layer.
func LayerOf(k int) *int { return &k }

// Model is a BERT encoder with its tokenizer. It implements
// encoder.TextEncoder for the layer chosen at Load; HiddenStates serves any
// layer. It is immutable after Load and safe for concurrent use.
type Model struct {
	name      string
	cfg       Config
	tok       *Tokenizer
	cb        *cbert.Model
	layer     int
	hasPooler bool
	forward   Forward
	fast      *fastModel
}

var _ encoder.TextEncoder = (*Model)(nil)

// Load reads a model directory in HuggingFace layout. config.json and
// vocab.txt are required; tokenizer_config.json is optional (absent, the
// BertTokenizer defaults apply, as in HuggingFace: lowercase, strip
// accents). Weights come from
// model.safetensors (F32, F16, BF16 or F64) when present, else from
// pytorch_model.bin (torch zip format, float tensors of any precision).
// Every size is checked against config.json before anything is allocated.
func Load(ctx context.Context, dir string, opts Options) (*Model, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, f := range []string{ConfigFile, VocabFile} {
		if err := requireFile(dir, f); err != nil {
			return nil, err
		}
	}
	cfg, err := readConfig(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, err
	}
	// Without tokenizer_config.json HuggingFace uses BertTokenizer's
	// defaults (lowercasing included); so does this package.
	tc := DefaultTokenizerConfig()
	if err := requireFile(dir, TokenizerConfigFile); err == nil {
		if tc, err = readTokenizerConfig(filepath.Join(dir, TokenizerConfigFile)); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, ErrMissingFile) {
		return nil, err
	}
	vocabPath := filepath.Join(dir, VocabFile)
	vocab, err := readVocab(vocabPath)
	if err != nil {
		return nil, err
	}
	if len(vocab) != cfg.VocabSize {
		return nil, fmt.Errorf("%w: %s: %d entries, config.json vocab_size is %d",
			ErrBadVocab, vocabPath, len(vocab), cfg.VocabSize)
	}
	src, path, err := openWeights(dir)
	if err != nil {
		return nil, err
	}
	defer src.close()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	name := opts.Name
	if name == "" {
		name = filepath.Base(filepath.Clean(dir))
	}
	return newModel(cfg, tc, vocab, src, path, name, opts.Layer, opts.Forward)
}

func requireFile(dir, name string) error {
	p := filepath.Join(dir, name)
	info, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w: %s", ErrMissingFile, p)
		}
		return wrapf(err, "")
	}
	if info.IsDir() {
		return fmt.Errorf("%w: %s: is a directory", ErrMissingFile, p)
	}
	return nil
}

func openWeights(dir string) (tensorSource, string, error) {
	st := filepath.Join(dir, SafetensorsFile)
	if _, err := os.Stat(st); err == nil {
		s, err := openSafetensors(st)
		return s, st, err
	}
	pt := filepath.Join(dir, PytorchFile)
	if _, err := os.Stat(pt); err == nil {
		t, err := openTorch(pt)
		return t, pt, err
	}
	for _, idx := range []string{SafetensorsFile + ".index.json", PytorchFile + ".index.json"} {
		if _, err := os.Stat(filepath.Join(dir, idx)); err == nil {
			return nil, "", fmt.Errorf("%w: %s: sharded checkpoint (%s)", ErrUnsupported, dir, idx)
		}
	}
	return nil, "", fmt.Errorf("%w: %s: neither %s nor %s", ErrMissingFile, dir, SafetensorsFile, PytorchFile)
}

func newModel(cfg Config, tc TokenizerConfig, vocab []string, src tensorSource, path, name string, layer *int, forward Forward) (*Model, error) {
	if forward != ForwardFast && forward != ForwardCybertron {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, forward)
	}
	if err := cfg.validate(); err != nil {
		return nil, wrapf(err, "")
	}
	k := cfg.NumHiddenLayers
	if layer != nil {
		k = *layer
	}
	if k < 0 || k > cfg.NumHiddenLayers {
		return nil, fmt.Errorf("%w: layer %d, model has %d", ErrBadLayer, k, cfg.NumHiddenLayers)
	}
	maxLen := cfg.MaxPositionEmbeddings
	if tc.ModelMaxLength > 0 && tc.ModelMaxLength < maxLen {
		maxLen = tc.ModelMaxLength
	}
	tok, err := NewTokenizer(vocab, tc, maxLen)
	if err != nil {
		return nil, err
	}
	ck, err := newCheckpoint(src, path)
	if err != nil {
		return nil, err
	}
	hasPooler, err := ck.validate(cfg)
	if err != nil {
		return nil, err
	}
	cb, err := newCybertron(cfg)
	if err != nil {
		return nil, wrapf(err, "")
	}
	if err := ck.fill(cb, cfg, hasPooler); err != nil {
		return nil, err
	}
	// For callers of cybertron's own EncodeTokens. Exact only for
	// vocabularies without repeated lines (cybertron dedupes); this
	// package's methods map tokens with the HuggingFace-exact table.
	cb.Embeddings.Vocab = vocabulary.New(vocab)
	fast, err := newFastModel(cfg)
	if err != nil {
		return nil, wrapf(err, "")
	}
	return &Model{name: name, cfg: cfg, tok: tok, cb: cb, layer: k, hasPooler: hasPooler,
		forward: forward, fast: fast}, nil
}

// Name is "<model>/layer-<k>".
func (m *Model) Name() string { return fmt.Sprintf("%s/layer-%d", m.name, m.layer) }

// Dim is the hidden size.
func (m *Model) Dim() int { return m.cfg.HiddenSize }

// Layer is the layer Encode returns.
func (m *Model) Layer() int { return m.layer }

// NumLayers is the number of encoder layers; valid layers are 0..NumLayers.
func (m *Model) NumLayers() int { return m.cfg.NumHiddenLayers }

// Config returns the parsed config.json.
func (m *Model) Config() Config { return m.cfg }

// Tokenizer returns the model's tokenizer.
func (m *Model) Tokenizer() *Tokenizer { return m.tok }

// HasPooler reports whether the checkpoint had pooler weights (the
// cybertron Pooler is zero otherwise).
func (m *Model) HasPooler() bool { return m.hasPooler }

// Cybertron returns the underlying cybertron model, already patched for
// HuggingFace numerics. Do not modify it while Encode calls are running.
// The fast forward copies each layer's weights on that layer's first use,
// so changes made after a forward pass are seen only by ForwardCybertron.
func (m *Model) Cybertron() *cbert.Model { return m.cb }

// Encode embeds text with the layer chosen at Load.
func (m *Model) Encode(ctx context.Context, text string) (*encoder.Encoded, error) {
	return m.HiddenStates(ctx, text, m.layer)
}

// HiddenStates tokenizes text (truncating it to the maximum length) and
// returns the hidden states of the given layer, 0..NumLayers, computing
// only the layers up to it.
func (m *Model) HiddenStates(ctx context.Context, text string, layer int) (*encoder.Encoded, error) {
	out, err := m.HiddenStatesTexts(ctx, []string{text}, layer)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// EncodeBatch embeds several texts with the layer chosen at Load, in one
// batched forward pass (see HiddenStatesBatch).
func (m *Model) EncodeBatch(ctx context.Context, texts []string) ([]*encoder.Encoded, error) {
	return m.HiddenStatesTexts(ctx, texts, m.layer)
}

// HiddenStatesTexts is HiddenStates for several texts, run as one batch.
func (m *Model) HiddenStatesTexts(ctx context.Context, texts []string, layer int) ([]*encoder.Encoded, error) {
	toks := make([]Tokenization, len(texts))
	ids := make([][]int, len(texts))
	for i, text := range texts {
		toks[i] = m.tok.Tokenize(text)
		ids[i] = toks[i].IDs
	}
	vecs, err := m.HiddenStatesBatch(ctx, ids, layer)
	if err != nil {
		return nil, err
	}
	out := make([]*encoder.Encoded, len(texts))
	for i, t := range toks {
		special := make([]bool, len(t.IDs))
		for j, id := range t.IDs {
			special[j] = id == m.tok.clsID || id == m.tok.sepID
		}
		out[i] = &encoder.Encoded{
			Tokens: t.Tokens, IDs: t.IDs, Vectors: vecs[i], Special: special,
			WordOf: t.WordOf, NumWords: t.NumWords,
		}
	}
	return out, nil
}

// HiddenStatesIDs runs the model on token ids (special tokens included,
// as the tokenizer produces them) up to the given layer. All tokens are of
// segment 0, as for a single sentence. This is the one place the forward
// pass runs: by default through the fast kernels, or through
// cybertron/spago for a model made WithForward(ForwardCybertron).
func (m *Model) HiddenStatesIDs(ctx context.Context, ids []int, layer int) ([][]float32, error) {
	out, err := m.HiddenStatesBatch(ctx, [][]int{ids}, layer)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// HiddenStatesBatch is HiddenStatesIDs for several sentences at once
// (each its own segment-0 sequence, attending only to itself). The fast
// path runs every projection as one product over all tokens of the batch,
// which uses the cores and caches better than one sentence at a time.
func (m *Model) HiddenStatesBatch(ctx context.Context, batch [][]int, layer int) ([][][]float32, error) {
	if layer < 0 || layer > m.cfg.NumHiddenLayers {
		return nil, fmt.Errorf("%w: layer %d, model has %d", ErrBadLayer, layer, m.cfg.NumHiddenLayers)
	}
	for s, ids := range batch {
		if len(ids) == 0 || len(ids) > m.cfg.MaxPositionEmbeddings {
			return nil, fmt.Errorf("bert: sentence %d: %d tokens, want 1..%d", s, len(ids), m.cfg.MaxPositionEmbeddings)
		}
		for i, id := range ids {
			if id < 0 || id >= m.cfg.VocabSize {
				return nil, fmt.Errorf("bert: sentence %d: token %d has id %d outside the vocabulary of %d", s, i, id, m.cfg.VocabSize)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(batch) == 0 {
		return [][][]float32{}, nil
	}
	switch m.forward {
	case ForwardFast:
		return m.forwardFast(ctx, batch, layer)
	case ForwardCybertron:
	default:
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, m.forward)
	}
	out := make([][][]float32, len(batch))
	for s, ids := range batch {
		v, err := m.forwardCybertron(ctx, ids, layer)
		if err != nil {
			return nil, err
		}
		out[s] = v
	}
	return out, nil
}

// forwardCybertron is the reference forward through the cybertron graph.
func (m *Model) forwardCybertron(ctx context.Context, ids []int, layer int) ([][]float32, error) {
	h, err := m.embed(ids)
	if err != nil {
		return nil, err
	}
	for i := 0; i < layer; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h = m.cb.Encoder.Layers[i].Forward(h...)
	}
	dim := m.cfg.HiddenSize
	backing := make([]float32, len(h)*dim)
	out := make([][]float32, len(h))
	for i, x := range h {
		v := backing[i*dim : (i+1)*dim : (i+1)*dim]
		copy(v, x.Value().Data().F32())
		out[i] = v
	}
	return out, nil
}

// embed is cybertron's Embeddings.EncodeTokens keyed by id instead of by
// token string (so repeated vocabulary lines resolve as in HuggingFace),
// with every token in segment 0.
func (m *Model) embed(ids []int) ([]mat.Tensor, error) {
	e := m.cb.Embeddings
	words, err := e.Tokens.Encode(ids)
	if err != nil {
		return nil, wrapf(err, "word embeddings")
	}
	positions := make([]int, len(ids))
	for i := range positions {
		positions[i] = i
	}
	pos, err := e.Positions.Encode(positions)
	if err != nil {
		return nil, wrapf(err, "position embeddings")
	}
	segment, err := e.TokenTypes.Embedding(0)
	if err != nil {
		return nil, wrapf(err, "token type embeddings")
	}
	xs := make([]mat.Tensor, len(ids))
	for i := range xs {
		// HF's order: (word + token type) + position.
		xs[i] = ag.Add(ag.Add(words[i], segment), pos[i])
	}
	return e.Norm.Forward(xs...), nil
}

// wrapf adds the package prefix and a context (format and args) to err. An
// error that already starts with "bert: " (a sentinel's text) keeps its
// start and gets the context after it, so that no message repeats the
// prefix.
func wrapf(err error, format string, args ...any) error {
	where := fmt.Sprintf(format, args...)
	switch {
	case !strings.HasPrefix(err.Error(), "bert: "):
		if where == "" {
			return fmt.Errorf("bert: %w", err)
		}
		return fmt.Errorf("bert: %s: %w", where, err)
	case where == "":
		return err
	}
	return fmt.Errorf("%w (%s)", err, where)
}
