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

// sentence upper-cases the first letter of s. It is never applied to a
// diagnosis name: names are written exactly as given, even at the start of
// a sentence, so that their words are the same tokens wherever they
// appear.
func sentence(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = []rune(strings.ToUpper(string(r[0])))[0]
	return string(r)
}

func (g *generator) single(c Case) Pair {
	return Pair{
		Input:      g.frame(fmt.Sprintf(pick(g.rng, singleForms), c.Label)),
		Output:     c.Reply,
		Kind:       KindSingle,
		Label:      c.Label,
		Candidates: []Weight{{Label: c.Label, Weight: 1}},
	}
}

// counted is one candidate of a differential with its stated number.
type counted struct {
	label string
	n     int
}

var numberWords = []string{"no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"}

// num writes n in digits, or sometimes in words when it is small.
func (g *generator) num(n int) string {
	if n < len(numberWords) && g.chance(0.2) {
		return numberWords[n]
	}
	return strconv.Itoa(n)
}

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

// countForms write counted candidates; total is their sum.
var countForms = []func(g *generator, c []counted, total int) string{
	func(g *generator, c []counted, total int) string {
		parts := []string{fmt.Sprintf("%s in %s of %s comparable cases", c[0].label, g.num(c[0].n), g.num(total))}
		for _, x := range c[1:] {
			parts = append(parts, fmt.Sprintf("%s in %s", x.label, g.num(x.n)))
		}
		return strings.Join(parts, ", ") + "."
	},
	func(g *generator, c []counted, total int) string {
		parts := make([]string, len(c))
		for i, x := range c {
			parts[i] = fmt.Sprintf("%s with %s", g.num(x.n), x.label)
		}
		return fmt.Sprintf("Of %s comparable deliveries: %s.", g.num(total), listAnd(parts))
	},
	func(g *generator, c []counted, total int) string {
		parts := make([]string, len(c))
		for i, x := range c {
			parts[i] = fmt.Sprintf("%s %d", x.label, x.n)
		}
		return fmt.Sprintf("Candidate diagnoses (cases out of %d): %s.", total, strings.Join(parts, ", "))
	},
	func(g *generator, c []counted, total int) string {
		parts := make([]string, len(c))
		for i, x := range c {
			parts[i] = fmt.Sprintf("%s with %s", g.num(x.n), x.label)
			if i == 0 {
				parts[i] = fmt.Sprintf("%s %s discharged with %s", g.num(x.n), plural(x.n, "was", "were"), x.label)
			}
		}
		return fmt.Sprintf("Among %s women with a similar course, %s.", g.num(total), listAnd(parts))
	},
	func(g *generator, c []counted, total int) string {
		parts := make([]string, len(c))
		for i, x := range c {
			parts[i] = fmt.Sprintf("%s (%d)", x.label, x.n)
		}
		return fmt.Sprintf("Case series of %d: %s.", total, strings.Join(parts, ", "))
	},
	func(g *generator, c []counted, total int) string {
		parts := make([]string, len(c))
		for i, x := range c {
			parts[i] = fmt.Sprintf("%s %d/%d", x.label, x.n, total)
		}
		return "Differential: " + strings.Join(parts, "; ") + "."
	},
	func(g *generator, c []counted, total int) string {
		parts := make([]string, len(c))
		for i, x := range c {
			parts[i] = fmt.Sprintf("%s: %s %s.", x.label, g.num(x.n), plural(x.n, "case", "cases"))
		}
		return strings.Join(parts, " ")
	},
	func(g *generator, c []counted, total int) string {
		parts := make([]string, len(c))
		for i, x := range c {
			parts[i] = fmt.Sprintf("%s (%s %s)", x.label, g.num(x.n), plural(x.n, "woman", "women"))
		}
		return fmt.Sprintf("In a reference group of %s similar pregnancies the diagnoses were %s.", g.num(total), listAnd(parts))
	},
}

// percentForm writes the candidates as percentages, which are then the
// stated weights.
func percentForm(c []counted) string {
	parts := make([]string, len(c))
	for i, x := range c {
		parts[i] = fmt.Sprintf("%s %d%%", x.label, x.n)
	}
	return "Diagnoses by frequency in similar pregnancies: " + strings.Join(parts, ", ") + "."
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
		c[i] = counted{label: g.pool.labels[li], n: n[i]}
	}
	if g.chance(0.7) {
		sort.SliceStable(c, func(a, b int) bool { return c[a].n > c[b].n })
	}
	var text string
	if percent {
		text = percentForm(c)
	} else {
		text = pick(g.rng, countForms)(g, c, total)
	}
	cands := make([]Weight, m)
	for i, x := range c {
		cands[i] = Weight{Label: x.label, Weight: float64(x.n)}
	}
	if g.chance(g.opt.Lead) && g.opt.LeadWeight > 0 {
		lead := g.pool.labels[g.pool.candidates(g.rng, 1)[0]]
		text = fmt.Sprintf(pick(g.rng, leadForms), lead) + " " + text
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
	return g.withReply(KindDifferential, g.frame(text), cands)
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
		label := g.pool.labels[idx[i]]
		form := pick(g.rng, lv.forms)
		parts[k] = fmt.Sprintf(form, label)
		if k == 0 && !strings.HasPrefix(form, "%s") {
			parts[k] = sentence(parts[k])
		}
		cands[k] = Weight{Label: label, Weight: lv.weight}
	}
	sep := pick(g.rng, []string{"; ", ", "})
	text := pick(g.rng, likelihoodPrefixes) + strings.Join(parts, sep) + "."
	return g.withReply(KindLikelihood, g.frame(text), cands)
}
