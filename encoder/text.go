// Package encoder turns inputs into vectors. It holds the two interfaces
// and nothing heavy: the patient Encoder of the paper's peer-informed
// personalization (visit matrix → x̂; the paper's MLP on spago is in
// encoder/mlp) and the TextEncoder with word splitting (implemented by
// encoder/bert, BERT-family models through cybertron, and encoder/wordvec,
// the embedded static word vectors).
package encoder

import (
	"context"
	"strings"
)

// TextEncoder embeds text token by token. BERTScore consumes the token
// vectors; the prompt policy consumes word vectors pooled from them (see
// Encoded.WordVectors).
type TextEncoder interface {
	// Name identifies the embedder and layer, for example
	// "bert-base-uncased/layer-9" or "glove-wink-100d". Every score computed
	// from the vectors carries it.
	Name() string
	// Dim is the length of every vector.
	Dim() int
	// Encode embeds text. Texts longer than the model's maximum length are
	// truncated, never rejected.
	Encode(ctx context.Context, text string) (*Encoded, error)
}

// Encoded is the result of TextEncoder.Encode.
type Encoded struct {
	// Tokens are the pieces as the model sees them, special tokens included
	// (for BERT: "[CLS]", word pieces such as "##ing", "[SEP]").
	Tokens []string
	// IDs are the vocabulary ids of Tokens; BERTScore's idf weights are
	// keyed by them. Static embedders use -1 for out-of-vocabulary words.
	IDs []int
	// Vectors holds one vector of length Dim per token.
	Vectors [][]float32
	// Special marks the tokens that carry no content ([CLS], [SEP]);
	// BERTScore gives them weight 0.
	Special []bool
	// WordOf maps each token to the index of the whitespace-separated word
	// of the input (strings.Fields order) it came from, or -1 for special
	// tokens.
	WordOf []int
	// NumWords is len(strings.Fields(text)) of the input.
	NumWords int
}

// WordVectors pools the token vectors into one vector per
// whitespace-separated word of the input: the mean of the word's pieces. A
// word with no token (dropped by truncation) gets a zero vector.
func (e *Encoded) WordVectors() [][]float32 {
	dim := 0
	if len(e.Vectors) > 0 {
		dim = len(e.Vectors[0])
	}
	out := make([][]float32, e.NumWords)
	counts := make([]int, e.NumWords)
	backing := make([]float32, e.NumWords*dim)
	for w := range out {
		out[w] = backing[w*dim : (w+1)*dim : (w+1)*dim]
	}
	for t, w := range e.WordOf {
		if w < 0 || w >= e.NumWords {
			continue
		}
		counts[w]++
		for i, v := range e.Vectors[t] {
			out[w][i] += v
		}
	}
	for w, n := range counts {
		if n > 1 {
			inv := 1 / float32(n)
			for i := range out[w] {
				out[w][i] *= inv
			}
		}
	}
	return out
}

// Words splits a text into the words that WordOf and WordVectors refer to.
func Words(text string) []string { return strings.Fields(text) }

// ContextFree is implemented by text encoders whose vector for a word
// depends on that word alone (static word vectors such as encoder/wordvec,
// unlike BERT): the word vectors of a text with some words removed are the
// text's word vectors with those rows removed. The prompt policy's
// inference then embeds the coarse prompt once instead of every state.
type ContextFree interface {
	TextEncoder
	// ContextFree reports whether the property holds (a wrapper may
	// forward its inner encoder's answer).
	ContextFree() bool
}
