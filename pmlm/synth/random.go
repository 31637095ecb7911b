package synth

import (
	"math"
	"math/rand/v2"
)

// normal draws from N(mean, sd²).
func normal(r *rand.Rand, mean, sd float64) float64 { return mean + sd*r.NormFloat64() }

// uniform draws from U[lo, hi).
func uniform(r *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

// truncNormal draws from N(mean, sd²) restricted to [lo, hi] by redrawing,
// falling back to clamping after a few tries.
func truncNormal(r *rand.Rand, mean, sd, lo, hi float64) float64 {
	for range 20 {
		if v := normal(r, mean, sd); v >= lo && v <= hi {
			return v
		}
	}
	return clamp(mean, lo, hi)
}

// gamma draws from Gamma(shape, scale) (Marsaglia and Tsang 2000).
func gamma(r *rand.Rand, shape, scale float64) float64 {
	if shape < 1 {
		return gamma(r, shape+1, scale) * math.Pow(r.Float64(), 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := r.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := r.Float64()
		if math.Log(u) < 0.5*x*x+d-d*v+d*math.Log(v) {
			return d * v * scale
		}
	}
}

// poisson draws from Poisson(lambda) by multiplying uniforms (lambda here
// stays below a few hundred, so this is exact and fast enough).
func poisson(r *rand.Rand, lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	if lambda > 500 {
		return max(0, int(math.Round(normal(r, lambda, math.Sqrt(lambda)))))
	}
	l := math.Exp(-lambda)
	k, p := 0, r.Float64()
	for p > l {
		k++
		p *= r.Float64()
	}
	return k
}

// negBin draws from a negative binomial with the given mean and dispersion k
// (variance mean + mean²/k) as a gamma–Poisson mixture.
func negBin(r *rand.Rand, mean, k float64) int {
	if mean <= 0 {
		return 0
	}
	return poisson(r, gamma(r, k, mean/k))
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

// bernoulli reports true with probability p.
func bernoulli(r *rand.Rand, p float64) bool { return r.Float64() < p }

// pick returns one element of xs chosen uniformly.
func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// largestRemainder splits total into parts proportional to weights, rounding
// so that the parts sum to total exactly (Hamilton's method).
func largestRemainder(total int, weights []float64) []int {
	sum := 0.0
	for _, w := range weights {
		sum += w
	}
	out := make([]int, len(weights))
	if sum <= 0 || total <= 0 {
		return out
	}
	type rem struct {
		i int
		f float64
	}
	rems := make([]rem, len(weights))
	given := 0
	for i, w := range weights {
		exact := float64(total) * w / sum
		out[i] = int(math.Floor(exact))
		given += out[i]
		rems[i] = rem{i, exact - float64(out[i])}
	}
	// Stable order: larger remainder first, then lower index.
	for given < total {
		best := -1
		for j := range rems {
			if rems[j].f >= 0 && (best < 0 || rems[j].f > rems[best].f) {
				best = j
			}
		}
		out[rems[best].i]++
		rems[best].f = -1
		given++
	}
	return out
}
