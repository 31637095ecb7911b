// Package stats holds the small statistics that several packages share.
package stats

import "math"

// ObservedMoments returns, for each channel of the series
// ([series][timesteps][channels], all rows of length channels), the mean and
// the population standard deviation of its observed (non-NaN) values, in one
// numerically stable pass (Welford). A channel never observed gets mean 0; a
// channel without spread (or never observed) gets standard deviation 1, so
// that standardizing never divides by zero. Callers validate the shapes and
// reject infinite values first.
func ObservedMoments(series [][][]float64, channels int) (mean, std []float64) {
	n := make([]float64, channels)
	mean = make([]float64, channels)
	m2 := make([]float64, channels)
	for _, s := range series {
		for _, row := range s {
			for c, x := range row {
				if math.IsNaN(x) {
					continue
				}
				n[c]++
				d := x - mean[c]
				mean[c] += d / n[c]
				m2[c] += d * (x - mean[c])
			}
		}
	}
	std = make([]float64, channels)
	for c := range std {
		std[c] = 1
		if n[c] > 0 {
			if sd := math.Sqrt(m2[c] / n[c]); sd > 1e-12 {
				std[c] = sd
			}
		}
	}
	return mean, std
}
