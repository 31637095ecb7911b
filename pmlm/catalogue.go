package pmlm

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/pmlm-go/pmlm/encoder/mlp"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

// Catalogue returns the model's metric catalogue (names, units, physical
// ranges) in the order the values of a patient's visits must follow when
// no other catalogue is given (RespondOptions.Metrics).
func (p *Pipeline) Catalogue() []cohort.Metric { return slices.Clone(p.metrics) }

// MaxVisits returns the most visits a patient given to Respond may have:
// the patient encoder's input length when it has one (encoder/mlp pads or
// cuts to it), cohort.DefaultMaxVisits otherwise.
func (p *Pipeline) MaxVisits() int {
	if m, ok := p.builder.encoder.(*mlp.MLP); ok {
		return m.Config.MaxVisits
	}
	return cohort.DefaultMaxVisits
}

// ErrPatient is returned when a patient does not fit the model: a metric
// the model does not know or lacks, a value outside its metric's physical
// range or not finite, too many visits. The *PatientError that carries it
// lists every problem.
var ErrPatient = errors.New("pmlm: patient does not fit the model")

// Problem is one reason a patient does not fit the model.
type Problem struct {
	// Visit is the 0-based index of the visit concerned (in the order
	// given), or -1 when the problem concerns the patient as a whole.
	Visit int `json:"visit"`
	// Metric names the metric concerned; empty when none.
	Metric string `json:"metric,omitempty"`
	// Message says what is wrong and, in lenient mode, what was done.
	Message string `json:"message"`
}

