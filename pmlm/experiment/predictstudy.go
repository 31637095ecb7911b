package experiment

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/predict"
)

// PredictorFactory makes an unfitted predictor for a seed.
type PredictorFactory func(seed uint64) (predict.Predictor, error)

// PredictorStudy is the result of ComparePredictors on one split: every
// predictor fitted on the training split under each seed and scored on the
// split's patients.
type PredictorStudy struct {
	// Split is "test" or "validation".
	Split string
	// Labels are the cohort's labels; Truth the label indices of the
	// split's patients.
	Labels []string
	Truth  []int
	Seeds  []uint64
	// Patients are the IDs of the split's patients, in Truth's order.
	Patients []string
	// Rows are the majority reference, the learnable-share ceiling when
	// unlearnable labels were given, then the predictors in order.
	Rows []PredictorRow
}

// PredictorRow is one row of a PredictorStudy, scores in percent.
type PredictorRow struct {
	Name string
	// Reference marks the majority and ceiling rows, which are not fitted.
	Reference bool
	// MicroF1 and MacroF1 summarize the runs (mean ± std over seeds).
	MicroF1, MacroF1 Stat
	// FitSeconds is the mean fitting time over the seeds (wall clock).
	FitSeconds float64
	// PerLabelF1 is each label's F1 (percent) averaged over the seeds, in
	// the order of PredictorStudy.Labels.
	PerLabelF1 []float64
	// Pred is [seed][patient] the predicted label index.
	Pred [][]int
}

// StudyOptions configure ComparePredictors.
type StudyOptions struct {
	// Seeds are the seeds each predictor is fitted with (default {1}).
	Seeds []uint64
	// Unlearnable names labels that carry no signal by design (see
	// synth.UnlearnableLabels). When set, a ceiling row is added: perfect
	// on every other label, the training majority on these. Each must be
	// one of the cohort's labels.
	Unlearnable []string
}

// ComparePredictors fits each named predictor on the cohort's training
// split once per seed and scores the same fit on the validation and on the
// test split (so that a predictor can be chosen on the first and reported
// on the second), with the majority answer (and the learnable-share
// ceiling) as reference rows. The validation study is nil when the split
// leaves no validation patients.
func ComparePredictors(ctx context.Context, c *cohort.Cohort, split cohort.SplitBoundaries,
	names []string, factories []PredictorFactory, o StudyOptions) (validation, test *PredictorStudy, err error) {
	if len(names) != len(factories) {
		return nil, nil, fmt.Errorf("%w: %d names for %d predictors", ErrConfig, len(names), len(factories))
	}
	seeds := o.Seeds
	if len(seeds) == 0 {
		seeds = []uint64{1}
	}
	trainP, valP, testP := c.Split(split)
	if len(trainP) < 2 || len(testP) == 0 {
		return nil, nil, fmt.Errorf("%w: the split leaves %d training and %d test patients; need at least 2 and 1",
			ErrConfig, len(trainP), len(testP))
	}
	trainX, trainY, err := seriesOf(c, trainP)
	if err != nil {
		return nil, nil, err
	}
	k := len(c.Labels)
	majority := majorityLabel(trainY, k)
	unlearnable := make([]bool, k)
	for _, name := range o.Unlearnable {
		i := c.LabelIndex(name)
		if i < 0 {
			return nil, nil, fmt.Errorf("%w: unlearnable label %q is not among the cohort's labels", ErrConfig, name)
		}
		unlearnable[i] = true
	}
	type part struct {
		st *PredictorStudy
		x  [][][]float64
	}
	var parts []part
	for _, sp := range []struct {
		name     string
		patients []*cohort.Patient
	}{{"validation", valP}, {"test", testP}} {
		if len(sp.patients) == 0 {
			parts = append(parts, part{})
			continue
		}
		x, y, err := seriesOf(c, sp.patients)
		if err != nil {
			return nil, nil, err
		}
		st := &PredictorStudy{Split: sp.name, Labels: slices.Clone(c.Labels), Truth: y, Seeds: slices.Clone(seeds)}
		for _, pt := range sp.patients {
			st.Patients = append(st.Patients, pt.ID)
		}
		reference := func(name string, pred []int) error {
			runs := make([][]int, len(seeds))
			for s := range runs {
				runs[s] = pred
			}
			row, err := scoreRow(name, runs, y, k, 0)
			row.Reference = true
			st.Rows = append(st.Rows, row)
			return err
		}
		constant := make([]int, len(y))
		ceiling := make([]int, len(y))
		for i, l := range y {
			constant[i], ceiling[i] = majority, l
			if unlearnable[l] {
				ceiling[i] = majority
			}
		}
		if err := reference("majority ("+c.Labels[majority]+")", constant); err != nil {
			return nil, nil, err
		}
		if len(o.Unlearnable) > 0 {
			if err := reference("ceiling (learnable labels)", ceiling); err != nil {
				return nil, nil, err
			}
		}
		parts = append(parts, part{st: st, x: x})
	}
	for pi, newP := range factories {
		runs := make([][][]int, len(parts)) // [part][seed][patient]
		for i := range runs {
			runs[i] = make([][]int, len(seeds))
		}
		var fit time.Duration
		for s, seed := range seeds {
			p, err := newP(seed)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", names[pi], err)
			}
			start := time.Now()
			if err := p.Fit(ctx, trainX, trainY, k); err != nil {
				return nil, nil, fmt.Errorf("%s (seed %d): %w", names[pi], seed, err)
			}
			fit += time.Since(start)
			for i, pt := range parts {
				if pt.st == nil {
					continue
				}
				if runs[i][s], err = predict.PredictAll(ctx, p, pt.x); err != nil {
					return nil, nil, fmt.Errorf("%s (seed %d): %w", names[pi], seed, err)
				}
			}
		}
		for i, pt := range parts {
			if pt.st == nil {
				continue
			}
			row, err := scoreRow(names[pi], runs[i], pt.st.Truth, k, fit.Seconds()/float64(len(seeds)))
			if err != nil {
				return nil, nil, err
			}
			pt.st.Rows = append(pt.st.Rows, row)
		}
	}
	return parts[0].st, parts[1].st, nil
}

