package use

import (
	"fmt"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Separator is the SentencePiece word-boundary mark that replaces spaces.
const Separator = "\u2581"

// UnknownID is the id of characters the vocabulary does not cover; a run
// of them becomes one UnknownID token.
const UnknownID = 0

// reservedPieces is the number of vocabulary entries (the unknown piece,
// <s>, </s> and three spares) that never match text.
const reservedPieces = 6

// Tokenizer is the SentencePiece unigram tokenizer of the model: the
// Viterbi segmentation of @energetic-ai/embeddings 0.2.0 (itself the
// tokenizer of TensorFlow.js's universal-sentence-encoder), reproduced
// quirk for quirk, since the model was run on its ids: the text is
// NFKC-normalized, spaces (U+0020 only) become "▁" and one "▁" is put in
// front; a character no piece starts with is an unknown piece of score 0;
// consecutive unknown pieces merge. It is immutable and safe for
// concurrent use.
type Tokenizer struct {
	pieces []string
	scores []float64
	// unitLen is the length of each piece in UTF-16 code units, which the
	// reference's backtracking steps by.
	unitLen []int
	// The trie over the pieces' runes: node 0 is the root; children are
	// found through edges, keyed by parent node and rune.
	edges map[edgeKey]int32
	ends  []int32 // per node: the piece id ending there, or -1
}

type edgeKey struct {
	node int32
	r    rune
}

// NewTokenizer builds a tokenizer over the vocabulary: pieces[i] is the
// piece of id i and scores[i] its log probability.
func NewTokenizer(pieces []string, scores []float64) (*Tokenizer, error) {
	if len(pieces) != len(scores) {
		return nil, fmt.Errorf("use: %d pieces but %d scores", len(pieces), len(scores))
	}
	if len(pieces) <= reservedPieces {
		return nil, fmt.Errorf("use: vocabulary of %d pieces, want more than %d", len(pieces), reservedPieces)
	}
	t := &Tokenizer{
		pieces: pieces, scores: scores, unitLen: make([]int, len(pieces)),
		edges: make(map[edgeKey]int32), ends: []int32{-1},
	}
	for id, p := range pieces {
		if !utf8.ValidString(p) {
			return nil, fmt.Errorf("use: piece %d (%q) is not valid UTF-8", id, p)
		}
		t.unitLen[id] = len(utf16.Encode([]rune(p)))
		if id < reservedPieces {
			continue
		}
		if p == "" {
			return nil, fmt.Errorf("use: piece %d is empty", id)
		}
		node := int32(0)
		for _, r := range p {
			k := edgeKey{node, r}
			next, ok := t.edges[k]
			if !ok {
				next = int32(len(t.ends))
				t.ends = append(t.ends, -1)
				t.edges[k] = next
			}
			node = next
		}
		// A repeated piece takes the later id and score, as the
		// reference's trie does (the vocabulary repeats "”5").
		t.ends[node] = int32(id)
	}
	return t, nil
}

// VocabSize is the number of pieces.
func (t *Tokenizer) VocabSize() int { return len(t.pieces) }

// Piece returns the piece of id (UnknownID's piece is "\uFFFD").
func (t *Tokenizer) Piece(id int) string { return t.pieces[id] }

// Token is one piece of a tokenized text.
type Token struct {
	// ID is the vocabulary id; UnknownID for a run of uncovered characters.
	ID int
	// Piece is the vocabulary piece, or for UnknownID the normalized
	// characters it stands for.
	Piece string
	// Start and End are the byte offsets in the input text of the
	// characters the token came from ([0, 0) for the "▁" put in front).
	Start, End int
}

// Encode returns the token ids of text.
func (t *Tokenizer) Encode(text string) []int {
	toks := t.Tokenize(text)
	ids := make([]int, len(toks))
	for i, tk := range toks {
		ids[i] = tk.ID
	}
	return ids
}

// normalized holds a text as the Viterbi pass sees it: the symbols (runes)
// after normalization, and for each the input bytes it came from.
type normalized struct {
	syms       []rune
	start, end []int
}

// normalize applies NFKC segment by segment so that every output rune
// keeps the input range it came from, replaces spaces by the separator and
// puts one in front (of a non-empty text). Invalid UTF-8 bytes become
// U+FFFD, one per byte.
func normalize(text string) normalized {
	var n normalized
	var it norm.Iter
	it.InitString(norm.NFKC, text)
	for !it.Done() {
		from := it.Pos()
		seg := it.Next()
		to := it.Pos()
		for len(seg) > 0 {
			r, size := utf8.DecodeRune(seg)
			seg = seg[size:]
			if r == ' ' {
				r = '\u2581'
			}
			n.syms = append(n.syms, r)
			n.start = append(n.start, from)
			n.end = append(n.end, to)
		}
	}
	if len(n.syms) > 0 {
		n.syms = append([]rune{'\u2581'}, n.syms...)
		n.start = append([]int{0}, n.start...)
		n.end = append([]int{0}, n.end...)
	}
	return n
}

// match is a vocabulary piece found at a position.
type match struct {
	start, length int // in symbols
	id            int
	score         float64
}

// Tokenize segments text into pieces.
func (t *Tokenizer) Tokenize(text string) []Token {
	n := normalize(text)
	syms := n.syms
	// byEnd[e] lists the matches ending at symbol e in increasing start
	// order: the order the reference visits them in.
	byEnd := make([][]match, len(syms)+1)
	for i := range syms {
		found := false
		node := int32(0)
		for k := i; k < len(syms); k++ {
			next, ok := t.edges[edgeKey{node, syms[k]}]
			if !ok {
				break
			}
			node = next
			if id := t.ends[node]; id >= 0 {
				byEnd[k+1] = append(byEnd[k+1], match{i, k + 1 - i, int(id), t.scores[id]})
				found = true
			}
		}
		if !found {
			byEnd[i+1] = append(byEnd[i+1], match{i, 1, UnknownID, 0})
		}
	}
	// Viterbi. A best score of exactly 0 counts as "not set yet", as in
	// the reference (an unreachable position scores 0 too).
	best := make([]float64, len(syms)+1)
	words := make([]int, len(syms)+1)
	for e := 0; e <= len(syms); e++ {
		for _, m := range byEnd[e] {
			s := m.score + best[e-m.length]
			if best[e] == 0 || s >= best[e] {
				best[e] = s
				words[e] = m.id
			}
		}
	}
	// Backtrack by the chosen piece's length in UTF-16 units, as the
	// reference does.
	var rev []Token
	for at := len(syms); at > 0; {
		id := words[at]
		from := max(0, at-t.unitLen[id])
		tk := Token{ID: id, Piece: t.pieces[id], Start: n.start[from], End: n.end[at-1]}
		if id == UnknownID {
			tk.Piece = string(syms[from:at])
		}
		rev = append(rev, tk)
		at -= t.unitLen[id]
	}
	// Merge consecutive unknown pieces, then restore text order.
	out := make([]Token, 0, len(rev))
	for i := len(rev) - 1; i >= 0; i-- {
		tk := rev[i]
		if last := len(out) - 1; last >= 0 && tk.ID == UnknownID && out[last].ID == UnknownID {
			out[last].Piece += tk.Piece
			out[last].End = tk.End
			continue
		}
		out = append(out, tk)
	}
	return out
}

// wordOf maps each token to the index of the whitespace-separated word of
// text (strings.Fields order) holding its first non-space character; a
// token of separators only belongs to the next word, and to -1 at the end.
func wordOf(text string, toks []Token) ([]int, int) {
	// wordAt[i] is the word of byte i, or -1 on whitespace.
	wordAt := make([]int, len(text)+1)
	w, in := -1, false
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		v := -1
		if !unicode.IsSpace(r) {
			if !in {
				w++
			}
			v = w
		}
		in = v >= 0
		for j := i; j < i+size; j++ {
			wordAt[j] = v
		}
		i += size
	}
	wordAt[len(text)] = -1
	nWords := w + 1
	out := make([]int, len(toks))
	for i, tk := range toks {
		out[i] = -1
		for b := tk.Start; b < tk.End; b++ {
			if wordAt[b] >= 0 {
				out[i] = wordAt[b]
				break
			}
		}
		if out[i] >= 0 {
			continue
		}
		for b := tk.End; b < len(text); b++ {
			if wordAt[b] >= 0 {
				out[i] = wordAt[b]
				break
			}
		}
	}
	return out, nWords
}

// nfkc is the normalization Tokenize applies, as one string.
func nfkc(text string) string { return norm.NFKC.String(text) }
