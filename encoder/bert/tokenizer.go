package bert

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Tokenizer reproduces HuggingFace's BertTokenizer (the slow, Python one):
// special tokens found verbatim in the text are kept whole; the rest is
// cleaned (control characters dropped, whitespace unified), CJK
// ideographs are split out, NFC-normalised, lowercased and accent-stripped
// per the config, split on punctuation, then cut into WordPiece pieces
// greedily, longest match first, with "##" continuations. It is safe for
// concurrent use.
type Tokenizer struct {
	cfg      TokenizerConfig
	vocab    map[string]int
	maxLen   int
	unkID    int
	clsID    int
	sepID    int
	specials []string // never split; matched verbatim in the raw text
	// bracketed: every special token starts with '[', so a special can
	// only start at a '[' byte.
	bracketed bool
}

// Tokenization is the output of Tokenizer.Tokenize.
type Tokenization struct {
	// Tokens are the pieces, [CLS] first and [SEP] last.
	Tokens []string
	// IDs are the vocabulary ids of Tokens.
	IDs []int
	// WordOf maps each token to its strings.Fields word, -1 for [CLS] and
	// [SEP].
	WordOf []int
	// NumWords is len(strings.Fields(text)).
	NumWords int
	// Truncated reports that pieces were dropped to fit the maximum length.
	Truncated bool
}

