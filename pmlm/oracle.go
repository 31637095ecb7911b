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
	var wrong []string
	if c.PredictedLabel != truth {
		wrong = append(wrong, c.PredictedLabel)
	}
	for _, s := range c.Similar {
		if s.Label != truth {
			wrong = append(wrong, s.Label)
		}
	}
	return DeletionPrompts(c, wrong, steps)
}

// DeletionPrompts returns the coarse prompt with the words of the listed
// diagnoses deleted (every occurrence, ignoring case and trailing
// punctuation), one diagnosis after the other in the order given, each
// prompt deleting more, within the budget of steps words; a diagnosis
// listed twice counts once. Nil when none of them occurs in the prompt.
func DeletionPrompts(c Coarse, labels []string, steps int) []string {
	words := prompt.Words(c.Prompt)
	var out []string
	for _, del := range deletionSets(words, labels, steps) {
		out = append(out, prompt.Join(withoutPositions(words, del)))
	}
	return out
}

// deletionSets returns the positions in words that DeletionPrompts
// deletes, one growing set per prompt, each in ascending order.
func deletionSets(words, labels []string, steps int) [][]int {
	var out [][]int
	cur := map[int]bool{}
	seen := map[string]bool{}
	for _, l := range labels {
		if seen[l] || len(cur) == steps {
			continue
		}
		seen[l] = true
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
			set := make([]int, 0, len(cur))
			for i := range words {
				if cur[i] {
					set = append(set, i)
				}
			}
			out = append(out, set)
		}
	}
	return out
}

// withoutPositions returns words less the positions in del (ascending).
func withoutPositions(words []string, del []int) []string {
	kept := make([]string, 0, len(words)-len(del))
	for i, w := range words {
		if len(del) > 0 && del[0] == i {
			del = del[1:]
			continue
		}
		kept = append(kept, w)
	}
	return kept
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
