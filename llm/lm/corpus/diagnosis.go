package corpus

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// singleForms phrase one diagnosis; %s is its name.
var singleForms = []string{
	"Discharge diagnosis: %s.",
	"The patient was diagnosed with %s.",
	"Diagnosis: %s.",
	"Final diagnosis — %s.",
	"Condition at discharge: %s.",
	"She has given birth; her diagnosis is %s.",
	"What should a mother with %s be told when she goes home?",
	"Discharge advice for %s, please.",
	"Postnatal ward note: %s.",
	"A woman with %s is being discharged after delivery.",
	"Diagnosed: %s. Advice?",
	"%s.",
}

// openers and closers are this package's own task sentences.
var (
	openers = []string{
		"You are an obstetrician writing discharge advice.",
		"Postpartum discharge summary.",
		"Reply as the discharging doctor, in plain language.",
		"The following concerns a woman who has just given birth.",
		"Obstetric ward, day of discharge.",
		"Write the instructions a mother takes home after the birth.",
		"A new mother is about to leave hospital.",
		"Summarise the advice for going home.",
	}
	closers = []string{
		"What advice should she receive?",
		"Answer with the discharge advice.",
		"What follow-up does she need?",
		"Please advise the mother.",
		"Write her going-home instructions.",
		"Keep the advice practical.",
	}
)

// frame adds the optional opening and closing task sentences.
func (g *generator) frame(s string) string {
	if g.chance(g.opt.Preamble) {
		s = pick(g.rng, openers) + " " + s
	}
	if g.chance(g.opt.Preamble) {
		s += " " + pick(g.rng, closers)
	}
	return s
}

// sentence upper-cases the first letter of s (of a marked count, its
// first letter). It is never applied to a diagnosis name: names are written exactly as given, even at the start of
// a sentence, so that their words are the same tokens wherever they
// appear.
func sentence(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	i := 0
	switch r[0] {
	case openName:
		return s
	case openCount:
		for i < len(r) && r[i] != markSep {
			i++
		}
		i++
		if i >= len(r) {
			return s
		}
	}
	r[i] = []rune(strings.ToUpper(string(r[i])))[0]
	return string(r)
}

func (g *generator) single(c Case) Pair {
	li := g.pool.labelIndex(c.Label)
	segs := []string{fmt.Sprintf(pick(g.rng, singleForms), g.nm(li))}
	cands := []Weight{{Label: c.Label, Weight: 1}}
	text, cands := g.noisy(g.compose(segs), li, cands)
	return Pair{Input: text, Output: c.Reply, Kind: KindSingle, Label: c.Label, Candidates: cands}
}

// counted is one candidate of a differential with its stated number.
type counted struct {
	li int // label index in the pool
	n  int
}

var numberWords = []string{"no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"}

// num writes n in digits, or sometimes in words when it is small.
func (g *generator) num(n int) string {
	if n < len(numberWords) && g.chance(0.2) {
		return numberWords[n]
	}
	return strconv.Itoa(n)
}

// cnt writes x's count (digits or words), marked as x's.
func (g *generator) cnt(x counted) string { return markCount(x.li, g.num(x.n)) }

// dig writes x's count in digits followed by suffix, marked as x's.
func dig(x counted, suffix string) string { return markCount(x.li, strconv.Itoa(x.n)+suffix) }