// NewTokenizer builds a tokenizer over vocab (line i of vocab.txt is id i;
// a repeated token keeps its last id, as HuggingFace does). maxLen is the
// maximum number of tokens including [CLS] and [SEP] (at least 2).
func NewTokenizer(vocab []string, cfg TokenizerConfig, maxLen int) (*Tokenizer, error) {
	if maxLen < 2 {
		return nil, fmt.Errorf("bert: maximum length %d leaves no room for [CLS] and [SEP]", maxLen)
	}
	if cfg.MaxInputCharsPerWord <= 0 {
		cfg.MaxInputCharsPerWord = 100
	}
	t := &Tokenizer{cfg: cfg, vocab: make(map[string]int, len(vocab)), maxLen: maxLen}
	for i, w := range vocab {
		t.vocab[w] = i
	}
	var ok bool
	for _, s := range []struct {
		name, tok string
		id        *int
	}{{"unk_token", cfg.UnkToken, &t.unkID}, {"cls_token", cfg.ClsToken, &t.clsID}, {"sep_token", cfg.SepToken, &t.sepID}} {
		if *s.id, ok = t.vocab[s.tok]; !ok || s.tok == "" {
			return nil, fmt.Errorf("%w: %s %q is not in the vocabulary", ErrBadVocab, s.name, s.tok)
		}
	}
	for _, s := range []string{cfg.UnkToken, cfg.SepToken, cfg.PadToken, cfg.ClsToken, cfg.MaskToken} {
		if _, in := t.vocab[s]; in && s != "" && !contains(t.specials, s) {
			t.specials = append(t.specials, s)
		}
	}
	// Longest first, as HuggingFace's trie prefers the longest match.
	sort.Slice(t.specials, func(i, j int) bool { return len(t.specials[i]) > len(t.specials[j]) })
	t.bracketed = true
	for _, s := range t.specials {
		t.bracketed = t.bracketed && s[0] == '['
	}
	return t, nil
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// Config returns the settings in use.
func (t *Tokenizer) Config() TokenizerConfig { return t.cfg }

// MaxLen is the maximum number of tokens, [CLS] and [SEP] included.
func (t *Tokenizer) MaxLen() int { return t.maxLen }

// hfWord is a whitespace-delimited token after cleaning, with the byte
// offset in the input of its first rune.
type hfWord struct {
	text    string
	origin  int
	special bool
}

// Tokenize tokenizes text as BertTokenizer(text, truncation=True,
// max_length=MaxLen) does, and maps every piece back to its
// strings.Fields word.
func (t *Tokenizer) Tokenize(text string) Tokenization {
	fieldStarts, fieldEnds := fieldSpans(text)
	res := Tokenization{
		Tokens:   []string{t.cfg.ClsToken},
		IDs:      []int{t.clsID},
		WordOf:   []int{-1},
		NumWords: len(fieldStarts),
	}
	budget := t.maxLen - 2
	for _, w := range t.words(text) {
		if res.Truncated {
			break
		}
		field := sort.SearchInts(fieldEnds, w.origin+1)
		if field >= len(fieldStarts) || w.origin < fieldStarts[field] {
			field = -1 // cannot happen for text that strings.Fields saw; be safe
		}
		var pieces []string
		if w.special {
			pieces = []string{w.text}
		} else {
			for _, tok := range t.basic(w.text) {
				pieces = t.wordPiece(tok, pieces)
			}
		}
		for _, p := range pieces {
			if len(res.Tokens)-1 >= budget {
				res.Truncated = true
				break
			}
			id, ok := t.vocab[p]
			if !ok {
				p, id = t.cfg.UnkToken, t.unkID
			}
			res.Tokens = append(res.Tokens, p)
			res.IDs = append(res.IDs, id)
			res.WordOf = append(res.WordOf, field)
		}
	}
	res.Tokens = append(res.Tokens, t.cfg.SepToken)
	res.IDs = append(res.IDs, t.sepID)
	res.WordOf = append(res.WordOf, -1)
	return res
}

// fieldSpans returns the byte spans [start, end) of strings.Fields(text).
func fieldSpans(text string) (starts, ends []int) {
	in := false
	for i, r := range text {
		sp := unicode.IsSpace(r)
		switch {
		case !sp && !in:
			starts = append(starts, i)
			in = true
		case sp && in:
			ends = append(ends, i)
			in = false
		}
	}
	if in {
		ends = append(ends, len(text))
	}
	return starts, ends
}

// words splits text on the special tokens (verbatim, as HuggingFace's
// added-token trie does before anything else), cleans each remaining
// segment, isolates CJK ideographs and splits on whitespace.
func (t *Tokenizer) words(text string) []hfWord {
	var out []hfWord
	var cur []byte
	curOrigin := -1
	flush := func() {
		if len(cur) > 0 {
			out = append(out, hfWord{text: string(cur), origin: curOrigin})
		}
		cur, curOrigin = cur[:0], -1 // string(cur) copied the bytes
	}
	for i := 0; i < len(text); {
		if s := t.specialAt(text, i); s != "" {
			flush()
			out = append(out, hfWord{text: s, origin: i, special: true})
			i += len(s)
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case r == 0 || r == utf8.RuneError || isControl(r):
			// dropped (invalid UTF-8 decodes to U+FFFD, which HF drops too)
		case isWhitespace(r) || isPySpace(r):
			flush()
		case t.cfg.TokenizeChineseChars && isCJK(r):
			flush()
			out = append(out, hfWord{text: string(r), origin: i})
		default:
			if curOrigin < 0 {
				curOrigin = i
			}
			cur = utf8.AppendRune(cur, r)
		}
		i += size
	}
	flush()
	return out
}

func (t *Tokenizer) specialAt(text string, i int) string {
	if t.bracketed && text[i] != '[' {
		return ""
	}
	for _, s := range t.specials {
		if strings.HasPrefix(text[i:], s) {
			return s
		}
	}
	return ""
}

// basic applies BasicTokenizer's per-word steps: NFC, lowercasing, accent
// stripping and the punctuation split.
func (t *Tokenizer) basic(word string) []string {
	word = norm.NFC.String(word)
	if contains(t.specials, word) {
		return []string{word} // HF's never_split
	}
	strip := t.cfg.DoLowerCase
	if t.cfg.StripAccents != nil {
		strip = *t.cfg.StripAccents
	}
	if t.cfg.DoLowerCase {
		word = pyLower(word)
	}
	if strip {
		word = stripAccents(word)
	}
	var out []string
	start := -1
	for i, r := range word {
		if isPunctuation(r) {
			if start >= 0 {
				out = append(out, word[start:i])
				start = -1
			}
			out = append(out, string(r))
			continue
		}
		if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		out = append(out, word[start:])
	}
	return out
}

// wordPiece appends the WordPiece split of token to dst: greedy longest
// match first, "##" on continuations, the unknown token for a word with no
// full split or longer than MaxInputCharsPerWord runes.
func (t *Tokenizer) wordPiece(token string, dst []string) []string {
	runes := []rune(token)
	if len(runes) > t.cfg.MaxInputCharsPerWord {
		return append(dst, t.cfg.UnkToken)
	}
	n0 := len(dst)
	for start := 0; start < len(runes); {
		end := len(runes)
		found := ""
		for ; start < end; end-- {
			s := string(runes[start:end])
			if start > 0 {
				s = "##" + s
			}
			if _, ok := t.vocab[s]; ok {
				found = s
				break
			}
		}
		if found == "" {
			return append(dst[:n0], t.cfg.UnkToken)
		}
		dst = append(dst, found)
		start = end
	}
	return dst
}

// isWhitespace is BertTokenizer's _is_whitespace.
func isWhitespace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || unicode.Is(unicode.Zs, r)
}

