// Package experiment reruns the PMLM paper's study (section 5 and appendix
// A.3) on a cohort: per responder, the answers to the task alone, to the
// paper's general evaluation prompt (task and lab history), to PMLM's
// coarse prompt and to its refined prompt, with paired differences and
// controls (table 1); a fine-tuned LM beside PMLM (table 2); the ablation
// (table 3), the heatmap of deleted word positions (figure 6), the sweeps
// of k and n (figure 7) and the predictor study (table A1).
//
// Every difference row carries a 95 % paired cluster-bootstrap interval
// over the test patients (BootstrapMean) and the number of seeds whose
// difference is positive. The general prompt carries raw lab values: it
// goes to the case responder and to local models (Responder.Local), to any
// other LLM only with Config.GeneralOptIn.
//
// A Runner trains and evaluates every configuration an experiment needs
// once per seed and caches it, so that experiments sharing a configuration
// (the full method appears in tables 1 and 3 and in both sweeps) pay for it
// once. Results are returned as data (Table, Heatmap, Sweep); this package
// also renders them as Markdown, CSV and PNG.
//
// Reproducibility: seeds fix the cohort split, the predictor, the
// initial weights, the dropout masks and the policy's sampling. What is left
// is spago summing gradients in no fixed order and, with several training
// workers, the order in which concurrent episodes draw their masks; use one
// training worker (the default) for repeatable numbers. (Before the patient
// encoder got a dropout generator of its own, two runs of the quick study
// agreed in 22 of 24 configurations.)
package experiment

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Stat is a mean over runs (seeds) with its spread.
type Stat struct {
	Mean float64
	// Std is the sample standard deviation (n-1 in the denominator); 0
	// with a single run.
	Std float64
	// N is the number of runs. 0 marks a value copied from elsewhere (the
	// paper), which has no known spread.
	N int
	// CI is the 95 % paired cluster-bootstrap interval of a difference
	// row (nil in other rows), and Positive the number of runs whose
	// difference is above zero.
	CI       *Interval `json:",omitempty"`
	Positive int       `json:",omitempty"`
	// PositiveOf is what Positive counts out of when that is not N: the
	// headroom measurement, one run over many patients, counts patients.
	PositiveOf int `json:",omitempty"`
}

// NewStat summarizes runs.
func NewStat(runs []float64) Stat {
	s := Stat{N: len(runs)}
	if s.N == 0 {
		return Stat{Mean: math.NaN()}
	}
	for _, x := range runs {
		s.Mean += x
	}
	s.Mean /= float64(s.N)
	if s.N > 1 {
		for _, x := range runs {
			s.Std += (x - s.Mean) * (x - s.Mean)
		}
		s.Std = math.Sqrt(s.Std / float64(s.N-1))
	}
	return s
}

// String formats the mean with two decimals and, for a measured value of
// several runs, "± std"; a difference adds its interval and the share of
// runs with a positive difference: "0.41 ± 0.20 [0.12, 0.70] 5/5".
func (s Stat) String() string {
	out := fmt.Sprintf("%.2f", s.Mean)
	if s.N > 1 {
		out = fmt.Sprintf("%.2f ± %.2f", s.Mean, s.Std)
	}
	if s.CI != nil {
		of := s.N
		if s.PositiveOf > 0 {
			of = s.PositiveOf
		}
		out += fmt.Sprintf(" [%.2f, %.2f] %d/%d", s.CI.Low, s.CI.High, s.Positive, of)
	}
	return out
}

// Row is one row of a Table: its label cells, then one Stat per value
// column.
type Row struct {
	Labels []string
	Values []Stat
}

// Table is a table of results.
type Table struct {
	// Name is the file stem ("table1") and Title the caption.
	Name, Title string
	// LabelColumns and ValueColumns are the headers of the label cells and
	// of the Stat cells of every row.
	LabelColumns, ValueColumns []string
	Rows                       []Row
	// Notes are printed under the table.
	Notes []string
}

// WriteMarkdown writes the table as a GitHub Markdown table, values as
// "mean ± std".
func (t *Table) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	if t.Title != "" {
		fmt.Fprintf(&b, "**%s**\n\n", t.Title)
	}
	cols := append(append([]string(nil), t.LabelColumns...), t.ValueColumns...)
	b.WriteString("| " + strings.Join(cols, " | ") + " |\n|")
	for i := range cols {
		if i < len(t.LabelColumns) {
			b.WriteString(" --- |")
		} else {
			b.WriteString(" ---: |")
		}
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		cells := append([]string(nil), r.Labels...)
		for _, v := range r.Values {
			cells = append(cells, v.String())
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	for _, n := range t.Notes {
		fmt.Fprintf(&b, "\n%s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteCSV writes the table with two columns per value column, NAME_mean
// and NAME_std, and a final column n (runs). A table with difference
// rows also has, per value column, NAME_ci_low, NAME_ci_high (the 95 %
// interval) and NAME_seeds_positive (runs with a positive difference),
// empty in the other rows.
func (t *Table) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	paired := slices.ContainsFunc(t.Rows, func(r Row) bool {
		return slices.ContainsFunc(r.Values, func(s Stat) bool { return s.CI != nil })
	})
	header := append([]string(nil), t.LabelColumns...)
	for _, c := range t.ValueColumns {
		header = append(header, c+"_mean", c+"_std")
		if paired {
			header = append(header, c+"_ci_low", c+"_ci_high", c+"_seeds_positive")
		}
	}
	if err := cw.Write(append(header, "n")); err != nil {
		return err
	}
	num := func(x float64) string { return strconv.FormatFloat(x, 'f', 4, 64) }
	for _, r := range t.Rows {
		rec := append([]string(nil), r.Labels...)
		n := 0
		for _, v := range r.Values {
			rec = append(rec, num(v.Mean), num(v.Std))
			if paired {
				if v.CI != nil {
					rec = append(rec, num(v.CI.Low), num(v.CI.High), strconv.Itoa(v.Positive))
				} else {
					rec = append(rec, "", "", "")
				}
			}
			n = max(n, v.N)
		}
		if err := cw.Write(append(rec, strconv.Itoa(n))); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
