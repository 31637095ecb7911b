package prompt

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// This file holds the paper's other prompts, the ones without PMLM: the
// evaluation prompt of figure 5 (the task and the patient's laboratory
// history written out as text; the paper's "before" rows of table 1 and
// the input its fine-tuned baselines of table 2 are trained on), and a
// prompt with the task alone. Unlike the coarse prompt they are not built
// from Data, and General carries raw laboratory values.

// Series is one indicator's observations of one patient.
type Series struct {
	// Name is the indicator's code, for example "HGB".
	Name string
	// Unit is the unit of the values; empty for dimensionless ones.
	Unit string
	// Days holds the day of each value (gestational, or counted from any
	// fixed day), Values the values; NaN marks a missing value, which is
	// left out. Both have the same length.
	Days, Values []float64
}

// ErrSeries marks series that cannot be written: mismatched lengths, an
// empty name, a non-finite day or an infinite value, or a name in
// HistoryOptions.Only that no series has.
var ErrSeries = errors.New("prompt: invalid series")

// HistoryOptions configures LabHistory. The zero value writes every
// series in full.
type HistoryOptions struct {
	// Only keeps the series of these names, in this order; nil keeps all,
	// in the order given.
	Only []string
	// Brief leaves out the range and the number of values:
	// "HGB 128 → 104 g/L, falling".
	Brief bool
}

// LabHistory writes a patient's laboratory history compactly: a header
// with the number of examination days and the span they cover, then one
// line per indicator with at least one value, in the order given:
//
//	HGB 128 → 104 g/L (min 101, max 130; falling; 12 values)
//
// that is the first and last value, the lowest and highest (when there
// are more than two values), the trend and the number of values. The
// trend compares the last value with the first, as a discharge letter
// does: "stable" when the change is at most 5 % of the larger of the two,
// else "rising" or "falling"; values all on one day have no trend. Values
// are written with 2 decimals below 10, 1 below 100 and none from 100 up,
// trailing zeros dropped. Callers that want a shorter text pass fewer
// series.
//
// Why this form: a patient has up to 45 examinations of 35 indicators,
// about 570 values on average, far more than a clinician reads at
// discharge or an LLM needs. What a discharge letter uses is where an
// indicator started and ended, how far it went and which way it moved
// (the cohort's replies quote exactly such items: "haemoglobin went down
// from 128 g/L to 104 g/L"). The form keeps those in about 13 words per
// indicator, a few hundred for a patient, so that it fits the context of
// a small model and costs little with a paid one. Only and Brief shorten
// it further for models with a short context. Measured on the default
// synthetic cohort (pmlm prompt DIR --kind general --stats [--brief]
// [--only key]), mean words per general prompt (and tokens of the
// project's llm/lm vocabulary, which spells numbers digit by digit):
//
//	all 35 indicators           459 words (1068 tokens)
//	  Brief                     245 words  (537 tokens)
//	11 key indicators           176 words  (371 tokens)
//	  Brief                     103 words  (200 tokens)
//
// Privacy: the text holds raw laboratory values. It may only go to an
// external LLM on the user's explicit opt-in, or to a model the hospital
// hosts itself.
func LabHistory(series []Series, opt HistoryOptions) (string, error) {
	for i, s := range series {
		if err := s.validate(); err != nil {
			return "", fmt.Errorf("series %d: %w", i, err)
		}
	}
	if opt.Only != nil {
		picked := make([]Series, 0, len(opt.Only))
		for _, name := range opt.Only {
			i := slices.IndexFunc(series, func(s Series) bool { return s.Name == name })
			if i < 0 {
				return "", fmt.Errorf("%w: HistoryOptions.Only names %q, which no series has", ErrSeries, name)
			}
			picked = append(picked, series[i])
		}
		series = picked
	}
	days := map[float64]bool{}
	var lines []string
	for _, s := range series {
		line, ok := s.line(opt.Brief)
		if !ok {
			continue
		}
		lines = append(lines, line)
		for j, v := range s.Values {
			if !math.IsNaN(v) {
				days[s.Days[j]] = true
			}
		}
	}
	if len(lines) == 0 {
		return "Laboratory history: no values recorded.", nil
	}
	var all []float64
	for d := range days {
		all = append(all, d)
	}
	sort.Float64s(all)
	span := all[len(all)-1] - all[0]
	what := "the first → last value, the lowest and highest, the trend and the number of values"
	if opt.Brief {
		what = "the first → last value and the trend"
	}
	header := fmt.Sprintf("Laboratory history: %d examination %s over %s %s; per indicator %s.",
		len(all), plural(len(all), "day", "days"), number(span), plural(int(math.Round(span)), "day", "days"), what)
	return header + "\n" + strings.Join(lines, "\n"), nil
}

