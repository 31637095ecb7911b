package corpus

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Indicator is one laboratory indicator with what is known about it in
// general: its physical range, its reference interval and what a value
// outside the interval means.
type Indicator struct {
	// Name is the short code, for example "HGB".
	Name string
	// Description is the full name in lower case, for example
	// "haemoglobin".
	Description string
	// Unit is the unit values are written in; empty for dimensionless
	// ones such as urine pH.
	Unit string
	// Min and Max bound the physically possible values (inclusive).
	Min, Max float64
	// Low and High bound the reference interval (inclusive). NaN means
	// that side is unknown; both NaN means no interval is established.
	Low, High float64
	// Decimals is the number of digits after the decimal point values are
	// written with (0 to 6).
	Decimals int
	// Below and Above say what a value below or above the interval means
	// in general (a clause without a final full stop); empty when there is
	// nothing specific to say.
	Below, Above string
	// Source says where the interval comes from.
	Source string
}

// Validate reports an ErrInput error when the indicator cannot be used:
// an empty name or description, a NaN or inverted physical range, a
// reference interval that is inverted or outside the physical range, or
// Decimals outside 0 to 6.
func (in Indicator) Validate() error {
	switch {
	case strings.TrimSpace(in.Name) == "" || strings.TrimSpace(in.Description) == "":
		return fmt.Errorf("%w: indicator %q: empty name or description", ErrInput, in.Name)
	case math.IsNaN(in.Min) || math.IsNaN(in.Max) || math.IsInf(in.Min, 0) || math.IsInf(in.Max, 0) || in.Min > in.Max:
		return fmt.Errorf("%w: indicator %q: physical range [%v, %v]", ErrInput, in.Name, in.Min, in.Max)
	case in.Decimals < 0 || in.Decimals > 6:
		return fmt.Errorf("%w: indicator %q: %d decimals, want 0 to 6", ErrInput, in.Name, in.Decimals)
	}
	for _, b := range []float64{in.Low, in.High} {
		if !math.IsNaN(b) && (b < in.Min || b > in.Max) {
			return fmt.Errorf("%w: indicator %q: reference bound %v outside the physical range [%v, %v]", ErrInput, in.Name, b, in.Min, in.Max)
		}
	}
	if !math.IsNaN(in.Low) && !math.IsNaN(in.High) && in.Low > in.High {
		return fmt.Errorf("%w: indicator %q: reference interval [%v, %v] is inverted", ErrInput, in.Name, in.Low, in.High)
	}
	return nil
}

// Format writes v with the indicator's decimals and unit.
func (in Indicator) Format(v float64) string {
	s := strconv.FormatFloat(v, 'f', in.Decimals, 64)
	if in.Unit != "" {
		s += " " + in.Unit
	}
	return s
}

// Class tells where a value lies against the reference interval: -1 below,
// +1 above, 0 inside or when that side is unknown.
func (in Indicator) Class(v float64) int {
	switch {
	case !math.IsNaN(in.Low) && v < in.Low:
		return -1
	case !math.IsNaN(in.High) && v > in.High:
		return 1
	}
	return 0
}

// Interpret says in one sentence what the value v means against the
// reference interval, as the corpus's outputs do.
func (in Indicator) Interpret(v float64) string {
	val := in.Format(v)
	lo, hi := !math.IsNaN(in.Low), !math.IsNaN(in.High)
	if !lo && !hi {
		return fmt.Sprintf("No reference interval in pregnancy is established for %s; %s lies within the measurable range of %s and is read together with the related indices.",
			in.Description, val, in.span(in.Min, in.Max))
	}
	var where string
	c := in.Class(v)
	switch {
	case lo && hi:
		where = [...]string{"below", "within", "above"}[c+1] + " the reference interval of " + in.span(in.Low, in.High)
	case hi && c > 0:
		where = "above the upper reference limit of " + in.Format(in.High)
	case hi:
		where = "under the upper reference limit of " + in.Format(in.High)
	case c < 0:
		where = "below the lower reference limit of " + in.Format(in.Low)
	default:
		where = "at or above the lower reference limit of " + in.Format(in.Low)
	}
	meaning := "normal"
	switch {
	case c < 0 && in.Below != "":
		meaning = in.Below
	case c < 0:
		meaning = "low; recheck and read it with the rest of the panel"
	case c > 0 && in.Above != "":
		meaning = in.Above
	case c > 0:
		meaning = "high; recheck and read it with the rest of the panel"
	}
	return fmt.Sprintf("%s %s of %s is %s: %s.", sentence(article(in.Description)), in.Description, val, where, meaning)
}

