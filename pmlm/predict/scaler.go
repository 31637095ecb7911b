package predict

import (
	"errors"
	"fmt"
	"math"

	"github.com/pmlm-go/pmlm/internal/stats"
)

// Scaler standardizes each channel of a series with the mean and standard
// deviation of that channel's observed (non-NaN) values on the training
// data, and fills missing values explicitly:
//
//   - a missing value takes the last observed standardized value of the same
//     channel earlier in the series (carry forward: a lab value stays valid
//     until it is measured again);
//   - a channel not yet observed at that point takes 0, the training mean.
//
// A channel never observed in training gets mean 0 and scale 1; a constant
// channel gets scale 1. The fields are exported for gob encoding.
type Scaler struct {
	Mean, Scale []float64
}

// ErrNoSeries is returned when a predictor is fitted on no data.
var ErrNoSeries = errors.New("predict: no series")

// FitScaler computes per-channel statistics over all observed values of
// the series ([series][timesteps][channels]).
func FitScaler(series [][][]float64) (*Scaler, error) {
	nc, err := numChannels(series)
	if err != nil {
		return nil, err
	}
	mean, scale := stats.ObservedMoments(series, nc)
	sc := &Scaler{Mean: mean, Scale: scale}
	return sc, nil
}

// numChannels checks that all series are non-empty, finite or NaN, and share
// one channel count, which it returns.
func numChannels(series [][][]float64) (int, error) {
	if len(series) == 0 {
		return 0, ErrNoSeries
	}
	nc := -1
	for i, s := range series {
		if len(s) == 0 {
			return 0, fmt.Errorf("series %d has no timesteps", i)
		}
		for t, row := range s {
			if nc < 0 {
				nc = len(row)
				if nc == 0 {
					return 0, fmt.Errorf("series %d has no channels", i)
				}
			}
			if len(row) != nc {
				return 0, fmt.Errorf("series %d, timestep %d: %d channels, want %d", i, t, len(row), nc)
			}
			for c, v := range row {
				if math.IsInf(v, 0) {
					return 0, fmt.Errorf("series %d, timestep %d, channel %d: infinite value", i, t, c)
				}
			}
		}
	}
	return nc, nil
}

// Apply returns the standardized, imputed copy of s, padded at the end with
// zero rows to at least minLen timesteps.
func (sc *Scaler) Apply(s [][]float64, minLen int) ([][]float64, error) {
	if len(s) == 0 {
		return nil, errors.New("series has no timesteps")
	}
	nc := len(sc.Mean)
	out := make([][]float64, max(len(s), minLen))
	last := make([]float64, nc) // 0 = training mean until observed
	for t := range out {
		row := make([]float64, nc)
		out[t] = row
		if t >= len(s) {
			continue
		}
		if len(s[t]) != nc {
			return nil, fmt.Errorf("timestep %d: %d channels, want %d", t, len(s[t]), nc)
		}
		for c, v := range s[t] {
			switch {
			case math.IsNaN(v):
				row[c] = last[c]
			case math.IsInf(v, 0):
				return nil, fmt.Errorf("timestep %d, channel %d: infinite value", t, c)
			default:
				row[c] = (v - sc.Mean[c]) / sc.Scale[c]
				last[c] = row[c]
			}
		}
	}
	return out, nil
}

// ApplyAll applies the scaler to every series.
func (sc *Scaler) ApplyAll(series [][][]float64, minLen int) ([][][]float64, error) {
	out := make([][][]float64, len(series))
	for i, s := range series {
		var err error
		if out[i], err = sc.Apply(s, minLen); err != nil {
			return nil, fmt.Errorf("series %d: %w", i, err)
		}
	}
	return out, nil
}