// isPySpace covers the other characters Python's str.split() splits on
// that survive cleaning (line and paragraph separators).
func isPySpace(r rune) bool { return r == '\u2028' || r == '\u2029' }

// isControl is BertTokenizer's _is_control: any category C* character
// except tab, newline and carriage return. Unassigned code points (Cn)
// count, as in Python.
func isControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs) {
		return true
	}
	return !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z)
}

// isPunctuation is BertTokenizer's _is_punctuation: all non-alphanumeric
// ASCII symbols (so '$', '+', '^', '`' and '-' split too) and every
// Unicode P* character.
func isPunctuation(r rune) bool {
	if (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126) {
		return true
	}
	return unicode.IsPunct(r)
}

// isCJK is BertTokenizer's _is_chinese_char (CJK Unified Ideographs and
// their extensions and compatibility blocks; not kana or hangul).
func isCJK(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) || (r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) || (r >= 0x2B820 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0x2F800 && r <= 0x2FA1F)
}

// stripAccents is BertTokenizer's _run_strip_accents: NFD, then drop the
// nonspacing marks.
func stripAccents(s string) string {
	d := norm.NFD.String(s)
	var b strings.Builder
	b.Grow(len(d))
	for _, r := range d {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// pyLower is Python's str.lower(): full case mapping (U+0130 becomes
// "i\u0307") and the final-sigma rule, which Go's strings.ToLower lacks.
func pyLower(s string) string {
	isASCII := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			isASCII = false
			break
		}
	}
	if isASCII {
		return strings.ToLower(s)
	}
	rs := []rune(s)
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range rs {
		switch r {
		case '\u0130':
			b.WriteString("i\u0307")
		case 'Σ':
			if finalSigma(rs, i) {
				b.WriteRune('ς')
			} else {
				b.WriteRune('σ')
			}
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// finalSigma implements Unicode's Final_Sigma condition: a cased letter
// before (skipping case-ignorables) and none after.
func finalSigma(rs []rune, i int) bool {
	j := i - 1
	for j >= 0 && caseIgnorable(rs[j]) {
		j--
	}
	if j < 0 || !cased(rs[j]) {
		return false
	}
	k := i + 1
	for k < len(rs) && caseIgnorable(rs[k]) {
		k++
	}
	return k == len(rs) || !cased(rs[k])
}

func cased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r)
}

func caseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', '^', '`', '\u00B7', '\u2018', '\u2019', '\u2024', '\uFE52', '\uFE55', '\uFF07', '\uFF0E', '\uFF1A':
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}
