package use

import (
	"context"
	"fmt"

	"github.com/pmlm-go/pmlm/encoder"
)

// Texts longer than MaxLen tokens are read in windows of MaxLen tokens
// that start every MaxLen/2 tokens (the last one ends with the text);
// each token takes its states from the window in which it sits most
// centrally, so every token has at least MaxLen/4 tokens of context on
// each side that the text has. Nothing is cut.

// window is one span [start, end) of a long text's tokens.
type window struct{ start, end int }

// windows covers n tokens with windows of at most size tokens.
func windows(n, size int) []window {
	if n <= size {
		return []window{{0, n}}
	}
	stride := size / 2
	var ws []window
	for start := 0; ; start += stride {
		if start+size >= n {
			ws = append(ws, window{n - size, n})
			return ws
		}
		ws = append(ws, window{start, start + size})
	}
}

// owner returns, for each of n tokens, the index of the window it takes
// its states from: the one where it is farthest from both edges (the
// earlier one on a tie).
func owner(ws []window, n int) []int {
	own := make([]int, n)
	for t := range own {
		best := -1
		for i, w := range ws {
			if t < w.start || t >= w.end {
				continue
			}
			margin := min(t-w.start, w.end-1-t)
			if best < 0 || margin > min(t-ws[best].start, ws[best].end-1-t) {
				best = i
			}
		}
		own[t] = best
	}
	return own
}

// Document is a text run through the model.
type Document struct {
	// Tokens are the pieces with their ids and input byte ranges.
	Tokens []Token
	// Layers[l][i] is token i's state after layer l.
	Layers [2][][]float32
	// Vector is the L2-normalized sentence vector. For a text of at most
	// MaxLen tokens it is the graph's own output. For a longer text (the
	// graph itself would drop every token after the 128th) it is the
	// graph's head (mean, tanh layer, L2 normalization) applied to the
	// stitched last-layer states of all tokens.
	Vector []float32
	// Windows is the number of windows the text was read in (1 when it
	// fits the model).
	Windows int
}

// Documents tokenizes the texts and runs them, all windows of all texts
// in one batch.
func (m *Model) Documents(ctx context.Context, texts []string) ([]*Document, error) {
	docs := make([]*Document, len(texts))
	var batch [][]int
	type span struct {
		first int
		ws    []window
	}
	spans := make([]span, len(texts))
	for i, text := range texts {
		toks := m.tok.Tokenize(text)
		ids := make([]int, len(toks))
		for j, tk := range toks {
			ids[j] = tk.ID
		}
		ws := windows(len(ids), m.maxLen)
		spans[i] = span{len(batch), ws}
		for _, w := range ws {
			batch = append(batch, ids[w.start:w.end])
		}
		docs[i] = &Document{Tokens: toks, Windows: len(ws)}
	}
	out, err := m.Run(ctx, batch)
	if err != nil {
		return nil, err
	}
	for i, d := range docs {
		sp := spans[i]
		if len(sp.ws) == 1 {
			o := out[sp.first]
			d.Layers, d.Vector = o.Layers, o.Vector
			continue
		}
		own := owner(sp.ws, len(d.Tokens))
		for l := range d.Layers {
			d.Layers[l] = make([][]float32, len(d.Tokens))
			for t, wi := range own {
				d.Layers[l][t] = out[sp.first+wi].Layers[l][t-sp.ws[wi].start]
			}
		}
		d.Vector = m.sentenceVector(d.Layers[1])
	}
	return docs, nil
}

// TextEncoder is the model as an encoder.TextEncoder: the token states of
// one layer. It is safe for concurrent use.
type TextEncoder struct {
	m     *Model
	layer int
}

// NewTextEncoder returns the encoder of layer 0 or 1's token states.
func NewTextEncoder(m *Model, layer int) (*TextEncoder, error) {
	if layer != 0 && layer != 1 {
		return nil, fmt.Errorf("use: layer %d, the model has layers 0 and 1", layer)
	}
	return &TextEncoder{m: m, layer: layer}, nil
}

// DefaultLayer is the layer whose states DefaultTextEncoder gives: the
// last, the one the sentence vector is pooled from.
const DefaultLayer = 1

// DefaultTextEncoder decodes the embedded model and returns its
// TextEncoder of DefaultLayer.
func DefaultTextEncoder() (*TextEncoder, error) {
	m, err := Default()
	if err != nil {
		return nil, err
	}
	return NewTextEncoder(m, DefaultLayer)
}

// Model returns the model the encoder runs.
func (e *TextEncoder) Model() *Model { return e.m }

// Name is "use-lite/layer-N".
func (e *TextEncoder) Name() string { return fmt.Sprintf("%s/layer-%d", DefaultName, e.layer) }

// Dim is 512.
func (e *TextEncoder) Dim() int { return e.m.width }

// Encode embeds text token by token. Texts longer than the model's 128
// tokens are read in overlapping windows, never truncated.
func (e *TextEncoder) Encode(ctx context.Context, text string) (*encoder.Encoded, error) {
	out, err := e.EncodeBatch(ctx, []string{text})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// EncodeBatch embeds several texts in one forward pass.
func (e *TextEncoder) EncodeBatch(ctx context.Context, texts []string) ([]*encoder.Encoded, error) {
	docs, err := e.m.Documents(ctx, texts)
	if err != nil {
		return nil, err
	}
	out := make([]*encoder.Encoded, len(texts))
	for i, d := range docs {
		enc := &encoder.Encoded{
			Tokens:  make([]string, len(d.Tokens)),
			IDs:     make([]int, len(d.Tokens)),
			Vectors: d.Layers[e.layer],
			Special: make([]bool, len(d.Tokens)),
		}
		for j, tk := range d.Tokens {
			enc.Tokens[j], enc.IDs[j] = tk.Piece, tk.ID
		}
		enc.WordOf, enc.NumWords = wordOf(texts[i], d.Tokens)
		out[i] = enc
	}
	return out, nil
}
