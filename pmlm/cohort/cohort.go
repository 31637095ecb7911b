// Package cohort is the data layer of PMLM, without any machine learning:
// the domain types of a patient cohort (lab metrics, patients, visits,
// labels, doctor responses), the time-based split, reading, writing and
// validating the cohort's CSV files, a summary and a content digest. Its
// documentation below is the specification of the CSV data format.
//
// The package imports nothing of the rest of the module, so that data
// tools (the synthetic generator pmlm/synth, validators, converters) stay
// small; the façade pmlm wires cohorts into the learned pipeline.
package cohort

import (
	"fmt"
	"math"
	"time"
)

// DateLayout is the layout of every date in the data files (ISO 8601, day
// precision).
const DateLayout = "2006-01-02"

// DefaultMaxVisits is the largest number of visits a patient may have unless
// the caller configures otherwise (the paper's cohort peaks at 45).
const DefaultMaxVisits = 45

// Metric describes one laboratory indicator measured at a visit.
type Metric struct {
	// Name is the short code used as the CSV column name, for example "HGB".
	Name string
	// Description is the indicator's full English name, for example
	// "Haemoglobin".
	Description string
	// Unit is the SI unit the values are expressed in, for example "g/L";
	// empty for dimensionless quantities such as urine pH.
	Unit string
	// Min and Max bound the physically possible values (inclusive). A value
	// outside them is a data error, not a clinical finding.
	Min, Max float64
}

// InRange reports whether v lies inside the metric's physical range.
func (m Metric) InRange(v float64) bool { return v >= m.Min && v <= m.Max }

// Visit is one examination record: a date and one value per metric of the
// cohort's catalogue, in catalogue order. A missing measurement is NaN (see
// Missing and IsMissing), never zero: zero is a legal value of several metrics.
type Visit struct {
	Date   time.Time
	Values []float64
}

// Missing returns the value that marks a measurement as absent.
func Missing() float64 { return math.NaN() }

// IsMissing reports whether v marks an absent measurement.
func IsMissing(v float64) bool { return math.IsNaN(v) }

// Patient is one patient of a cohort.
type Patient struct {
	// ID identifies the patient inside the cohort. It is an identifier:
	// it never appears in a prompt sent to a responder.
	ID string
	// IndexDate is the date of the delivery or discharge that the label and
	// the doctor's response refer to; the time-based split uses it.
	IndexDate time.Time
	// Label is the discharge diagnosis, one of the cohort's labels.
	Label string
	// Response is the doctor's free-text advice at discharge, the reference
	// the generated responses are scored against.
	Response string
	// Visits are ordered by date, oldest first.
	Visits []Visit
}

// Cohort is a catalogue of metrics, a label set and the patients measured
// with them.
type Cohort struct {
	Metrics  []Metric
	Labels   []string
	Patients []Patient
}

// MetricIndex returns the position of the metric with the given name in the
// catalogue, or -1.
func (c *Cohort) MetricIndex(name string) int {
	for i, m := range c.Metrics {
		if m.Name == name {
			return i
		}
	}
	return -1
}

// LabelIndex returns the position of label in the label set, or -1.
func (c *Cohort) LabelIndex(label string) int {
	for i, l := range c.Labels {
		if l == label {
			return i
		}
	}
	return -1
}

// NumVisits returns the total number of visits over all patients.
func (c *Cohort) NumVisits() int {
	n := 0
	for i := range c.Patients {
		n += len(c.Patients[i].Visits)
	}
	return n
}

// MaxVisits returns the largest number of visits of any one patient.
func (c *Cohort) MaxVisits() int {
	m := 0
	for i := range c.Patients {
		m = max(m, len(c.Patients[i].Visits))
	}
	return m
}

// Patient returns the patient with the given ID, or nil.
func (c *Cohort) Patient(id string) *Patient {
	for i := range c.Patients {
		if c.Patients[i].ID == id {
			return &c.Patients[i]
		}
	}
	return nil
}

// Split names the three parts of the time-based split.
type Split int

// The parts of a time-based split.
const (
	SplitTrain Split = iota
	SplitValidation
	SplitTest
)

// String returns "train", "validation" or "test".
func (s Split) String() string {
	switch s {
	case SplitTrain:
		return "train"
	case SplitValidation:
		return "validation"
	case SplitTest:
		return "test"
	}
	return fmt.Sprintf("Split(%d)", int(s))
}

// SplitBoundaries configures the time-based split on patients' index dates:
// a patient belongs to the training part when IndexDate ≤ TrainEnd, to the
// validation part when TrainEnd < IndexDate ≤ ValidationEnd, and to the test
// part otherwise. Both bounds are whole days and inclusive.
type SplitBoundaries struct {
	TrainEnd      time.Time
	ValidationEnd time.Time
}

// DefaultSplit returns the paper's split: training up to 2021-12-31,
// validation 2022-01-01 to 2022-06-30, test afterwards.
func DefaultSplit() SplitBoundaries {
	return SplitBoundaries{
		TrainEnd:      time.Date(2021, 12, 31, 0, 0, 0, 0, time.UTC),
		ValidationEnd: time.Date(2022, 6, 30, 0, 0, 0, 0, time.UTC),
	}
}

// String returns the boundaries as TRAIN_END/VALIDATION_END
// (YYYY-MM-DD/YYYY-MM-DD).
func (b SplitBoundaries) String() string {
	return b.TrainEnd.Format(DateLayout) + "/" + b.ValidationEnd.Format(DateLayout)
}

// Validate reports an error when the validation part would end before the
// training part.
func (b SplitBoundaries) Validate() error {
	if b.ValidationEnd.Before(b.TrainEnd) {
		return fmt.Errorf("pmlm: split: validation end %s is before training end %s",
			b.ValidationEnd.Format(DateLayout), b.TrainEnd.Format(DateLayout))
	}
	return nil
}

// Of returns the part a patient with the given index date belongs to.
func (b SplitBoundaries) Of(indexDate time.Time) Split {
	d := truncateDay(indexDate)
	switch {
	case !d.After(truncateDay(b.TrainEnd)):
		return SplitTrain
	case !d.After(truncateDay(b.ValidationEnd)):
		return SplitValidation
	default:
		return SplitTest
	}
}

func truncateDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Split partitions the cohort's patients by index date. The returned slices
// point into c.Patients, in cohort order.
func (c *Cohort) Split(b SplitBoundaries) (train, validation, test []*Patient) {
	for i := range c.Patients {
		p := &c.Patients[i]
		switch b.Of(p.IndexDate) {
		case SplitTrain:
			train = append(train, p)
		case SplitValidation:
			validation = append(validation, p)
		default:
			test = append(test, p)
		}
	}
	return train, validation, test
}

// Matrix returns the patient's visits as a [visits][metrics] matrix, NaN for
// missing values. The rows alias the visits' Values.
func (p *Patient) Matrix() [][]float64 {
	m := make([][]float64, len(p.Visits))
	for i := range p.Visits {
		m[i] = p.Visits[i].Values
	}
	return m
}