func majorityLabel(labels []int, k int) int {
	counts := make([]int, k)
	for _, y := range labels {
		counts[y]++
	}
	m := 0
	for i, n := range counts {
		if n > counts[m] {
			m = i
		}
	}
	return m
}

// scoreRow summarizes the runs ([seed][patient]) of one predictor.
func scoreRow(name string, runs [][]int, truth []int, k int, fitSeconds float64) (PredictorRow, error) {
	row := PredictorRow{Name: name, FitSeconds: fitSeconds, Pred: runs, PerLabelF1: make([]float64, k)}
	var micro, macro []float64
	for _, pred := range runs {
		sc, err := predict.Score(pred, truth, k)
		if err != nil {
			return row, fmt.Errorf("%s: %w", name, err)
		}
		micro = append(micro, 100*sc.MicroF1)
		macro = append(macro, 100*sc.MacroF1)
		for c, pc := range sc.PerClass {
			row.PerLabelF1[c] += 100 * pc.F1 / float64(len(runs))
		}
	}
	row.MicroF1, row.MacroF1 = NewStat(micro), NewStat(macro)
	return row, nil
}

// PairedF1 is the difference a − b of two rows of a study in micro- and
// macro-F1 (percentage points): the mean ± std over seeds of the per-seed
// differences, the number of seeds where a is ahead, and the 95 % paired
// cluster-bootstrap interval over test patients of the difference averaged
// over the seeds (each resample rescored, so macro-F1 is recomputed from
// the resampled patients).
func (st *PredictorStudy) PairedF1(a, b int, o BootstrapOptions) (micro, macro Stat, err error) {
	ra, rb := st.Rows[a], st.Rows[b]
	if len(ra.Pred) != len(rb.Pred) {
		return micro, macro, fmt.Errorf("%w: %d and %d seeds", ErrConfig, len(ra.Pred), len(rb.Pred))
	}
	k := len(st.Labels)
	// f1 returns a − b under seed s with patients counted counts times
	// (nil: once each): micro-F1 first, macro-F1 second.
	f1 := func(s int, counts []int) [2]float64 {
		sa, erra := predict.WeightedScore(ra.Pred[s], st.Truth, counts, k)
		sb, errb := predict.WeightedScore(rb.Pred[s], st.Truth, counts, k)
		if erra != nil || errb != nil {
			return [2]float64{} // unreachable: the rows were scored before
		}
		return [2]float64{100 * (sa.MicroF1 - sb.MicroF1), 100 * (sa.MacroF1 - sb.MacroF1)}
	}
	var out [2]Stat
	for m := range out {
		var perSeed []float64
		for s := range ra.Pred {
			perSeed = append(perSeed, f1(s, nil)[m])
		}
		out[m] = NewStat(perSeed)
		for _, x := range perSeed {
			if x > 0 {
				out[m].Positive++
			}
		}
		iv, err := bootstrap(len(st.Truth), o, func(counts []int) float64 {
			d := 0.0
			for s := range ra.Pred {
				d += f1(s, counts)[m]
			}
			return d / float64(len(ra.Pred))
		})
		if err != nil {
			return micro, macro, err
		}
		out[m].CI = &iv
	}
	return out[0], out[1], nil
}

// AddTwinReference appends row of twin, a study of the same split on a
// twin cohort (the same patients with other values, such as the synthetic
// generator's noise-free twin), to st as a reference row with the given
// name, so that st's predictors can be compared with it patient by patient
// (PairedF1). It refuses a study that is not a twin: another split, label
// set, seeds, patient or label.
func (st *PredictorStudy) AddTwinReference(twin *PredictorStudy, row int, name string) error {
	switch {
	case twin == nil || row < 0 || row >= len(twin.Rows):
		return fmt.Errorf("%w: no row %d in the twin study", ErrConfig, row)
	case twin.Split != st.Split:
		return fmt.Errorf("%w: the twin study is of the %s split, not the %s split", ErrConfig, twin.Split, st.Split)
	case !slices.Equal(twin.Labels, st.Labels):
		return fmt.Errorf("%w: the twin cohort's labels differ", ErrConfig)
	case !slices.Equal(twin.Seeds, st.Seeds):
		return fmt.Errorf("%w: the twin study has seeds %v, not %v", ErrConfig, twin.Seeds, st.Seeds)
	case len(twin.Patients) != len(st.Patients):
		return fmt.Errorf("%w: the twin cohort's %s split has %d patients, not %d", ErrConfig, st.Split, len(twin.Patients), len(st.Patients))
	}
	for i, id := range st.Patients {
		if twin.Patients[i] != id {
			return fmt.Errorf("%w: %s patient %d is %s in the twin cohort, not %s", ErrConfig, st.Split, i+1, twin.Patients[i], id)
		}
		if twin.Truth[i] != st.Truth[i] {
			return fmt.Errorf("%w: patient %s has label %q in the twin cohort, not %q", ErrConfig, id, st.Labels[twin.Truth[i]], st.Labels[st.Truth[i]])
		}
	}
	r := twin.Rows[row]
	r.Name, r.Reference = name, true
	st.Rows = append(st.Rows, r)
	return nil
}
