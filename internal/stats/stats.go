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

// Softmax returns exp(z)/Σexp(z), computed stably (the maximum is subtracted
// first).
func Softmax(z []float64) []float64 {
	m := math.Inf(-1)
	for _, v := range z {
		m = max(m, v)
	}
	out := make([]float64, len(z))
	var sum float64
	for i, v := range z {
		out[i] = math.Exp(v - m)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

// Argmax returns the index of the largest value (the first on ties), or 0
// for an empty slice.
func Argmax(s []float64) int {
	best := 0
	for i, v := range s {
		if v > s[best] {
			best = i
		}
	}
	return best
}