// listAnd joins items as an English list: "a", "a and b", "a, b and c".
func listAnd(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// each applies f to every candidate.
func each(c []counted, f func(i int, x counted) string) []string {
	out := make([]string, len(c))
	for i, x := range c {
		out[i] = f(i, x)
	}
	return out
}

// countForms write counted candidates as one or more sentences; total is
// the sum of the counts.
var countForms = []func(g *generator, c []counted, total int) []string{
	func(g *generator, c []counted, total int) []string {
		return []string{strings.Join(each(c, func(i int, x counted) string {
			if i == 0 {
				return fmt.Sprintf("%s in %s of %s comparable cases", g.nm(x.li), g.cnt(x), g.num(total))
			}
			return fmt.Sprintf("%s in %s", g.nm(x.li), g.cnt(x))
		}), ", ") + "."}
	},
	func(g *generator, c []counted, total int) []string {
		return []string{fmt.Sprintf("Of %s comparable deliveries: %s.", g.num(total), listAnd(each(c, func(_ int, x counted) string {
			return fmt.Sprintf("%s with %s", g.cnt(x), g.nm(x.li))
		})))}
	},
	func(g *generator, c []counted, total int) []string {
		return []string{fmt.Sprintf("Candidate diagnoses (cases out of %d): %s.", total, strings.Join(each(c, func(_ int, x counted) string {
			return g.nm(x.li) + " " + dig(x, "")
		}), ", "))}
	},
	func(g *generator, c []counted, total int) []string {
		return []string{fmt.Sprintf("Among %s women with a similar course, %s.", g.num(total), listAnd(each(c, func(i int, x counted) string {
			if i == 0 {
				return fmt.Sprintf("%s %s discharged with %s", g.cnt(x), plural(x.n, "was", "were"), g.nm(x.li))
			}
			return fmt.Sprintf("%s with %s", g.cnt(x), g.nm(x.li))
		})))}
	},
	func(g *generator, c []counted, total int) []string {
		return []string{fmt.Sprintf("Case series of %d: %s.", total, strings.Join(each(c, func(_ int, x counted) string {
			return fmt.Sprintf("%s (%s)", g.nm(x.li), dig(x, ""))
		}), ", "))}
	},
	func(g *generator, c []counted, total int) []string {
		return []string{"Differential: " + strings.Join(each(c, func(_ int, x counted) string {
			return g.nm(x.li) + " " + dig(x, "/"+strconv.Itoa(total))
		}), "; ") + "."}
	},
	func(g *generator, c []counted, total int) []string {
		return each(c, func(_ int, x counted) string {
			return fmt.Sprintf("%s: %s %s.", g.nm(x.li), g.cnt(x), plural(x.n, "case", "cases"))
		})
	},
	func(g *generator, c []counted, total int) []string {
		return []string{fmt.Sprintf("In a reference group of %s similar pregnancies the diagnoses were %s.", g.num(total), listAnd(each(c, func(_ int, x counted) string {
			return fmt.Sprintf("%s (%s %s)", g.nm(x.li), g.cnt(x), plural(x.n, "woman", "women"))
		})))}
	},
	// "N of M similar patients had X."
	func(g *generator, c []counted, total int) []string {
		t := g.num(total)
		return each(c, func(i int, x counted) string {
			if i == 0 {
				return fmt.Sprintf("%s of %s similar patients had %s.", sentence(g.cnt(x)), t, g.nm(x.li))
			}
			return fmt.Sprintf("%s of %s had %s.", sentence(g.cnt(x)), t, g.nm(x.li))
		})
	},
	// "X (N)" without a header.
	func(g *generator, c []counted, total int) []string {
		return []string{"Look-alike cases: " + listAnd(each(c, func(_ int, x counted) string {
			return fmt.Sprintf("%s (%s)", g.nm(x.li), g.cnt(x))
		})) + "."}
	},
	// "X — N patients".
	func(g *generator, c []counted, total int) []string {
		return []string{"Comparable patients by diagnosis: " + strings.Join(each(c, func(_ int, x counted) string {
			return fmt.Sprintf("%s — %s %s", g.nm(x.li), g.cnt(x), plural(x.n, "patient", "patients"))
		}), "; ") + "."}
	},
	// "X was the diagnosis for N of them".
	func(g *generator, c []counted, total int) []string {
		return []string{fmt.Sprintf("Looking at %s women whose results resembled hers, %s.", g.num(total), listAnd(each(c, func(i int, x counted) string {
			if i == 0 {
				return fmt.Sprintf("%s was the diagnosis for %s of them", g.nm(x.li), g.cnt(x))
			}
			return fmt.Sprintf("%s for %s", g.nm(x.li), g.cnt(x))
		})))}
	},
	// "N had X, M had Y".
	func(g *generator, c []counted, total int) []string {
		return []string{fmt.Sprintf("In a group of %s look-alike cases, %s.", g.num(total), listAnd(each(c, func(i int, x counted) string {
			if i == 0 {
				return fmt.Sprintf("%s %s %s", g.cnt(x), plural(x.n, "patient had", "patients had"), g.nm(x.li))
			}
			return fmt.Sprintf("%s had %s", g.cnt(x), g.nm(x.li))
		})))}
	},
	// "X: N cases" in one sentence.
	func(g *generator, c []counted, total int) []string {
		return []string{"Record matches — " + strings.Join(each(c, func(_ int, x counted) string {
			return fmt.Sprintf("%s: %s %s", g.nm(x.li), g.cnt(x), plural(x.n, "case", "cases"))
		}), "; ") + "."}
	},
	// "mostly X (N of M), then Y (K)".
	func(g *generator, c []counted, total int) []string {
		return []string{"The closest cases were " + strings.Join(each(c, func(i int, x counted) string {
			if i == 0 {
				return fmt.Sprintf("%s (%s of %d)", g.nm(x.li), dig(x, ""), total)
			}
			return fmt.Sprintf("%s (%s)", g.nm(x.li), dig(x, ""))
		}), ", then ") + "."}
	},
	// "Out of M mothers …, N went home with X, and K with Y."
	func(g *generator, c []counted, total int) []string {
		return []string{fmt.Sprintf("Out of %s mothers with comparable blood results, %s.", g.num(total), strings.Join(each(c, func(i int, x counted) string {
			if i == 0 {
				return fmt.Sprintf("%s went home with %s", g.cnt(x), g.nm(x.li))
			}
			return fmt.Sprintf("%s with %s", g.cnt(x), g.nm(x.li))
		}), ", and "))}
	},
	// "N with X" alone.
	func(g *generator, c []counted, total int) []string {
		return []string{sentence(listAnd(each(c, func(_ int, x counted) string {
			return fmt.Sprintf("%s with %s", g.cnt(x), g.nm(x.li))
		}))) + "."}
	},
}

// percentForms write the candidates as percentages, which are then the
// stated weights.
var percentForms = []func(g *generator, c []counted) []string{
	func(g *generator, c []counted) []string {
		return []string{"Diagnoses by frequency in similar pregnancies: " + strings.Join(each(c, func(_ int, x counted) string {
			return g.nm(x.li) + " " + dig(x, "%")
		}), ", ") + "."}
	},
	func(g *generator, c []counted) []string {
		return []string{sentence(listAnd(each(c, func(_ int, x counted) string {
			return dig(x, "%") + " had " + g.nm(x.li)
		}))) + " among comparable mothers."}
	},
	func(g *generator, c []counted) []string {
		return []string{"Among women with a similar course, " + strings.Join(each(c, func(_ int, x counted) string {
			return fmt.Sprintf("%s in %s percent", g.nm(x.li), dig(x, ""))
		}), ", ") + "."}
	},
}

var leadForms = []string{
	"Working diagnosis: %s.",
	"Suspected diagnosis: %s.",
	"Clinical impression: %s.",
	"The clinician's leading diagnosis is %s.",
}

// composition splits total into m positive integers with a flat
// Dirichlet draw and largest-remainder rounding; total ≥ m.
func (g *generator) composition(m, total int) []int {
	w := make([]float64, m)
	sum := 0.0
	for i := range w {
		w[i] = g.rng.ExpFloat64()
		sum += w[i]
	}
	n := make([]int, m)
	rem := make([]float64, m)
	left := total - m
	for i := range w {
		x := w[i] / sum * float64(total-m)
		n[i] = 1 + int(math.Floor(x))
		rem[i] = x - math.Floor(x)
		left -= n[i] - 1
	}
	order := make([]int, m)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return rem[order[a]] > rem[order[b]] })
	for k := 0; k < left; k++ {
		n[order[k%m]]++
	}
	return n
}

