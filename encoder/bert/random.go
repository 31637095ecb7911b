package bert

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// NewRandom builds a model with HuggingFace's initialisation (weights
// normal with standard deviation 0.02, biases zero, LayerNorm scale one)
// drawn from rng, for tests and benchmarks that need a BERT of a given
// shape without a checkpoint. vocab must have cfg.VocabSize entries,
// including the tokenizer's special tokens.
func NewRandom(cfg Config, tc TokenizerConfig, vocab []string, rng *rand.Rand, opts Options) (*Model, error) {
	if len(vocab) != cfg.VocabSize {
		return nil, fmt.Errorf("%w: %d entries, vocab_size is %d", ErrBadVocab, len(vocab), cfg.VocabSize)
	}
	if err := cfg.validate(); err != nil {
		return nil, wrapf(err, "")
	}
	src := &randomSource{rng: rng, shapes: make(map[string][]int)}
	for _, w := range requiredTensors(cfg) {
		src.shapes[w.key] = w.shape
	}
	name := opts.Name
	if name == "" {
		name = "random-bert"
	}
	return newModel(cfg, tc, vocab, src, "random weights", name, opts.Layer, opts.Forward)
}

type randomSource struct {
	rng    *rand.Rand
	shapes map[string][]int
}

func (r *randomSource) names() []string {
	out := make([]string, 0, len(r.shapes))
	for k := range r.shapes {
		out = append(out, k)
	}
	return out
}

func (r *randomSource) shape(name string) ([]int, bool) {
	s, ok := r.shapes[name]
	return s, ok
}

func (r *randomSource) read(name string) ([]float32, error) {
	shape, ok := r.shapes[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrMissingTensor, name)
	}
	n, _ := shapeNumel(shape)
	out := make([]float32, n)
	switch {
	case strings.HasSuffix(name, "LayerNorm.weight"):
		for i := range out {
			out[i] = 1
		}
	case strings.HasSuffix(name, ".bias"):
	default:
		for i := range out {
			out[i] = float32(0.02 * r.rng.NormFloat64())
		}
	}
	return out, nil
}

func (r *randomSource) close() error { return nil }

// BaseConfig is bert-base-uncased's config.json: 12 layers, hidden size
// 768, 12 heads, intermediate size 3072, vocabulary 30522, exact GELU.
func BaseConfig() Config {
	return Config{
		ModelType: "bert", HiddenSize: 768, NumHiddenLayers: 12, NumAttentionHeads: 12,
		IntermediateSize: 3072, HiddenAct: "gelu", MaxPositionEmbeddings: 512, TypeVocabSize: 2,
		VocabSize: 30522, LayerNormEps: 1e-12, PositionEmbeddingType: "absolute",
	}
}
