package cohort

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// Summary describes the shape of a cohort: what "pmlm validate" prints.
type Summary struct {
	Patients int
	Visits   int
	// MaxVisits is the largest number of visits of one patient.
	MaxVisits int
	Metrics   int
	Labels    int
	// LabelCounts has one entry per label of the label set, in its order,
	// followed by any label that patients carry but the set lacks.
	LabelCounts []LabelFrequency
	// Split is the boundaries the split sizes were computed with.
	Split SplitBoundaries
	// Train, Validation and Test are the numbers of patients in each part
	// of the time-based split.
	Train, Validation, Test int
	// Missing has one entry per metric, in catalogue order.
	Missing []MetricMissing
}

// LabelFrequency is the number of patients with one label (the similar
// patients of a prompt are counted by prompt.LabelCount).
type LabelFrequency struct {
	Label    string
	Patients int
}

// MetricMissing is the missingness of one metric over all visits.
type MetricMissing struct {
	Metric string
	// Missing is the number of visits without a value for the metric.
	Missing int
	// Percent is Missing as a percentage of all visits (0 without visits).
	Percent float64
}

// Summarize counts the cohort's patients, visits, labels, split sizes under
// the boundaries b, and missing values per metric.
func (c *Cohort) Summarize(b SplitBoundaries) Summary {
	s := Summary{
		Patients:  len(c.Patients),
		Visits:    c.NumVisits(),
		MaxVisits: c.MaxVisits(),
		Metrics:   len(c.Metrics),
		Labels:    len(c.Labels),
		Split:     b,
	}
	labelPos := make(map[string]int, len(c.Labels))
	for _, l := range c.Labels {
		if _, dup := labelPos[l]; !dup {
			labelPos[l] = len(s.LabelCounts)
			s.LabelCounts = append(s.LabelCounts, LabelFrequency{Label: l})
		}
	}
	missing := make([]int, len(c.Metrics))
	for i := range c.Patients {
		p := &c.Patients[i]
		j, known := labelPos[p.Label]
		if !known {
			j = len(s.LabelCounts)
			labelPos[p.Label] = j
			s.LabelCounts = append(s.LabelCounts, LabelFrequency{Label: p.Label})
		}
		s.LabelCounts[j].Patients++
		switch b.Of(p.IndexDate) {
		case SplitTrain:
			s.Train++
		case SplitValidation:
			s.Validation++
		default:
			s.Test++
		}
		for _, v := range p.Visits {
			for k := range missing {
				// A visit shorter than the catalogue lacks the rest.
				if k >= len(v.Values) || IsMissing(v.Values[k]) {
					missing[k]++
				}
			}
		}
	}
	s.Missing = make([]MetricMissing, len(c.Metrics))
	for k, m := range c.Metrics {
		s.Missing[k] = MetricMissing{Metric: m.Name, Missing: missing[k]}
		if s.Visits > 0 {
			s.Missing[k].Percent = 100 * float64(missing[k]) / float64(s.Visits)
		}
	}
	return s
}

// WriteText writes the summary as aligned plain text.
func (s Summary) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "patients\t%d\n", s.Patients)
	fmt.Fprintf(tw, "visits\t%d\n", s.Visits)
	fmt.Fprintf(tw, "max visits per patient\t%d\n", s.MaxVisits)
	fmt.Fprintf(tw, "metrics\t%d\n", s.Metrics)
	fmt.Fprintf(tw, "labels\t%d\n", s.Labels)
	fmt.Fprintf(tw, "\nsplit (by index date)\tpatients\n")
	fmt.Fprintf(tw, "train (to %s)\t%d\n", s.Split.TrainEnd.Format(DateLayout), s.Train)
	fmt.Fprintf(tw, "validation (to %s)\t%d\n", s.Split.ValidationEnd.Format(DateLayout), s.Validation)
	fmt.Fprintf(tw, "test (after)\t%d\n", s.Test)
	fmt.Fprintf(tw, "\nlabel\tpatients\n")
	for _, lc := range s.LabelCounts {
		fmt.Fprintf(tw, "%s\t%d\n", lc.Label, lc.Patients)
	}
	fmt.Fprintf(tw, "\nmetric\tmissing\n")
	for _, m := range s.Missing {
		fmt.Fprintf(tw, "%s\t%.1f%%\t(%d of %d visits)\n", m.Metric, m.Percent, m.Missing, s.Visits)
	}
	return tw.Flush()
}
