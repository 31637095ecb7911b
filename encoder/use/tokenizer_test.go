package use

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTokenizerMatchesPackage compares the token ids with those of the
// package's own tokenizer (@energetic-ai/embeddings 0.2.0, run once under
// Node: internal/usegen/reference) on 3,989 strings: synthetic replies
// and their sentences, edge cases, and random strings mixing vocabulary
// pieces with characters the vocabulary lacks.
func TestTokenizerMatchesPackage(t *testing.T) {
	tok := testModel(t).Tokenizer()
	var ref tokenizerCases
	readGzipJSON(t, "testdata/tokenizer.json.gz", &ref)
	require.Greater(t, len(ref.Cases), 3000)
	bad := 0
	for i, c := range ref.Cases {
		got := tok.Encode(c.Text)
		if len(c.IDs) == 0 {
			c.IDs = []int{}
		}
		if !assert.Equal(t, c.IDs, append([]int{}, got...), "case %d: %q", i, c.Text) {
			if bad++; bad > 10 {
				t.Fatal("too many mismatches")
			}
		}
	}
}

// TestTokenSpans checks each token's byte range covers the input it came
// from: pieces joined give the normalized text, and spans are ordered.
func TestTokenSpans(t *testing.T) {
	tok := testModel(t).Tokenizer()
	text := "Platelet count 112 ×10⁹/L, total bile acid 12.5 µmol/L 😀😀 ok"
	toks := tok.Tokenize(text)
	var joined strings.Builder
	last := 0
	for _, tk := range toks {
		joined.WriteString(tk.Piece)
		assert.LessOrEqual(t, last, tk.Start, "%+v", tk)
		assert.LessOrEqual(t, tk.Start, tk.End)
		last = tk.Start
	}
	assert.Equal(t, Separator+strings.ReplaceAll("Platelet count 112 ×109/L, total bile acid 12.5 μmol/L 😀😀 ok", " ", Separator), joined.String())
	var unk []Token
	for _, tk := range toks {
		if tk.ID == UnknownID {
			unk = append(unk, tk)
		}
	}
	require.Len(t, unk, 1, "consecutive unknown characters merge")
	assert.Equal(t, "😀😀", unk[0].Piece)
	assert.Equal(t, "😀😀", text[unk[0].Start:unk[0].End])
	words, n := wordOf(text, toks)
	assert.Equal(t, len(strings.Fields(text)), n)
	for i, tk := range toks {
		if tk.Piece == "▁112" {
			assert.Equal(t, "112", strings.Fields(text)[words[i]])
		}
	}
}

// FuzzTokenize checks invariants on any input: no panic, ids in range,
// spans inside the text and ordered, no two unknown tokens in a row, the
// pieces of a valid UTF-8 text joined give its normalized form, and every
// token maps to a word or none.
func FuzzTokenize(f *testing.F) {
	for _, s := range []string{"", " ", "Hello, world!", "×10⁹/L µmol", "😀 x", "a\tb\nc", "\xff\xfe", "ﬁ ①", "\u2581\u2581", ":)"} {
		f.Add(s)
	}
	tok := testModel(f).Tokenizer()
	f.Fuzz(func(t *testing.T, text string) {
		toks := tok.Tokenize(text)
		prevUnk := false
		last := 0
		var joined strings.Builder
		for _, tk := range toks {
			if tk.ID < 0 || tk.ID >= tok.VocabSize() {
				t.Fatalf("id %d out of range", tk.ID)
			}
			if tk.Start < last || tk.End < tk.Start || tk.End > len(text) {
				t.Fatalf("span [%d,%d) after %d in %d bytes", tk.Start, tk.End, last, len(text))
			}
			last = tk.Start
			isUnk := tk.ID == UnknownID
			if isUnk && prevUnk {
				t.Fatal("two unknown tokens in a row")
			}
			prevUnk = isUnk
			joined.WriteString(tk.Piece)
		}
		if utf8.ValidString(text) && len(toks) > 0 {
			want := Separator + strings.ReplaceAll(nfkc(text), " ", Separator)
			if joined.String() != want {
				t.Fatalf("pieces join to %q, want %q", joined.String(), want)
			}
		}
		words, n := wordOf(text, toks)
		if n != len(strings.Fields(text)) {
			t.Fatalf("%d words, strings.Fields has %d", n, len(strings.Fields(text)))
		}
		for _, w := range words {
			if w < -1 || w >= n {
				t.Fatalf("word %d of %d", w, n)
			}
		}
	})
}