func (s Series) validate() error {
	if strings.TrimSpace(s.Name) == "" {
		return fmt.Errorf("%w: empty name", ErrSeries)
	}
	if len(s.Days) != len(s.Values) {
		return fmt.Errorf("%w: %s: %d days and %d values", ErrSeries, s.Name, len(s.Days), len(s.Values))
	}
	for j, d := range s.Days {
		if math.IsNaN(d) || math.IsInf(d, 0) || math.IsInf(s.Values[j], 0) {
			return fmt.Errorf("%w: %s: value %d: day %v, value %v", ErrSeries, s.Name, j, d, s.Values[j])
		}
	}
	return nil
}

// line writes the indicator's line, without range and count when brief;
// ok is false when it has no value.
func (s Series) line(brief bool) (line string, ok bool) {
	type obs struct{ day, v float64 }
	var o []obs
	for j, v := range s.Values {
		if !math.IsNaN(v) {
			o = append(o, obs{s.Days[j], v})
		}
	}
	if len(o) == 0 {
		return "", false
	}
	sort.SliceStable(o, func(a, b int) bool { return o[a].day < o[b].day })
	lo, hi := o[0].v, o[0].v
	for _, x := range o {
		lo, hi = math.Min(lo, x.v), math.Max(hi, x.v)
	}
	unit := ""
	if s.Unit != "" {
		unit = " " + s.Unit
	}
	if len(o) == 1 && brief {
		return fmt.Sprintf("%s %s%s", s.Name, number(o[0].v), unit), true
	}
	if len(o) == 1 {
		return fmt.Sprintf("%s %s%s (1 value)", s.Name, number(o[0].v), unit), true
	}
	first, last := o[0].v, o[len(o)-1].v
	if brief {
		line = fmt.Sprintf("%s %s → %s%s", s.Name, number(first), number(last), unit)
		if o[0].day != o[len(o)-1].day {
			line += ", " + trend(first, last)
		}
		return line, true
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s → %s%s (", s.Name, number(first), number(last), unit)
	if len(o) > 2 {
		fmt.Fprintf(&b, "min %s, max %s; ", number(lo), number(hi))
	}
	if o[0].day != o[len(o)-1].day {
		b.WriteString(trend(first, last) + "; ")
	}
	fmt.Fprintf(&b, "%d values)", len(o))
	return b.String(), true
}

// trend names the change from a to b: "stable" when it is at most 5 % of
// the larger magnitude, else "rising" or "falling".
func trend(a, b float64) string {
	switch d := b - a; {
	case math.Abs(d) <= 0.05*math.Max(math.Abs(a), math.Abs(b)):
		return "stable"
	case d > 0:
		return "rising"
	}
	return "falling"
}

// number writes v with 2 decimals below 10, 1 below 100, none above,
// without trailing zeros.
func number(v float64) string {
	dec := 2
	switch a := math.Abs(v); {
	case a >= 100:
		dec = 0
	case a >= 10:
		dec = 1
	}
	s := strconv.FormatFloat(v, 'f', dec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// generalTask is the instruction of the prompts without PMLM.
const generalTask = "Instruction: you are an obstetrician. Write the discharge advice the doctor would give this pregnant patient after her delivery."

// General returns the paper's evaluation prompt (figure 5): the task and
// the patient's laboratory history, as LabHistory writes it. It is the
// "general" prompt of table 1, and the input of the fine-tuned baseline of
// table 2.
//
// Privacy: it carries raw laboratory values. Send it to an external LLM
// only on the user's explicit opt-in, or to a model the hospital hosts
// itself.
func General(history string) string {
	return generalTask + "\nInput: " + history
}

// TaskOnly returns the task of General without any patient information:
// the floor any personalization has to beat.
func TaskOnly() string { return generalTask }
