package cohort

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/pmlm-go/pmlm/internal/atomicfile"
)

// WriteDir writes the cohort to dir in the format ReadDir reads: visits.csv,
// patients.csv, metrics.csv and labels.csv. It creates dir when needed. Each
// file is written to a temporary file in dir and renamed over the target,
// so a reader never sees a half-written file (the four renames together are
// not one atomic step).
//
// WriteDir refuses a cohort it cannot represent: an invalid catalogue (empty,
// duplicate or reserved metric names, a non-finite or reversed range; empty
// or duplicate labels), an empty or repeated patient ID, a visit whose value
// count differs from the catalogue, an infinite value. It does not check
// what ReadDir checks on values, labels and visit counts.
func WriteDir(dir string, c *Cohort) error {
	if err := checkWritable(c); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("pmlm: write cohort: %w", err)
	}
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{MetricsFile, func(w io.Writer) error { return writeMetrics(w, c.Metrics) }},
		{LabelsFile, func(w io.Writer) error { return writeLabels(w, c.Labels) }},
		{PatientsFile, func(w io.Writer) error { return writePatients(w, c) }},
		{VisitsFile, func(w io.Writer) error { return writeVisits(w, c) }},
	}
	for _, f := range files {
		if err := atomicfile.Write(filepath.Join(dir, f.name), 0o600, f.write); err != nil {
			return fmt.Errorf("pmlm: write cohort: %w", err)
		}
	}
	return nil
}

// WriteCohort writes the patients.csv and visits.csv contents of the cohort
// to the two writers; see WriteDir for what it refuses.
func WriteCohort(patients, visits io.Writer, c *Cohort) error {
	if err := checkWritable(c); err != nil {
		return err
	}
	if err := writePatients(patients, c); err != nil {
		return fmt.Errorf("pmlm: write cohort: %w", err)
	}
	if err := writeVisits(visits, c); err != nil {
		return fmt.Errorf("pmlm: write cohort: %w", err)
	}
	return nil
}

// checkWritable reports what the files cannot represent.
func checkWritable(c *Cohort) error {
	if c == nil {
		return errors.New("pmlm: write cohort: nil cohort")
	}
	if err := checkCatalogue(c.Metrics, c.Labels); err != nil {
		return fmt.Errorf("pmlm: write cohort: %w", err)
	}
	seen := make(map[string]bool, len(c.Patients))
	for i := range c.Patients {
		p := &c.Patients[i]
		if p.ID == "" {
			return fmt.Errorf("pmlm: write cohort: patient %d has an empty ID", i)
		}
		if seen[p.ID] {
			return fmt.Errorf("pmlm: write cohort: patient %d repeats the ID of an earlier patient", i)
		}
		seen[p.ID] = true
		for j, v := range p.Visits {
			if len(v.Values) != len(c.Metrics) {
				return fmt.Errorf("pmlm: write cohort: patient %d, visit %d: %d values for %d metrics",
					i, j, len(v.Values), len(c.Metrics))
			}
			for k, x := range v.Values {
				if math.IsInf(x, 0) {
					return fmt.Errorf("pmlm: write cohort: patient %d, visit %d, %s: infinite value",
						i, j, c.Metrics[k].Name)
				}
			}
		}
	}
	return nil
}

func writeMetrics(w io.Writer, metrics []Metric) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"name", "description", "unit", "min", "max"})
	for _, m := range metrics {
		_ = cw.Write([]string{m.Name, m.Description, m.Unit, formatFloat(m.Min), formatFloat(m.Max)})
	}
	cw.Flush()
	return cw.Error()
}

func writeLabels(w io.Writer, labels []string) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{colLabel})
	for _, l := range labels {
		_ = cw.Write([]string{l})
	}
	cw.Flush()
	return cw.Error()
}

func writePatients(w io.Writer, c *Cohort) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{colPatientID, colIndexDate, colLabel, colResponse})
	for i := range c.Patients {
		p := &c.Patients[i]
		_ = cw.Write([]string{p.ID, p.IndexDate.Format(DateLayout), p.Label, p.Response})
	}
	cw.Flush()
	return cw.Error()
}

func writeVisits(w io.Writer, c *Cohort) error {
	cw := csv.NewWriter(w)
	rec := make([]string, 2+len(c.Metrics))
	rec[0], rec[1] = colPatientID, colDate
	for i, m := range c.Metrics {
		rec[2+i] = m.Name
	}
	_ = cw.Write(rec)
	var buf []byte
	for i := range c.Patients {
		p := &c.Patients[i]
		rec[0] = p.ID
		for _, v := range p.Visits {
			rec[1] = v.Date.Format(DateLayout)
			for k, x := range v.Values {
				if IsMissing(x) {
					rec[2+k] = ""
					continue
				}
				buf = strconv.AppendFloat(buf[:0], x, 'g', -1, 64)
				rec[2+k] = string(buf)
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
