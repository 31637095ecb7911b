package bert

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var tokVocab = []string{
	"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
	"cafe", "café", "Café", "Cafe", "high", "-", "dose", "hello", ",", "world", "!", "中", "文", "a", "##a", "b",
	"un", "##believ", "##able", "$", "5", "^", "«", "»", "hi", "[", "]", "sep", "ab", "σ", "ς", "ας", "ασα", "i",
	"blood", "x", "zebra", "'", "s", "5€", ".", "##σ",
}

func newTestTokenizer(t testing.TB, mutate func(*TokenizerConfig), maxLen int) *Tokenizer {
	t.Helper()
	cfg := DefaultTokenizerConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	tok, err := NewTokenizer(tokVocab, cfg, maxLen)
	require.NoError(t, err)
	return tok
}

// pieces drops [CLS] and [SEP].
func pieces(tok *Tokenizer, text string) []string {
	ts := tok.Tokenize(text).Tokens
	return ts[1 : len(ts)-1]
}

// The expectations follow HuggingFace's BertTokenizer rules (see the
// comment on each case); they are not outputs copied from a run.
func TestTokenizerUncased(t *testing.T) {
	tok := newTestTokenizer(t, nil, 512)
	for _, tc := range []struct {
		text string
		want []string
		why  string
	}{
		{"Café", []string{"cafe"}, "lowercase, NFD, drop Mn"},
		{"Cafe\u0301", []string{"cafe"}, "decomposed input normalises the same"},
		{"high-dose", []string{"high", "-", "dose"}, "hyphen is ASCII punctuation"},
		{"Hello, world!", []string{"hello", ",", "world", "!"}, "punctuation split"},
		{"中文", []string{"中", "文"}, "CJK ideographs split individually"},
		{"a中b", []string{"a", "中", "b"}, "CJK split inside a word"},
		{"xyzzy", []string{"[UNK]"}, "no piece matches"},
		{"unbelievable", []string{"un", "##believ", "##able"}, "greedy longest match with ##"},
		{"unbelievablex", []string{"[UNK]"}, "a partial split makes the whole word unknown"},
		{"$5", []string{"$", "5"}, "'$' (36) is in HF's ASCII punctuation ranges"},
		{"a^b", []string{"a", "^", "b"}, "'^' (94) too"},
		{"«hi»", []string{"«", "hi", "»"}, "Unicode Pi/Pf are punctuation"},
		{"5€", []string{"5€"}, "Sc symbols are not punctuation"},
		{"blo\x00od", []string{"blood"}, "NUL removed"},
		{"a\u200bb", []string{"ab"}, "Cf (zero-width space) removed"},
		{"a\ufffdb", []string{"ab"}, "U+FFFD removed"},
		{"a\xffb", []string{"ab"}, "invalid UTF-8 decodes to U+FFFD, removed"},
		{"a\u00a0b", []string{"a", "b"}, "Zs is whitespace"},
		{"a\u2028b", []string{"a", "b"}, "Python's split() splits on U+2028"},
		{"a [SEP] b", []string{"a", "[SEP]", "b"}, "special tokens kept whole"},
		{"[MASK]x", []string{"[MASK]", "x"}, "special tokens split out of words"},
		{"[sep]", []string{"[", "sep", "]"}, "specials match case-sensitively"},
		{"Σ", []string{"σ"}, "lone capital sigma"},
		{"ΑΣ", []string{"ας"}, "final sigma"},
		{"ΑΣΑ", []string{"ασα"}, "medial sigma"},
		{"\u0130", []string{"i"}, "U+0130 lowers to i + U+0307, which accent stripping drops"},
		{"  \t\n ", []string{}, "whitespace only"},
		{"", []string{}, "empty"},
	} {
		assert.Equal(t, tc.want, pieces(tok, tc.text), "%q: %s", tc.text, tc.why)
	}
}

func TestTokenizerCasedAndAccents(t *testing.T) {
	cased := newTestTokenizer(t, func(c *TokenizerConfig) { c.DoLowerCase = false }, 512)
	assert.Equal(t, []string{"Café"}, pieces(cased, "Café"), "cased: accents kept (strip_accents follows do_lower_case)")
	assert.Equal(t, []string{"Café"}, pieces(cased, "Cafe\u0301"), "NFC before lookup")
	yes := true
	strip := newTestTokenizer(t, func(c *TokenizerConfig) { c.DoLowerCase = false; c.StripAccents = &yes }, 512)
	assert.Equal(t, []string{"Cafe"}, pieces(strip, "Café"))
	no := false
	keep := newTestTokenizer(t, func(c *TokenizerConfig) { c.StripAccents = &no }, 512)
	assert.Equal(t, []string{"café"}, pieces(keep, "Café"), "lowercase without accent stripping")
	noCJK := newTestTokenizer(t, func(c *TokenizerConfig) { c.TokenizeChineseChars = false }, 512)
	assert.Equal(t, []string{"[UNK]"}, pieces(noCJK, "中文"))
}

