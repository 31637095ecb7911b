package corpus

import (
	"fmt"
	"strings"
	"unicode"
)

// Tokens splits text the way NGramOverlap counts words: runs of letters
// and digits, in lower case; punctuation separates words and is dropped.
func Tokens(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// NGramOverlap returns the share of the word n-grams of prompts (counted
// with repetition, within each prompt) that occur in at least one of the
// corpus inputs, both split by Tokens: 0 when the prompts share no n-gram
// with the corpus, 1 when every n-gram of theirs is in it. It fails when n
// is below 1 or the prompts have no n-gram at all.
func NGramOverlap(corpusInputs, prompts []string, n int) (float64, error) {
	if n < 1 {
		return 0, fmt.Errorf("%w: n-gram length %d, want at least 1", ErrInput, n)
	}
	seen := map[string]struct{}{}
	for _, in := range corpusInputs {
		for _, g := range ngrams(Tokens(in), n) {
			seen[g] = struct{}{}
		}
	}
	total, found := 0, 0
	for _, p := range prompts {
		for _, g := range ngrams(Tokens(p), n) {
			total++
			if _, ok := seen[g]; ok {
				found++
			}
		}
	}
	if total == 0 {
		return 0, fmt.Errorf("%w: the prompts have no %d-gram", ErrInput, n)
	}
	return float64(found) / float64(total), nil
}

// ngrams returns the n-grams of words joined by a space.
func ngrams(words []string, n int) []string {
	if len(words) < n {
		return nil
	}
	out := make([]string, 0, len(words)-n+1)
	for i := 0; i+n <= len(words); i++ {
		out = append(out, strings.Join(words[i:i+n], " "))
	}
	return out
}
