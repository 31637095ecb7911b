package lm

import (
	"errors"
	"fmt"
	"math"
)

// Config is the shape of a model: a decoder-only transformer with pre-layer
// normalization (as GPT-2), positions given by linear attention biases
// (ALiBi, Press et al. 2022) rather than learned embeddings, and the output
// layer tied to the token embeddings.
type Config struct {
	// Vocab is the number of token ids (set from the Vocabulary).
	Vocab int `json:"vocab"`
	// Dim is the width of the residual stream.
	Dim int `json:"dim"`
	// Heads is the number of attention heads; it divides Dim.
	Heads int `json:"heads"`
	// Layers is the number of transformer blocks.
	Layers int `json:"layers"`
	// Hidden is the width of each block's feed-forward layer.
	Hidden int `json:"hidden"`
	// Context is the longest sequence (prompt, separator and reply) the
	// model reads.
	Context int `json:"context"`
	// MaxPrompt is the most prompt tokens kept; a longer prompt keeps its
	// first and last tokens (the middle is dropped) so the reply always
	// has Context − MaxPrompt − 2 positions.
	MaxPrompt int `json:"max_prompt"`
}

// DefaultConfig is the general responder's shape: 2 blocks of width 128,
// about 0.4 M weights besides the embeddings. It trains on the default
// synthetic cohort within minutes on two cores and answers in tens of
// milliseconds (BENCHMARKS.md).
func DefaultConfig() Config {
	return Config{Dim: 128, Heads: 4, Layers: 2, Hidden: 512, Context: 512, MaxPrompt: 192}
}

// ErrConfig is returned for a Config that describes no valid model.
var ErrConfig = errors.New("lm: invalid configuration")

// Validate checks that the shape is usable.
func (c Config) Validate() error {
	switch {
	case c.Vocab <= numSpecial:
		return fmt.Errorf("%w: vocab %d (want more than %d)", ErrConfig, c.Vocab, numSpecial)
	case c.Dim <= 0 || c.Heads <= 0 || c.Dim%c.Heads != 0:
		return fmt.Errorf("%w: dim %d is not a positive multiple of heads %d", ErrConfig, c.Dim, c.Heads)
	case c.Layers <= 0 || c.Hidden <= 0:
		return fmt.Errorf("%w: layers %d and hidden %d must be positive", ErrConfig, c.Layers, c.Hidden)
	case c.MaxPrompt <= 0 || c.Context < c.MaxPrompt+8:
		return fmt.Errorf("%w: context %d must exceed max prompt %d by at least 8", ErrConfig, c.Context, c.MaxPrompt)
	case c.Dim > 1<<14 || c.Hidden > 1<<16 || c.Layers > 64 || c.Context > 1<<14 || c.Vocab > 1<<20:
		return fmt.Errorf("%w: dim %d, hidden %d, layers %d, context %d, vocab %d: too large", ErrConfig,
			c.Dim, c.Hidden, c.Layers, c.Context, c.Vocab)
	}
	return nil
}

// layout is where each tensor lives in the flat parameter vector.
type layout struct {
	wte        span // Vocab×Dim
	layers     []layerLayout
	lnfG, lnfB span
	size       int
}

type layerLayout struct {
	ln1G, ln1B   span // Dim
	wqkv, bqkv   span // 3Dim×Dim, 3Dim
	wo, bo       span // Dim×Dim, Dim
	ln2G, ln2B   span // Dim
	wfc, bfc     span // Hidden×Dim, Hidden
	wproj, bproj span // Dim×Hidden, Dim
}

// span is a tensor's offset and length in the flat vector.
type span struct{ off, n int }

func (s span) of(v []float32) []float32 { return v[s.off : s.off+s.n : s.off+s.n] }

func (c Config) layout() layout {
	var l layout
	next := func(n int) span {
		s := span{l.size, n}
		l.size += n
		return s
	}
	d, h := c.Dim, c.Hidden
	l.wte = next(c.Vocab * d)
	l.layers = make([]layerLayout, c.Layers)
	for i := range l.layers {
		ly := &l.layers[i]
		ly.ln1G, ly.ln1B = next(d), next(d)
		ly.wqkv, ly.bqkv = next(3*d*d), next(3*d)
		ly.wo, ly.bo = next(d*d), next(d)
		ly.ln2G, ly.ln2B = next(d), next(d)
		ly.wfc, ly.bfc = next(h*d), next(h)
		ly.wproj, ly.bproj = next(d*h), next(d)
	}
	l.lnfG, l.lnfB = next(d), next(d)
	return l
}

// alibiSlope is head h's attention penalty per position of distance: the
// geometric sequence 2^(−8(h+1)/heads) of the ALiBi paper. Position
// enters only as the distance between query and key, so a reply is
// written the same way whether it starts after a short or a long prompt;
// learned absolute positions were measured to fail there (replies
// starting after a 150-token prompt came out as garbage when training
// inputs were short).
func alibiSlope(h, heads int) float32 {
	return float32(math.Exp2(-8 * float64(h+1) / float64(heads)))
}

// NumParams is the number of weights of a model of this shape.
func (c Config) NumParams() int { return c.layout().size }