func TestTokenizerLongWords(t *testing.T) {
	tok := newTestTokenizer(t, nil, 512)
	w100 := strings.Repeat("a", 100)
	got := pieces(tok, w100)
	require.Len(t, got, 100, "100 characters is still within max_input_chars_per_word")
	assert.Equal(t, "a", got[0])
	assert.Equal(t, "##a", got[99])
	assert.Equal(t, []string{"[UNK]"}, pieces(tok, w100+"a"), "101 characters become [UNK]")
	// Characters, not bytes: 100 two-byte runes are fine.
	assert.Len(t, pieces(tok, strings.Repeat("σ", 50)+strings.Repeat("a", 50)), 100)
	assert.Equal(t, []string{"[UNK]"}, pieces(tok, strings.Repeat("σ", 51)+strings.Repeat("a", 50)))
}

func TestTokenizerTruncationAndWords(t *testing.T) {
	tok := newTestTokenizer(t, nil, 8)
	res := tok.Tokenize("a b high-dose zebra zebra zebra")
	assert.Equal(t, []string{"[CLS]", "a", "b", "high", "-", "dose", "zebra", "[SEP]"}, res.Tokens)
	assert.Equal(t, []int{-1, 0, 1, 2, 2, 2, 3, -1}, res.WordOf)
	assert.True(t, res.Truncated)
	assert.Equal(t, 6, res.NumWords)

	full := newTestTokenizer(t, nil, 512)
	// \v is a Go space but a control character for HF: HF joins "a\vb"
	// into one word, which belongs to the first field.
	res = full.Tokenize("x a\vb")
	assert.Equal(t, []string{"[CLS]", "x", "ab", "[SEP]"}, res.Tokens)
	assert.Equal(t, []int{-1, 0, 1, -1}, res.WordOf)
	assert.Equal(t, 3, res.NumWords)
	assert.False(t, res.Truncated)

	_, err := NewTokenizer(tokVocab, DefaultTokenizerConfig(), 1)
	assert.Error(t, err)
	_, err = NewTokenizer([]string{"[CLS]", "[SEP]"}, DefaultTokenizerConfig(), 512)
	assert.ErrorIs(t, err, ErrBadVocab, "missing [UNK]")
}

func TestPyLower(t *testing.T) {
	assert.Equal(t, "i\u0307", pyLower("\u0130"))
	assert.Equal(t, "οδος", pyLower("ΟΔΟΣ"))
	assert.Equal(t, "σ", pyLower("Σ"))
	assert.Equal(t, "ας.", pyLower("ΑΣ."))
	assert.Equal(t, "abc", pyLower("ABC"))
}

func FuzzTokenize(f *testing.F) {
	for _, s := range []string{"", "Café high-dose 中文", "a\vb [SEP]x", "\xff\xfe", strings.Repeat("ab ", 300), "ΑΣ\u0130"} {
		f.Add(s)
	}
	tok, err := NewTokenizer(tokVocab, DefaultTokenizerConfig(), 64)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		res := tok.Tokenize(text)
		n := len(res.Tokens)
		if n < 2 || n > 64 || len(res.IDs) != n || len(res.WordOf) != n {
			t.Fatalf("bad lengths: %d tokens, %d ids, %d wordOf", n, len(res.IDs), len(res.WordOf))
		}
		if res.Tokens[0] != "[CLS]" || res.Tokens[n-1] != "[SEP]" {
			t.Fatalf("missing [CLS]/[SEP]: %q", res.Tokens)
		}
		if res.NumWords != len(strings.Fields(text)) {
			t.Fatalf("NumWords %d", res.NumWords)
		}
		prev := -1
		for i := 1; i < n-1; i++ {
			if tokVocab[res.IDs[i]] != res.Tokens[i] {
				t.Fatalf("id %d is not %q", res.IDs[i], res.Tokens[i])
			}
			w := res.WordOf[i]
			if w < prev || w >= res.NumWords {
				t.Fatalf("WordOf %v not monotone within 0..%d", res.WordOf, res.NumWords)
			}
			prev = w
			if !utf8.ValidString(res.Tokens[i]) {
				t.Fatalf("invalid UTF-8 token %q", res.Tokens[i])
			}
		}
	})
}

func TestTokenizerCustomSpecials(t *testing.T) {
	cfg := DefaultTokenizerConfig()
	cfg.UnkToken = "<unk>"
	tok, err := NewTokenizer(append([]string{"<unk>"}, tokVocab...), cfg, 512)
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "<unk>", "b", "<unk>"}, pieces(tok, "a<unk>b xyzzy"))
}