// differential writes counted candidates, sometimes with a leading
// diagnosis, and draws the reply from the stated weights.
func (g *generator) differential() Pair {
	m := 1
	if !g.chance(0.1) {
		m = 2 + g.rng.IntN(g.opt.MaxCandidates-1)
	}
	idx := g.pool.candidates(g.rng, m)
	m = len(idx)
	total := 10
	if g.chance(0.5) {
		total = 3 + g.rng.IntN(18)
	}
	total = max(total, m)
	percent := g.chance(0.1) && m <= 100
	if percent {
		total = 100
	}
	n := g.composition(m, total)
	c := make([]counted, m)
	for i, li := range idx {
		c[i] = counted{li: li, n: n[i]}
	}
	if g.chance(0.7) {
		sort.SliceStable(c, func(a, b int) bool { return c[a].n > c[b].n })
	}
	var segs []string
	if percent {
		segs = pick(g.rng, percentForms)(g, c)
	} else {
		segs = pick(g.rng, countForms)(g, c, total)
	}
	cands := make([]Weight, m)
	for i, x := range c {
		cands[i] = Weight{Label: g.pool.labels[x.li], Weight: float64(x.n)}
	}
	if g.chance(g.opt.Lead) && g.opt.LeadWeight > 0 {
		li := g.pool.candidates(g.rng, 1)[0]
		lead := g.pool.labels[li]
		segs = append([]string{fmt.Sprintf(pick(g.rng, leadForms), g.nm(li))}, segs...)
		bonus := g.opt.LeadWeight * float64(total)
		found := false
		for i := range cands {
			if cands[i].Label == lead {
				cands[i].Weight += bonus
				found = true
			}
		}
		if !found {
			cands = append(cands, Weight{Label: lead, Weight: bonus})
		}
	}
	return g.withReply(KindDifferential, segs, cands)
}

