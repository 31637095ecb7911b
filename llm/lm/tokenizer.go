package lm

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Special token ids. Every vocabulary starts with them, in this order.
const (
	PadID = iota // never predicted; fills nothing, reserved
	UnkID        // a character the vocabulary has never seen
	BosID        // starts every sequence
	SepID        // ends the prompt: the reply follows
	EosID        // ends the reply
	numSpecial
)

var specialPieces = [numSpecial]string{"<pad>", "<unk>", "<bos>", "<sep>", "<eos>"}

// space marks a piece that is preceded by whitespace. Whitespace is not a
// piece of its own: every run of it is one space before the next piece, so
// a decoded text has single spaces (prompts are normalized that way; the
// doctors' replies are written that way).
const space = " "

// Vocabulary maps text pieces to token ids and back. A piece is a run of
// letters, a single digit, or a single other character, each with or
// without a preceding space. Words that are frequent in the training texts
// are pieces of their own; every other word is spelled with its
// characters, so any text can be encoded (characters never seen become
// UnkID). Digits are always single pieces, so the model can write any
// number. A Vocabulary is immutable and safe for concurrent use.
type Vocabulary struct {
	pieces []string
	ids    map[string]int
}

// ErrVocabulary is returned when a vocabulary cannot be built or read.
var ErrVocabulary = errors.New("lm: invalid vocabulary")

// NewVocabulary builds a vocabulary from training texts: every word seen
// at least minCount times becomes a piece, with and without its preceding
// space as seen, and every character seen becomes a piece so that rarer
// words can be spelled. Pieces are ordered by descending count, then
// bytewise, so the same texts always give the same ids.
func NewVocabulary(texts []string, minCount int) (*Vocabulary, error) {
	if len(texts) == 0 {
		return nil, fmt.Errorf("%w: no texts", ErrVocabulary)
	}
	minCount = max(minCount, 1)
	counts := map[string]int{}
	for _, t := range texts {
		for _, w := range splitPieces(t) {
			counts[w]++
		}
	}
	// Characters: keep all that occur, with their own counts so frequent
	// ones get low ids.
	chars := map[string]int{}
	for w, n := range counts {
		for _, c := range spell(w) {
			chars[c] += n
		}
	}
	keep := map[string]int{}
	for w, n := range counts {
		if n >= minCount || utf8.RuneCountInString(strings.TrimPrefix(w, space)) == 1 {
			keep[w] = max(keep[w], n)
		}
	}
	for c, n := range chars {
		keep[c] = max(keep[c], n)
	}
	list := make([]string, 0, len(keep))
	for w := range keep {
		list = append(list, w)
	}
	sort.Slice(list, func(i, j int) bool {
		if keep[list[i]] != keep[list[j]] {
			return keep[list[i]] > keep[list[j]]
		}
		return list[i] < list[j]
	})
	return VocabularyFromPieces(append(specialPieces[:], list...))
}

// VocabularyFromPieces rebuilds a vocabulary from its pieces in id order
// (as Pieces returns them). The special pieces must come first.
func VocabularyFromPieces(pieces []string) (*Vocabulary, error) {
	if len(pieces) < numSpecial {
		return nil, fmt.Errorf("%w: %d pieces, fewer than the %d special ones", ErrVocabulary, len(pieces), numSpecial)
	}
	v := &Vocabulary{pieces: append([]string(nil), pieces...), ids: make(map[string]int, len(pieces))}
	for i, p := range v.pieces {
		if i < numSpecial && p != specialPieces[i] {
			return nil, fmt.Errorf("%w: piece %d is %q, want %q", ErrVocabulary, i, p, specialPieces[i])
		}
		if i >= numSpecial && !validPiece(p) {
			return nil, fmt.Errorf("%w: piece %d (%q) is not a word, digit or character", ErrVocabulary, i, p)
		}
		if _, dup := v.ids[p]; dup {
			return nil, fmt.Errorf("%w: piece %d (%q) occurs twice", ErrVocabulary, i, p)
		}
		v.ids[p] = i
	}
	return v, nil
}

// validPiece reports whether p is what splitPieces can produce.
func validPiece(p string) bool {
	if !utf8.ValidString(p) {
		return false
	}
	body := strings.TrimPrefix(p, space)
	if body == "" {
		return false
	}
	// A full stop before p keeps its space and ends no letter run.
	pieces := splitPieces("." + p)
	return len(pieces) == 2 && pieces[1] == p
}

// Size is the number of token ids.
func (v *Vocabulary) Size() int { return len(v.pieces) }

// Pieces returns the pieces in id order (a copy).
func (v *Vocabulary) Pieces() []string { return append([]string(nil), v.pieces...) }

// Piece returns the text of one id ("" for an id out of range).
func (v *Vocabulary) Piece(id int) string {
	if id < 0 || id >= len(v.pieces) {
		return ""
	}
	return v.pieces[id]
}

// Encode turns a text into token ids (without BosID, SepID or EosID).
func (v *Vocabulary) Encode(text string) []int {
	var ids []int
	for _, w := range splitPieces(text) {
		if id, ok := v.ids[w]; ok {
			ids = append(ids, id)
			continue
		}
		for _, c := range spell(w) {
			if id, ok := v.ids[c]; ok {
				ids = append(ids, id)
			} else if id, ok := v.ids[strings.TrimPrefix(c, space)]; ok && strings.HasPrefix(c, space) {
				// A character only ever seen inside words: keep the
				// space as well as the reader can.
				ids = append(ids, UnkID, id)
			} else {
				ids = append(ids, UnkID)
			}
		}
	}
	return ids
}

// Decode turns token ids back into text. Special tokens are dropped, and
// the leading space of the first piece.
func (v *Vocabulary) Decode(ids []int) string {
	var sb strings.Builder
	for _, id := range ids {
		if id < numSpecial || id >= len(v.pieces) {
			continue
		}
		sb.WriteString(v.pieces[id])
	}
	return strings.TrimPrefix(sb.String(), space)
}

// pieceClass is the kind of run a rune belongs to.
type pieceClass int

const (
	classSpace pieceClass = iota
	classLetter
	classSingle // a digit or any other character: a piece of its own
)

func classOf(r rune) pieceClass {
	switch {
	case unicode.IsSpace(r):
		return classSpace
	case unicode.IsLetter(r) || unicode.Is(unicode.Mn, r):
		return classLetter
	default:
		return classSingle
	}
}

// splitPieces splits text into pieces: runs of letters, and single other
// characters, each with the space before it when there is one. Leading
// whitespace is dropped.
func splitPieces(text string) []string {
	var out []string
	spaced := false         // whitespace since the last piece
	start, prefix := -1, "" // the current letter run and its space
	flush := func(end int) {
		if start >= 0 {
			out = append(out, prefix+text[start:end])
			start = -1
		}
	}
	lead := func() string {
		p := ""
		if spaced && len(out) > 0 {
			p = space
		}
		spaced = false
		return p
	}
	for i, r := range text {
		switch classOf(r) {
		case classSpace:
			flush(i)
			spaced = true
		case classLetter:
			if start < 0 {
				prefix, start = lead(), i
			}
		case classSingle:
			flush(i)
			out = append(out, lead()+string(r))
		}
	}
	flush(len(text))
	return out
}

// spell splits a piece into character pieces, the first keeping the
// piece's space.
func spell(w string) []string {
	prefix := ""
	if strings.HasPrefix(w, space) {
		prefix, w = space, w[len(space):]
	}
	var out []string
	for _, r := range w {
		out = append(out, prefix+string(r))
		prefix = ""
	}
	return out
}