// span writes an interval "a–b unit" with the bounds' shortest form.
func (in Indicator) span(a, b float64) string {
	s := strconv.FormatFloat(a, 'f', -1, 64) + "–" + strconv.FormatFloat(b, 'f', -1, 64)
	if in.Unit != "" {
		s += " " + in.Unit
	}
	return s
}

// article returns "a" or "an" for the word that follows.
func article(word string) string {
	w := strings.ToLower(word)
	if w == "" {
		return "a"
	}
	switch w[0] {
	case 'a', 'e', 'i', 'o':
		return "an"
	case 'u':
		if !strings.HasPrefix(w, "uri") && !strings.HasPrefix(w, "uni") {
			return "an"
		}
	}
	return "a"
}

// Trend names the change from a to b: "rising", "falling", or "stable"
// when it is at most 5 % of the larger magnitude.
func Trend(a, b float64) string {
	switch d := b - a; {
	case math.Abs(d) <= 0.05*math.Max(math.Abs(a), math.Abs(b)):
		return "stable"
	case d > 0:
		return "rising"
	}
	return "falling"
}

// zone returns the range the corpus draws values of class c from (-1
// below the interval, 0 inside, +1 above: as wide as the interval, within
// the physical range); ok is false when no value can be of that class.
// Without any interval, class 0 is the whole physical range.
func (in Indicator) zone(c int) (a, b float64, ok bool) {
	lo, hi := in.Low, in.High
	if math.IsNaN(lo) && math.IsNaN(hi) {
		return in.Min, in.Max, c == 0
	}
	if math.IsNaN(lo) {
		lo = in.Min
	}
	if math.IsNaN(hi) {
		hi = in.Max
	}
	w := hi - lo
	switch {
	case c == 0:
		return lo, hi, true
	case c < 0:
		return math.Max(in.Min, lo-w), lo, lo > in.Min
	}
	return hi, math.Min(in.Max, hi+w), hi < in.Max
}

// value draws a value below, within or above the reference interval with
// equal chances (among the classes that can occur), rounded to the
// indicator's decimals.
func (g *generator) value(in Indicator) float64 {
	var classes []int
	for c := -1; c <= 1; c++ {
		if _, _, ok := in.zone(c); ok {
			classes = append(classes, c)
		}
	}
	return g.valueOf(in, pick(g.rng, classes))
}

// valueOf draws a value of class c, which must be possible. Rounding can
// put it on the interval's bound, so callers describe it by in.Class.
func (g *generator) valueOf(in Indicator, c int) float64 {
	a, b, _ := in.zone(c)
	return g.round(in, a+g.rng.Float64()*(b-a))
}

func (g *generator) round(in Indicator, v float64) float64 {
	p := math.Pow(10, float64(in.Decimals))
	return math.Min(in.Max, math.Max(in.Min, math.Round(v*p)/p))
}

// valueForms write one value, given formatted with its unit.
var valueForms = []func(in Indicator, v string) string{
	func(in Indicator, v string) string { return sentence(in.Description) + " " + v + "." },
	func(in Indicator, v string) string { return in.Name + " " + v },
	func(in Indicator, v string) string { return "Her " + in.Description + " is " + v + "." },
	func(in Indicator, v string) string {
		return "What does " + article(in.Description) + " " + in.Description + " of " + v + " mean in pregnancy?"
	},
	func(in Indicator, v string) string { return in.Name + ": " + v + "." },
	func(in Indicator, v string) string { return "Lab result: " + in.Description + " " + v + "." },
}

