package bert

import (
	"fmt"
	"math"
	"slices"
	"strings"

	cbert "github.com/nlpodyssey/cybertron/pkg/models/bert"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/nlpodyssey/spago/nn/normalization/layernorm"
)

// tensorSource is a checkpoint: named tensors read as row-major float32.
type tensorSource interface {
	names() []string
	shape(name string) ([]int, bool)
	read(name string) ([]float32, error)
	close() error
}

// canonicalName maps the spellings found in HuggingFace checkpoints to one
// key: BertModel saves "embeddings...", the task heads save
// "bert.embeddings...", TF-converted files use LayerNorm gamma/beta.
func canonicalName(name string) string {
	name = strings.TrimPrefix(name, "bert.")
	if strings.Contains(name, "LayerNorm.") {
		name = strings.Replace(name, "LayerNorm.gamma", "LayerNorm.weight", 1)
		name = strings.Replace(name, "LayerNorm.beta", "LayerNorm.bias", 1)
	}
	return name
}

// checkpoint resolves canonical names against a tensorSource.
type checkpoint struct {
	src   tensorSource
	path  string
	byKey map[string]string // canonical -> stored name
}

func newCheckpoint(src tensorSource, path string) (*checkpoint, error) {
	c := &checkpoint{src: src, path: path, byKey: make(map[string]string)}
	names := src.names()
	slices.Sort(names)
	for _, n := range names {
		k := canonicalName(n)
		if prev, dup := c.byKey[k]; dup {
			return nil, fmt.Errorf("%w: %s: tensors %q and %q both map to %q", ErrBadWeights, path, prev, n, k)
		}
		c.byKey[k] = n
	}
	return c, nil
}

// want is one tensor the model needs, with its expected shape.
type want struct {
	key      string
	shape    []int
	optional bool
}

func requiredTensors(cfg Config) []want {
	h, inter := cfg.HiddenSize, cfg.IntermediateSize
	ws := []want{
		{key: "embeddings.word_embeddings.weight", shape: []int{cfg.VocabSize, h}},
		{key: "embeddings.position_embeddings.weight", shape: []int{cfg.MaxPositionEmbeddings, h}},
		{key: "embeddings.token_type_embeddings.weight", shape: []int{cfg.TypeVocabSize, h}},
		{key: "embeddings.LayerNorm.weight", shape: []int{h}},
		{key: "embeddings.LayerNorm.bias", shape: []int{h}},
		// BertForMaskedLM and friends have no pooler; hidden states do not
		// need it.
		{key: "pooler.dense.weight", shape: []int{h, h}, optional: true},
		{key: "pooler.dense.bias", shape: []int{h}, optional: true},
	}
	for i := 0; i < cfg.NumHiddenLayers; i++ {
		p := fmt.Sprintf("encoder.layer.%d.", i)
		ws = append(ws,
			want{key: p + "attention.self.query.weight", shape: []int{h, h}},
			want{key: p + "attention.self.query.bias", shape: []int{h}},
			want{key: p + "attention.self.key.weight", shape: []int{h, h}},
			want{key: p + "attention.self.key.bias", shape: []int{h}},
			want{key: p + "attention.self.value.weight", shape: []int{h, h}},
			want{key: p + "attention.self.value.bias", shape: []int{h}},
			want{key: p + "attention.output.dense.weight", shape: []int{h, h}},
			want{key: p + "attention.output.dense.bias", shape: []int{h}},
			want{key: p + "attention.output.LayerNorm.weight", shape: []int{h}},
			want{key: p + "attention.output.LayerNorm.bias", shape: []int{h}},
			want{key: p + "intermediate.dense.weight", shape: []int{inter, h}},
			want{key: p + "intermediate.dense.bias", shape: []int{inter}},
			want{key: p + "output.dense.weight", shape: []int{h, inter}},
			want{key: p + "output.dense.bias", shape: []int{h}},
			want{key: p + "output.LayerNorm.weight", shape: []int{h}},
			want{key: p + "output.LayerNorm.bias", shape: []int{h}},
		)
	}
	return ws
}

// validate checks, before anything is allocated, that every required
// tensor is present with the shape config.json implies.
func (c *checkpoint) validate(cfg Config) (hasPooler bool, err error) {
	var missing []string
	hasPooler = true
	for _, w := range requiredTensors(cfg) {
		name, ok := c.byKey[w.key]
		if !ok {
			if w.optional {
				hasPooler = false
				continue
			}
			missing = append(missing, w.key)
			continue
		}
		shape, _ := c.src.shape(name)
		if !slices.Equal(shape, w.shape) {
			return false, fmt.Errorf("%w: %s: tensor %q has shape %v, config.json implies %v",
				ErrBadWeights, c.path, name, shape, w.shape)
		}
	}
	if len(missing) > 0 {
		more := ""
		if len(missing) > 5 {
			more = fmt.Sprintf(" and %d more", len(missing)-5)
			missing = missing[:5]
		}
		return false, fmt.Errorf("%w: %s: %s%s", ErrMissingTensor, c.path, strings.Join(missing, ", "), more)
	}
	return hasPooler, nil
}

