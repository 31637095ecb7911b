package mlp

import (
	"errors"
	"fmt"
	"math"

	"github.com/pmlm-go/pmlm/internal/stats"
)

// ErrInput marks visit matrices the patient encoder cannot use: a visit
// with the wrong number of metrics, or an infinite value. Callers branch on
// it with errors.Is.
var ErrInput = errors.New("mlp: invalid visit matrix")

// Standardizer maps each metric to zero mean and unit variance with the
// statistics of the training split. It is fitted once and then read-only,
// so one value may serve concurrent encoders.
type Standardizer struct {
	// Mean and Std hold one entry per metric, computed over the observed
	// (non-NaN) values of the training visits. A metric that was never
	// observed gets mean 0; a metric with zero spread gets std 1, so that
	// standardizing never divides by zero.
	Mean, Std []float64
}

// FitStandardizer computes per-metric means and standard deviations
// (population, over observed values) from the visit matrices of the
// training patients: patients[i][v][m] is metric m at visit v of patient i,
// NaN when missing. It fails when the patients disagree on the number of
// metrics or hold an infinite value.
func FitStandardizer(patients [][][]float64) (*Standardizer, error) {
	metrics := -1
	for i, visits := range patients {
		for v, row := range visits {
			if metrics < 0 {
				metrics = len(row)
			}
			if len(row) != metrics {
				return nil, fmt.Errorf("%w: patient %d visit %d has %d metrics, want %d", ErrInput, i, v, len(row), metrics)
			}
			for m, x := range row {
				if math.IsInf(x, 0) {
					return nil, fmt.Errorf("%w: patient %d visit %d metric %d is infinite", ErrInput, i, v, m)
				}
			}
		}
	}
	if metrics <= 0 {
		return nil, fmt.Errorf("%w: no visits to fit the standardizer on", ErrInput)
	}
	mean, std := stats.ObservedMoments(patients, metrics)
	return &Standardizer{Mean: mean, Std: std}, nil
}

// NumMetrics is the number of metrics the standardizer was fitted on.
func (s *Standardizer) NumMetrics() int { return len(s.Mean) }

// Flatten writes the standardized, zero-padded concatenation of visits into
// dst, which must have length maxVisits·NumMetrics: visit j fills
// dst[j·M:(j+1)·M]; missing values (NaN) become 0, the mean of the training
// data, after standardization; rows after the last visit stay 0 (the
// paper's zero padding). A patient with more than maxVisits visits keeps
// only the most recent maxVisits (visits are ordered oldest first): the
// visits closest to discharge say most about the discharge diagnosis.
func (s *Standardizer) Flatten(dst []float32, visits [][]float64, maxVisits int) error {
	nm := len(s.Mean)
	if len(dst) != maxVisits*nm {
		return fmt.Errorf("%w: destination has %d entries, want %d×%d", ErrInput, len(dst), maxVisits, nm)
	}
	if len(visits) > maxVisits {
		visits = visits[len(visits)-maxVisits:]
	}
	clear(dst)
	for v, row := range visits {
		if len(row) != nm {
			return fmt.Errorf("%w: visit %d has %d metrics, want %d", ErrInput, v, len(row), nm)
		}
		out := dst[v*nm : (v+1)*nm]
		for m, x := range row {
			switch {
			case math.IsNaN(x):
				// missing: stays 0
			case math.IsInf(x, 0):
				return fmt.Errorf("%w: visit %d metric %d is infinite", ErrInput, v, m)
			default:
				out[m] = elem((x - s.Mean[m]) / s.Std[m])
			}
		}
	}
	return nil
}