// likelihoodLevels are the likelihood words, strongest first, with the
// weight each states; %s is the diagnosis.
var likelihoodLevels = []struct {
	weight float64
	forms  []string
}{
	{8, []string{"most likely %s", "%s is the most likely diagnosis", "almost certainly %s"}},
	{4, []string{"likely %s", "%s is likely", "probably %s"}},
	{2, []string{"possibly %s", "%s is possible", "consider %s"}},
	{1, []string{"%s is less likely", "unlikely %s", "%s cannot be excluded"}},
}

var likelihoodPrefixes = []string{"", "Differential diagnosis: ", "Impression: ", "Assessment: "}

// likelihood writes candidates with likelihood words and draws the reply
// from the weights the words state.
func (g *generator) likelihood() Pair {
	most := min(g.opt.MaxCandidates, len(likelihoodLevels))
	m := 2 + g.rng.IntN(most-1)
	idx := g.pool.candidates(g.rng, m)
	m = len(idx)
	levels := g.rng.Perm(len(likelihoodLevels))[:m]
	sort.Ints(levels)
	order := make([]int, m)
	for i := range order {
		order[i] = i
	}
	if g.chance(0.3) {
		g.rng.Shuffle(m, func(a, b int) { order[a], order[b] = order[b], order[a] })
	}
	parts := make([]string, m)
	cands := make([]Weight, m)
	for k, i := range order {
		lv := likelihoodLevels[levels[i]]
		form := pick(g.rng, lv.forms)
		parts[k] = fmt.Sprintf(form, g.nm(idx[i]))
		cands[k] = Weight{Label: g.pool.labels[idx[i]], Weight: lv.weight}
	}
	var segs []string
	if g.chance(0.25) {
		// One sentence per candidate.
		for k := range parts {
			segs = append(segs, sentence(parts[k])+".")
		}
		if p := pick(g.rng, likelihoodPrefixes); p != "" {
			segs[0] = p + parts[0] + "."
		}
	} else {
		sep := pick(g.rng, []string{"; ", ", "})
		segs = []string{sentence(pick(g.rng, likelihoodPrefixes) + strings.Join(parts, sep) + ".")}
	}
	return g.withReply(KindLikelihood, segs, cands)
}
