package experiment

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/pmlm-go/pmlm/pmlm"
)

// Heatmap is figure 6: how often the policy deleted the word at each
// position of the coarse prompt at each step, on the test split.
type Heatmap struct {
	// Counts[i][j] is the number of test patients whose word at position j
	// of the coarse prompt was deleted at step i, averaged over seeds.
	Counts [][]float64
	// Beyond is the mean number of deletions at positions past the last
	// column of Counts.
	Beyond float64
	// Deletions is the mean number of deletions per seed: the sum of
	// Counts and Beyond.
	Deletions float64
	// Patients and Seeds are the test patients and seeds counted.
	Patients, Seeds int
}

// Fig6 counts the full method's deletions per step and word position over
// the test patients.
func (r *Runner) Fig6(ctx context.Context) (*Heatmap, error) {
	h := &Heatmap{Counts: make([][]float64, r.n), Patients: len(r.test), Seeds: len(r.cfg.Seeds)}
	for i := range h.Counts {
		h.Counts[i] = make([]float64, r.cfg.Positions)
	}
	for _, s := range r.cfg.Seeds {
		ev, err := r.evaluate(ctx, r.full(s))
		if err != nil {
			return nil, err
		}
		for _, d := range ev.Deletions {
			if d.Step < 0 || d.Step >= r.n {
				return nil, fmt.Errorf("experiment: deletion at step %d of %d", d.Step, r.n)
			}
			if d.Index >= 0 && d.Index < r.cfg.Positions { // −1: a word a replace action inserted
				h.Counts[d.Step][d.Index]++
			} else {
				h.Beyond++
			}
			h.Deletions++
		}
	}
	seeds := float64(len(r.cfg.Seeds))
	for _, row := range h.Counts {
		for j := range row {
			row[j] /= seeds
		}
	}
	h.Beyond /= seeds
	h.Deletions /= seeds
	return h, nil
}

// WriteCSV writes one row per step: the step, then the count of every
// position.
func (h *Heatmap) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	header := []string{"step"}
	if len(h.Counts) > 0 {
		for j := range h.Counts[0] {
			header = append(header, "pos"+strconv.Itoa(j))
		}
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	for i, row := range h.Counts {
		rec := []string{strconv.Itoa(i)}
		for _, c := range row {
			rec = append(rec, strconv.FormatFloat(c, 'f', -1, 64))
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Sweep is one panel of figure 7: BERTScore after refinement as one
// hyper-parameter varies and the others keep the full method's values.
type Sweep struct {
	// Param is the parameter ("k" or "n") and Label its axis label.
	Param, Label string
	Values       []int
	// Seeds is the number of seeds each point is the mean of.
	Seeds int
	// P, R and F are BERTScore precision, recall and F1 at each value.
	P, R, F []Stat
}

// Table returns the sweep as a table, one row per value.
func (s *Sweep) Table() *Table {
	t := &Table{Name: "fig7_" + s.Param, Title: "Figure 7: BERTScore as " + s.Label + " varies",
		LabelColumns: []string{s.Param}, ValueColumns: []string{"BERTScore-P", "BERTScore-R", "BERTScore-F1"}}
	for i, v := range s.Values {
		t.Rows = append(t.Rows, Row{Labels: []string{strconv.Itoa(v)}, Values: []Stat{s.P[i], s.R[i], s.F[i]}})
	}
	return t
}

// Fig7 sweeps the number of similar patients k (at the full method's n)
// and the number of deletion steps n (at its k); n = 0 is the coarse
// prompt of the full method, unrefined.
func (r *Runner) Fig7(ctx context.Context) ([]*Sweep, error) {
	var out []*Sweep
	sweep := func(param, label string, values []int, at func(int) (func(*variant), func(*outcome) pmlm.Scores)) error {
		if len(values) == 0 {
			return nil
		}
		s := &Sweep{Param: param, Label: label, Values: values, Seeds: len(r.cfg.Seeds)}
		for _, x := range values {
			change, pick := at(x)
			runs, err := r.perSeed(ctx, change, pick)
			if err != nil {
				return err
			}
			st := metricStats(runs)
			s.P, s.R, s.F = append(s.P, st[4]), append(s.R, st[5]), append(s.F, st[6])
		}
		out = append(out, s)
		return nil
	}
	if err := sweep("k", "the number of similar patients k", r.cfg.Ks, func(k int) (func(*variant), func(*outcome) pmlm.Scores) {
		return func(v *variant) { v.k = k }, picker(promptRefined)
	}); err != nil {
		return nil, err
	}
	if err := sweep("n", "the number of deletion steps n", r.cfg.Ns, func(n int) (func(*variant), func(*outcome) pmlm.Scores) {
		if n == 0 {
			return func(*variant) {}, picker(promptCoarse)
		}
		return func(v *variant) { v.n = n }, picker(promptRefined)
	}); err != nil {
		return nil, err
	}
	return out, nil
}
