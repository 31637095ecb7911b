package corpus

import (
	"strconv"
	"strings"
	"unicode"
)

// While a diagnosis input is being written, the words of each candidate's
// name and count are marked with private-use runes, so that the deletion
// noise knows which words it may remove. The marks never reach a Pair.
const (
	openName  = '\uE000' // then the label index, markSep, the name, closeMark
	openCount = '\uE001' // then the label index, markSep, the count, closeMark
	markSep   = '\uE002'
	closeMark = '\uE003'
)

// hasMarkRune reports whether s holds one of the marks (a label that does
// cannot be written).
func hasMarkRune(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r >= openName && r <= closeMark })
}

// nm returns the marked name of label li of the pool.
func (g *generator) nm(li int) string {
	return string(openName) + strconv.Itoa(li) + string(markSep) + g.pool.labels[li] + string(closeMark)
}

// markCount marks s as the count of label li.
func markCount(li int, s string) string {
	return string(openCount) + strconv.Itoa(li) + string(markSep) + s + string(closeMark)
}

// word is one whitespace-separated word of a marked input.
type word struct {
	text  string
	kind  byte // 0: free, 'n': part of a name, 'c': part of a count
	label int  // pool label index of the name or count; -1 when free
}

// parseMarked splits a marked text into words, the way PMLM's policy
// splits a prompt (whitespace; punctuation stays with its word), and says
// which candidate's name or count each word belongs to.
func parseMarked(s string) []word {
	var (
		words   []word
		cur     strings.Builder
		w       = word{label: -1}
		inKind  byte
		inLabel = -1
	)
	flush := func() {
		if cur.Len() > 0 {
			w.text = cur.String()
			words = append(words, w)
		}
		cur.Reset()
		w = word{label: -1}
	}
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == openName || r == openCount:
			inKind = 'n'
			if r == openCount {
				inKind = 'c'
			}
			inLabel = 0
			for i+1 < len(rs) && rs[i+1] != markSep {
				i++
				inLabel = inLabel*10 + int(rs[i]-'0')
			}
			i++ // markSep
		case r == closeMark:
			inKind, inLabel = 0, -1
		case unicode.IsSpace(r):
			flush()
		default:
			cur.WriteRune(r)
			if inKind != 0 && w.kind == 0 {
				w.kind, w.label = inKind, inLabel
			}
		}
	}
	flush()
	return words
}

func joinWords(words []word, drop []bool) string {
	var b strings.Builder
	for i, w := range words {
		if drop != nil && drop[i] {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w.text)
	}
	return b.String()
}

// noisy removes the marks from a diagnosis input and, for a share
// Options.Deletion of inputs, deletes words the way a prompt policy does.
// The reply's diagnosis (drawn, a pool label index) was drawn from the
// weights the full input states, so its name and count are never deleted,
// nor is any other candidate's name or count, except that with
// probability Options.DeleteOther one candidate that was not drawn loses
// its name (then it leaves cands) or its count. The other deleted words
// are free words: task, context and connecting words, totals.
func (g *generator) noisy(text string, drawn int, cands []Weight) (string, []Weight) {
	words := parseMarked(text)
	if !g.chance(g.opt.Deletion) || g.opt.MaxDeleted == 0 {
		return joinWords(words, nil), cands
	}
	drop := make([]bool, len(words))
	budget := 1 + g.rng.IntN(g.opt.MaxDeleted)
	if g.chance(g.opt.DeleteOther) {
		var others []int // non-drawn candidates, in order of appearance
		for _, w := range words {
			if w.kind == 'n' && w.label != drawn && !containsInt(others, w.label) {
				others = append(others, w.label)
			}
		}
		if len(others) > 0 {
			o := pick(g.rng, others)
			kind := byte('n')
			if g.chance(0.4) && hasWord(words, 'c', o) {
				kind = 'c'
			}
			n := 0
			for _, w := range words {
				if w.kind == kind && w.label == o {
					n++
				}
			}
			if n <= budget {
				for i, w := range words {
					if w.kind == kind && w.label == o {
						drop[i] = true
					}
				}
				budget -= n
				if kind == 'n' {
					name := g.pool.labels[o]
					kept := make([]Weight, 0, len(cands))
					for _, c := range cands {
						if c.Label != name {
							kept = append(kept, c)
						}
					}
					cands = kept
				}
			}
		}
	}
	var free []int
	for i, w := range words {
		if w.kind == 0 {
			free = append(free, i)
		}
	}
	g.rng.Shuffle(len(free), func(a, b int) { free[a], free[b] = free[b], free[a] })
	for _, i := range free[:min(budget, len(free))] {
		drop[i] = true
	}
	return joinWords(words, drop), cands
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func hasWord(words []word, kind byte, label int) bool {
	for _, w := range words {
		if w.kind == kind && w.label == label {
			return true
		}
	}
	return false
}