// trendForms write a change from a to b (both formatted with the unit).
var trendForms = []func(in Indicator, a, b string) string{
	func(in Indicator, a, b string) string {
		return sentence(in.Description) + " went from " + a + " to " + b + "."
	},
	func(in Indicator, a, b string) string { return in.Name + " " + a + " → " + b },
	func(in Indicator, a, b string) string {
		return sentence(in.Description) + ": first " + a + ", last " + b + "."
	},
	func(in Indicator, a, b string) string {
		return "Her " + in.Description + " changed from " + a + " to " + b + "."
	},
}

// lab writes a statement about indicator i: one value (60 %), a change
// between two values (25 %) or two indicators' values (15 %).
func (g *generator) lab(inds []Indicator, i int) Pair {
	in := inds[i]
	switch u := g.rng.Float64(); {
	case u < 0.6 || (u >= 0.85 && len(inds) < 2):
		v := g.value(in)
		return Pair{Input: pick(g.rng, valueForms)(in, in.Format(v)), Output: in.Interpret(v), Kind: KindLab}
	case u < 0.85:
		a, b := g.value(in), g.value(in)
		trend := Trend(a, b)
		var change string
		switch trend {
		case "stable":
			change = fmt.Sprintf("%s was stable (%s, then %s)", sentence(in.Description), in.Format(a), in.Format(b))
		case "rising":
			change = fmt.Sprintf("%s rose from %s to %s", sentence(in.Description), in.Format(a), in.Format(b))
		default:
			change = fmt.Sprintf("%s fell from %s to %s", sentence(in.Description), in.Format(a), in.Format(b))
		}
		last := in.Interpret(b)
		out := change + "; the last value: " + strings.ToLower(last[:1]) + last[1:]
		return Pair{Input: pick(g.rng, trendForms)(in, in.Format(a), in.Format(b)), Output: out, Kind: KindLab}
	default:
		j := g.rng.IntN(len(inds) - 1)
		if j >= i {
			j++
		}
		other := inds[j]
		v, w := g.value(in), g.value(other)
		input := in.Name + " " + in.Format(v) + ", " + other.Name + " " + other.Format(w) + "."
		if g.chance(0.5) {
			input = sentence(in.Description) + " " + in.Format(v) + " and " + other.Description + " " + other.Format(w) + "."
		}
		return Pair{Input: input, Output: in.Interpret(v) + " " + other.Interpret(w), Kind: KindLab}
	}
}

// WithKnowledge completes a cohort's own catalogue with what known says
// about its indicators. Each indicator of catalogue brings its name,
// description, unit and physical range; from the known indicator of the
// same name and unit it takes the reference interval, decimals, meanings
// and source, when that interval lies inside its physical range.
// Indicators nothing is known about get no interval (NaN bounds) and
// decimals by magnitude (0 from 100 up, 1 from 10 up, else 2). The result
// may still fail Validate when the catalogue itself is invalid.
func WithKnowledge(catalogue, known []Indicator) []Indicator {
	out := make([]Indicator, len(catalogue))
	for i, m := range catalogue {
		r := Indicator{Name: m.Name, Description: m.Description, Unit: m.Unit, Min: m.Min, Max: m.Max,
			Low: math.NaN(), High: math.NaN(), Decimals: 2}
		switch {
		case math.Abs(m.Max) >= 100:
			r.Decimals = 0
		case math.Abs(m.Max) >= 10:
			r.Decimals = 1
		}
		for _, k := range known {
			if k.Name != m.Name || k.Unit != m.Unit || !inside(k.Low, m.Min, m.Max) || !inside(k.High, m.Min, m.Max) {
				continue
			}
			r.Low, r.High, r.Decimals = k.Low, k.High, k.Decimals
			r.Below, r.Above, r.Source = k.Below, k.Above, k.Source
			break
		}
		out[i] = r
	}
	return out
}

// inside reports whether a known bound b lies in [lo, hi]; NaN (unknown)
// always does.
func inside(b, lo, hi float64) bool { return math.IsNaN(b) || (b >= lo && b <= hi) }
