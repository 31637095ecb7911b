package pmlm

import (
	"strings"

	"github.com/pmlm-go/pmlm/pmlm/prompt"
)

// OraclePrompts returns the prompts of the refinement oracle, which knows
// the patient's true diagnosis: the coarse prompt with the words of the
// wrong diagnoses deleted, one diagnosis after the other (the predicted
// label first when it is wrong, then the similar patients' wrong labels,
// most frequent first), each prompt deleting more, within the budget of
// steps words. The oracle's answer is the best of these prompts' answers
// and the coarse one's: no deletion policy can gain where it cannot. Nil
// when no wrong diagnosis occurs in the prompt.
func OraclePrompts(c Coarse, truth string, steps int) []string {
	words := prompt.Words(c.Prompt)
	var order []string
	seen := map[string]bool{truth: true}
	add := func(l string) {
		if !seen[l] {
			seen[l] = true
			order = append(order, l)
		}
	}
	add(c.PredictedLabel)
	for _, s := range c.Similar {
		add(s.Label)
	}
	var out []string
	cur := map[int]bool{}
	for _, l := range order {
		grown := false
		for _, at := range occurrences(words, l) {
			if len(cur) == steps {
				break
			}
			if !cur[at] {
				cur[at] = true
				grown = true
			}
		}
		if grown {
			kept := make([]string, 0, len(words)-len(cur))
			for i, w := range words {
				if !cur[i] {
					kept = append(kept, w)
				}
			}
			out = append(out, prompt.Join(kept))
		}
		if len(cur) == steps {
			break
		}
	}
	return out
}

// occurrences returns the positions of every word of every occurrence of
// the label's words in words, ignoring case and trailing punctuation.
func occurrences(words []string, label string) []int {
	lw := strings.Fields(label)
	if len(lw) == 0 {
		return nil
	}
	var pos []int
	for i := 0; i+len(lw) <= len(words); i++ {
		match := true
		for j, w := range lw {
			if bareWord(words[i+j]) != bareWord(w) {
				match = false
				break
			}
		}
		if match {
			for j := range lw {
				pos = append(pos, i+j)
			}
			i += len(lw) - 1
		}
	}
	return pos
}

// bareWord is a word without case and trailing punctuation, for matching
// labels in prompts.
func bareWord(w string) string { return strings.ToLower(strings.TrimRight(w, ",.;:")) }