// String formats the problem as "visit 3, HGB: MESSAGE".
func (pr Problem) String() string {
	var b strings.Builder
	if pr.Visit >= 0 {
		fmt.Fprintf(&b, "visit %d", pr.Visit)
	}
	if pr.Metric != "" {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(pr.Metric)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(pr.Message)
	return b.String()
}

// PatientError lists the problems that made a patient unusable. It
// matches ErrPatient with errors.Is. Messages carry no patient ID and no
// lab value other than the offending one.
type PatientError struct {
	Problems []Problem
}

// Error lists the first ten problems and counts the others.
func (e *PatientError) Error() string {
	const listed = 10
	var parts []string
	for i, pr := range e.Problems {
		if i == listed {
			parts = append(parts, fmt.Sprintf("and %d more", len(e.Problems)-listed))
			break
		}
		parts = append(parts, pr.String())
	}
	return fmt.Sprintf("%v: %s", ErrPatient, strings.Join(parts, "; "))
}

// Is reports whether target is ErrPatient.
func (e *PatientError) Is(target error) bool { return target == ErrPatient }

// ConformOptions configures Pipeline.Conform.
type ConformOptions struct {
	// Metrics is the catalogue the patient's Visit.Values follow; its
	// metrics are matched to the model's by name (the order may differ).
	// Nil means the model's own catalogue (Catalogue).
	Metrics []cohort.Metric
	// Lenient applies the cohort reader's lenient column of its
	// reject/warn table (package cohort) instead of refusing: an unknown
	// metric is ignored, a model metric absent from Metrics is missing in
	// every visit, a visit with a non-finite or out-of-range value is
	// skipped, and of too many visits the earliest are skipped. Each is
	// reported as a Problem. A patient left without visits is still
	// refused.
	Lenient bool
}

// Conform returns a copy of the patient with each visit's values in the
// model's catalogue order, matched by metric name, after the checks of the
// cohort reader's table (package cohort, "Validation"): unknown and
// missing metrics, duplicate names, values that are infinite or outside
// the model's physical range of their metric (NaN is a missing value),
// more visits than MaxVisits, no visits. Visits are sorted by date
// (stable), as the reader sorts them. In strict mode any problem refuses
// the patient with a *PatientError; in lenient mode the returned problems
// say what was skipped.
func (p *Pipeline) Conform(patient *cohort.Patient, opts ConformOptions) (*cohort.Patient, []Problem, error) {
	if patient == nil {
		return nil, nil, fmt.Errorf("%w: nil patient", ErrOptions)
	}
	if len(patient.Visits) == 0 {
		return nil, nil, ErrNoVisits
	}
	var problems []Problem
	fail := func() (*cohort.Patient, []Problem, error) {
		return nil, nil, &PatientError{Problems: problems}
	}
	model := p.metrics
	from := opts.Metrics
	if from == nil {
		from = model
	}
	// src[m] is the position in the caller's values of model metric m, -1
	// when the caller has none.
	src := make([]int, len(model))
	for i := range src {
		src[i] = -1
	}
	seen := make(map[string]bool, len(from))
	for j, m := range from {
		if seen[m.Name] {
			problems = append(problems, Problem{Visit: -1, Metric: m.Name, Message: "metric listed twice"})
			continue
		}
		seen[m.Name] = true
		i := slices.IndexFunc(model, func(x cohort.Metric) bool { return x.Name == m.Name })
		if i < 0 {
			if opts.Lenient {
				problems = append(problems, Problem{Visit: -1, Metric: m.Name, Message: "metric unknown to the model; ignored"})
				continue
			}
			problems = append(problems, Problem{Visit: -1, Metric: m.Name, Message: "metric unknown to the model"})
			continue
		}
		src[i] = j
	}
	for i, m := range model {
		if src[i] < 0 && !seen[m.Name] {
			msg := "metric of the model missing"
			if opts.Lenient {
				msg += "; every value of it missing"
			}
			problems = append(problems, Problem{Visit: -1, Metric: m.Name, Message: msg})
		}
	}
	if !opts.Lenient && len(problems) > 0 {
		return fail()
	}

	out := &cohort.Patient{ID: patient.ID, IndexDate: patient.IndexDate, Label: patient.Label, Response: patient.Response}
	for v, visit := range patient.Visits {
		if len(visit.Values) != len(from) {
			// The values cannot be matched to names: refused in both modes.
			problems = append(problems, Problem{Visit: v, Message: fmt.Sprintf("%d values for a catalogue of %d metrics", len(visit.Values), len(from))})
			return fail()
		}
		vals := make([]float64, len(model))
		bad := false
		for i, m := range model {
			if src[i] < 0 {
				vals[i] = cohort.Missing()
				continue
			}
			x := visit.Values[src[i]]
			vals[i] = x
			switch {
			case cohort.IsMissing(x):
			case math.IsInf(x, 0):
				problems = append(problems, Problem{Visit: v, Metric: m.Name, Message: skipped("value is not finite", opts.Lenient)})
				bad = true
			case !m.InRange(x):
				problems = append(problems, Problem{Visit: v, Metric: m.Name, Message: skipped(
					fmt.Sprintf("value %g outside the physical range [%g, %g]%s", x, m.Min, m.Max, unit(m)), opts.Lenient)})
				bad = true
			}
		}
		if bad {
			continue
		}
		out.Visits = append(out.Visits, cohort.Visit{Date: visit.Date, Values: vals})
	}
	if !opts.Lenient && len(problems) > 0 {
		return fail()
	}
	// Sort by date, keeping the given order of same-day visits.
	order := make([]int, len(out.Visits))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return out.Visits[a].Date.Compare(out.Visits[b].Date) })
	sorted := make([]cohort.Visit, len(order))
	for i, k := range order {
		sorted[i] = out.Visits[k]
	}
	out.Visits = sorted
	if limit := p.MaxVisits(); len(out.Visits) > limit {
		if !opts.Lenient {
			problems = append(problems, Problem{Visit: -1, Message: fmt.Sprintf("%d visits, more than the model's maximum of %d", len(out.Visits), limit)})
			return fail()
		}
		problems = append(problems, Problem{Visit: -1, Message: fmt.Sprintf("%d visits, more than the model's maximum of %d; the %d earliest skipped", len(out.Visits), limit, len(out.Visits)-limit)})
		out.Visits = out.Visits[len(out.Visits)-limit:]
	}
	if len(out.Visits) == 0 {
		problems = append(problems, Problem{Visit: -1, Message: "no usable visits"})
		return fail()
	}
	return out, problems, nil
}

func skipped(msg string, lenient bool) string {
	if lenient {
		return msg + "; visit skipped"
	}
	return msg
}

func unit(m cohort.Metric) string {
	if m.Unit == "" {
		return ""
	}
	return " " + m.Unit
}