func (c *checkpoint) read(key string) ([]float32, error) {
	name, ok := c.byKey[key]
	if !ok {
		return nil, fmt.Errorf("%w: %s: %q", ErrMissingTensor, c.path, key)
	}
	v, err := c.src.read(name)
	if err != nil {
		return nil, wrapf(err, "%s", c.path)
	}
	// A NaN or an infinity would spread through every score computed with
	// the model (BERTScore P=R=F=NaN) instead of failing.
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, fmt.Errorf("%w: %s: tensor %q holds %v at index %d", ErrBadWeights, c.path, name, x, i)
		}
	}
	return v, nil
}

// newCybertron allocates a cybertron BERT for cfg with HuggingFace's
// numerics: the config's LayerNorm epsilon everywhere (cybertron
// hard-codes 1e-5) and the configured activation (cybertron's parser
// panics on "gelu_new" and maps "gelu" to the tanh approximation).
// Weights are left zero.
func newCybertron(cfg Config) (*cbert.Model, error) {
	act, err := activationFor(cfg.HiddenAct)
	if err != nil {
		return nil, err
	}
	cc := cbert.Config{
		ModelType: "bert", Architectures: []string{"BertModel"},
		HiddenAct:  "gelu", // placeholder that cybertron can parse; replaced below
		HiddenSize: cfg.HiddenSize, EmbeddingsSize: cfg.HiddenSize,
		IntermediateSize: cfg.IntermediateSize, NumHiddenLayers: cfg.NumHiddenLayers,
		NumAttentionHeads: cfg.NumAttentionHeads, MaxPositionEmbeddings: cfg.MaxPositionEmbeddings,
		TypeVocabSize: cfg.TypeVocabSize, VocabSize: cfg.VocabSize,
		LayerNormEps: cfg.LayerNormEps, PositionEmbeddingType: "absolute",
	}
	m := cbert.New[float32](cc)
	setEps := func(ln *layernorm.Model) { ln.Eps = nn.Buf(mat.Scalar(float32(cfg.LayerNormEps))) }
	setEps(m.Embeddings.Norm)
	for _, l := range m.Encoder.Layers {
		setEps(l.SelfAttention.Norm)
		setEps(l.FF.Norm)
		l.FF.MLP[1] = act
	}
	return m, nil
}

// fill copies the checkpoint into m, splitting Q/K/V into cybertron's
// per-head linear layers. Every vocabulary row is copied, the last one
// included (cybertron's converter drops it).
func (c *checkpoint) fill(m *cbert.Model, cfg Config, hasPooler bool) error {
	h := cfg.HiddenSize
	table := func(key string, weights []*nn.Param) error {
		v, err := c.read(key)
		if err != nil {
			return err
		}
		for i, w := range weights {
			mat.SetData[float32](w.Value(), v[i*h:(i+1)*h])
		}
		return nil
	}
	vec := func(key string, dst mat.Tensor) error {
		v, err := c.read(key)
		if err != nil {
			return err
		}
		mat.SetData[float32](dst, v)
		return nil
	}
	lin := func(prefix string, l *linear.Model) error {
		if err := vec(prefix+".weight", l.W.Value()); err != nil {
			return err
		}
		return vec(prefix+".bias", l.B.Value())
	}
	norm := func(prefix string, l *layernorm.Model) error {
		if err := vec(prefix+".weight", l.W.Value()); err != nil {
			return err
		}
		return vec(prefix+".bias", l.B.Value())
	}
	e := m.Embeddings
	if err := table("embeddings.word_embeddings.weight", e.Tokens.Weights); err != nil {
		return err
	}
	if err := table("embeddings.position_embeddings.weight", e.Positions.Weights); err != nil {
		return err
	}
	if err := table("embeddings.token_type_embeddings.weight", e.TokenTypes.Weights); err != nil {
		return err
	}
	if err := norm("embeddings.LayerNorm", e.Norm); err != nil {
		return err
	}
	dk := h / cfg.NumAttentionHeads
	for i, l := range m.Encoder.Layers {
		p := fmt.Sprintf("encoder.layer.%d.", i)
		for _, proj := range []string{"query", "key", "value"} {
			w, err := c.read(p + "attention.self." + proj + ".weight")
			if err != nil {
				return err
			}
			b, err := c.read(p + "attention.self." + proj + ".bias")
			if err != nil {
				return err
			}
			// HF's [h, h] projection is [out, in]; head j owns output rows
			// j*dk .. (j+1)*dk, which is cybertron's per-head [dk, h] W.
			for j, head := range l.SelfAttention.Attention.Heads {
				var dst *linear.Model
				switch proj {
				case "query":
					dst = head.Query
				case "key":
					dst = head.Key
				default:
					dst = head.Value
				}
				mat.SetData[float32](dst.W.Value(), w[j*dk*h:(j+1)*dk*h])
				mat.SetData[float32](dst.B.Value(), b[j*dk:(j+1)*dk])
			}
		}
		steps := []error{
			lin(p+"attention.output.dense", l.SelfAttention.Attention.OutputMerge),
			norm(p+"attention.output.LayerNorm", l.SelfAttention.Norm),
			lin(p+"intermediate.dense", l.FF.MLP[0].(*linear.Model)),
			lin(p+"output.dense", l.FF.MLP[2].(*linear.Model)),
			norm(p+"output.LayerNorm", l.FF.Norm),
		}
		for _, err := range steps {
			if err != nil {
				return err
			}
		}
	}
	if hasPooler {
		if err := lin("pooler.dense", m.Pooler.Model[0].(*linear.Model)); err != nil {
			return err
		}
	}
	return nil
}
