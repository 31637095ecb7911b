package wordvec

import (
	"context"
	"strings"
	"unicode"

	"github.com/pmlm-go/pmlm/encoder"
)

var _ encoder.TextEncoder = (*Vectors)(nil)

// Piece is one token of a text as Vectors sees it.
type Piece struct {
	// Text is the lowercased token.
	Text string
	// Word is the index of the whitespace-separated word (strings.Fields
	// order) the token came from.
	Word int
}

// Tokenize splits text the way Vectors.Encode does, like a BERT basic
// tokenizer without accent stripping: whitespace words, lowercased, then
// split into runs of letters, digits and marks, with every other character
// (punctuation, symbols) a token of its own; control characters are
// dropped. "High-dose," gives "high", "-", "dose", ",".
func Tokenize(text string) []Piece {
	var out []Piece
	for w, field := range strings.Fields(text) {
		for _, p := range splitWord(strings.ToLower(field)) {
			out = append(out, Piece{Text: p, Word: w})
		}
	}
	return out
}

func splitWord(word string) []string {
	var out []string
	start := -1
	for i, r := range word {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			if start < 0 {
				start = i
			}
			continue
		case start >= 0:
			out = append(out, word[start:i])
			start = -1
		}
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			continue
		}
		out = append(out, string(r))
	}
	if start >= 0 {
		out = append(out, word[start:])
	}
	return out
}

// Encode embeds text token by token (see Tokenize). A token's vector is:
// the vector of its whole whitespace word when that word, lowercased, is in
// the vocabulary (so the pieces of "high-dose" all carry the vector of
// "high-dose", and pooling them gives it back); otherwise the token's own
// vector; otherwise, out of vocabulary, OOVVector(token) with id -1. There
// are no special tokens and no length limit.
func (v *Vectors) Encode(ctx context.Context, text string) (*encoder.Encoded, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fields := strings.Fields(text)
	e := &encoder.Encoded{NumWords: len(fields)}
	for w, field := range fields {
		lw := strings.ToLower(field)
		pieces := splitWord(lw)
		wholeID, whole := -1, false
		if len(pieces) > 1 {
			wholeID, whole = v.Lookup(lw)
		}
		for _, p := range pieces {
			id, ok := wholeID, whole
			if !ok {
				id, ok = v.Lookup(p)
			}
			var vec []float32
			if ok {
				vec = append([]float32(nil), v.Vector(id)...)
			} else {
				id, vec = -1, v.OOVVector(p)
			}
			e.Tokens = append(e.Tokens, p)
			e.IDs = append(e.IDs, id)
			e.Vectors = append(e.Vectors, vec)
			e.Special = append(e.Special, false)
			e.WordOf = append(e.WordOf, w)
		}
	}
	return e, nil
}

var _ encoder.ContextFree = (*Vectors)(nil)

// ContextFree reports true: a word's vector depends on the word alone
// (Encode looks each whitespace word up by itself).
func (v *Vectors) ContextFree() bool { return true }
