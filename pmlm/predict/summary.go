package predict

import (
	"fmt"
	"math"
)

// A SummaryStat reduces the observed values of one channel of a series to
// a number. obs holds the observed (non-NaN) values in visit order and at
// their visit indices; total is the series' number of visits. It returns
// NaN when the statistic is undefined (e.g. no observation).
type SummaryStat struct {
	// Name names the statistic in feature names, e.g. "last".
	Name string
	// Of computes the statistic.
	Of func(obs []float64, at []int, total int) float64
}

// DefaultSummaryStats returns the per-channel statistics of
// SummaryFeatures: last, mean, min, max, slope, observed fraction.
//
// The slope is the least-squares slope of the values over the visit index:
// the series carry no dates, and visits are scheduled by gestational age,
// so the index stands in for gestational time.
func DefaultSummaryStats() []SummaryStat {
	return []SummaryStat{
		{"last", func(obs []float64, _ []int, _ int) float64 {
			if len(obs) == 0 {
				return math.NaN()
			}
			return obs[len(obs)-1]
		}},
		{"mean", func(obs []float64, _ []int, _ int) float64 {
			if len(obs) == 0 {
				return math.NaN()
			}
			s := 0.0
			for _, v := range obs {
				s += v
			}
			return s / float64(len(obs))
		}},
		{"min", func(obs []float64, _ []int, _ int) float64 {
			if len(obs) == 0 {
				return math.NaN()
			}
			m := obs[0]
			for _, v := range obs {
				m = min(m, v)
			}
			return m
		}},
		{"max", func(obs []float64, _ []int, _ int) float64 {
			if len(obs) == 0 {
				return math.NaN()
			}
			m := obs[0]
			for _, v := range obs {
				m = max(m, v)
			}
			return m
		}},
		{"slope", func(obs []float64, at []int, _ int) float64 {
			if len(obs) < 2 {
				return math.NaN()
			}
			var mt, mv float64
			for i, v := range obs {
				mt += float64(at[i])
				mv += v
			}
			mt /= float64(len(obs))
			mv /= float64(len(obs))
			var num, den float64
			for i, v := range obs {
				d := float64(at[i]) - mt
				num += d * (v - mv)
				den += d * d
			}
			return num / den // den > 0: the indices are distinct
		}},
		{"observed", func(obs []float64, _ []int, total int) float64 {
			return float64(len(obs)) / float64(total)
		}},
	}
}

// SummaryFeatures turns a series ([timesteps][channels], NaN for missing)
// into a fixed-length vector: for each channel, each of stats in order
// (channel-major), then the number of visits. Undefined statistics are
// NaN, which FitGBDT treats as missing.
func SummaryFeatures(s [][]float64, numChannels int, stats []SummaryStat) ([]float64, error) {
	if len(s) == 0 {
		return nil, fmt.Errorf("series has no timesteps")
	}
	out := make([]float64, 0, numChannels*len(stats)+1)
	obs := make([]float64, 0, len(s))
	at := make([]int, 0, len(s))
	for c := range numChannels {
		obs, at = obs[:0], at[:0]
		for t, row := range s {
			if len(row) != numChannels {
				return nil, fmt.Errorf("timestep %d: %d channels, want %d", t, len(row), numChannels)
			}
			v := row[c]
			if math.IsInf(v, 0) {
				return nil, fmt.Errorf("timestep %d, channel %d: infinite value", t, c)
			}
			if !math.IsNaN(v) {
				obs = append(obs, v)
				at = append(at, t)
			}
		}
		for _, st := range stats {
			out = append(out, st.Of(obs, at, len(s)))
		}
	}
	return append(out, float64(len(s))), nil
}

// SummaryFeatureNames returns the names of SummaryFeatures' outputs, e.g.
// "HGB.last", given the channel names (or "ch3" when channels is nil).
func SummaryFeatureNames(channels []string, numChannels int, stats []SummaryStat) []string {
	var out []string
	for c := range numChannels {
		name := fmt.Sprintf("ch%d", c)
		if c < len(channels) {
			name = channels[c]
		}
		for _, st := range stats {
			out = append(out, name+"."+st.Name)
		}
	}
	return append(out, "visits")
}
