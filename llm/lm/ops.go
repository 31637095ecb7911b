package lm

import (
	"math"

	"github.com/pmlm-go/pmlm/internal/kernels"
)

// The row-wise operations of the forward and backward passes. Matrices are
// row-major float32 slices; "T×D" means T rows of D values.

const lnEps = 1e-5

// layerNorm sets y = (x−μ)/σ·g + b for each of the rows of x (width d) and
// records each row's mean and 1/σ for the backward pass (the decoder, which
// needs no statistics, uses kernels.AddLayerNorm: the same arithmetic).
func layerNorm(y, x []float32, rows, d int, g, b, mean, rstd []float32) {
	for t := 0; t < rows; t++ {
		xr, yr := x[t*d:(t+1)*d], y[t*d:(t+1)*d]
		var sum float64
		for _, v := range xr {
			sum += float64(v)
		}
		mu := sum / float64(d)
		var sq float64
		for _, v := range xr {
			dv := float64(v) - mu
			sq += dv * dv
		}
		rs := 1 / math.Sqrt(sq/float64(d)+lnEps)
		for i, v := range xr {
			yr[i] = float32((float64(v)-mu)*rs)*g[i] + b[i]
		}
		mean[t], rstd[t] = float32(mu), float32(rs)
	}
}

// layerNormBackward adds to dx the gradient through layerNorm given dy,
// and adds the gradients of g and b to dg and db.
func layerNormBackward(dx, dy, x []float32, rows, d int, g, mean, rstd, dg, db []float32) {
	for t := 0; t < rows; t++ {
		xr, dyr, dxr := x[t*d:(t+1)*d], dy[t*d:(t+1)*d], dx[t*d:(t+1)*d]
		mu, rs := mean[t], rstd[t]
		var sumD, sumDN float32
		for i, v := range xr {
			n := (v - mu) * rs
			dn := dyr[i] * g[i]
			sumD += dn
			sumDN += dn * n
			dg[i] += dyr[i] * n
			db[i] += dyr[i]
		}
		sumD /= float32(d)
		sumDN /= float32(d)
		for i, v := range xr {
			n := (v - mu) * rs
			dxr[i] += rs * (dyr[i]*g[i] - sumD - n*sumDN)
		}
	}
}

const invSqrt2 = 0.70710678118654752440

// gelu sets y = x·Φ(x) (the erf form).
func gelu(y, x []float32) {
	copy(y, x)
	kernels.GELUErf(y)
}

// geluBackward sets dx = dy·(Φ(x) + x·φ(x)).
func geluBackward(dx, dy, x []float32) {
	const invSqrt2Pi = 0.39894228040143267794
	for i, v := range x {
		cdf := 0.5 * (1 + kernels.Erf32(v*invSqrt2))
		pdf := invSqrt2Pi * kernels.Exp32(-0.5*v*v)
		dx[i] = dy[i] * (cdf + v*pdf)
	}
}

// addTo adds src to dst elementwise.
func addTo(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] += v
	}
}

// addColumns adds the column sums of the rows×cols matrix m to dst.
func addColumns(dst, m []float32, rows, cols int) {
	for t := 0; t < rows; t++ {
		addTo(dst[:cols], m[t*cols:(t+1)*cols])
	}
}
