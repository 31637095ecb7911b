package kernels

import (
	"math"
)

// AddLayerNorm sets dst = LayerNorm(x + r)·w + b over one row (r may be
// nil): the residual sum is rounded to float32 first, as a float32 model
// computes it, and the mean and variance are accumulated in float64.
// dst may alias x or r.
func AddLayerNorm(dst, x, r, w, b []float32, eps float64) {
	n := len(x)
	dst, w, b = dst[:n], w[:n], b[:n]
	if r != nil {
		r = r[:n]
		for i := range x {
			dst[i] = x[i] + r[i]
		}
	} else {
		copy(dst, x)
	}
	var sum float64
	for _, v := range dst {
		sum += float64(v)
	}
	mean := sum / float64(n)
	var sq float64
	for _, v := range dst {
		d := float64(v) - mean
		sq += d * d
	}
	inv := 1 / math.Sqrt(sq/float64(n)+eps)
	for i, v := range dst {
		dst[i] = float32((float64(v)-mean)*inv)*w[i] + b[i]
	}
}

// SoftmaxScaled sets row = softmax(scale·row) in place (scale > 0).
func SoftmaxScaled(row []float32, scale float32) {
	if len(row) == 0 {
		return
	}
	mx := row[0]
	for _, v := range row[1:] {
		mx = max(mx, v)
	}
	// e^(v·scale − max·scale): the maximum of the scaled row is the scaled
	// maximum since scale > 0.
	shift := -mx * scale
	done, sum := expScaledSumVec(row, scale, shift)
	for i := done; i < len(row); i++ {
		e := Exp32(row[i]*scale + shift)
		row[i] = e
		sum += e
	}
	inv := 1 / sum
	for i := range row {
		row[i] *= inv
	}
}

// Exp32 is e^x in single precision (Cephes' expf: a degree-6 polynomial on
// the reduced argument, within 2 ulp), without going through float64.
func Exp32(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		c1    = 0.693359375
		c2    = -2.12194440e-4
	)
	if x > 88.3762626647949 {
		return float32(math.Inf(1))
	}
	if x < -87.3365447504 {
		return 0
	}
	fn := float32(math.Floor(float64(x*log2e + 0.5)))
	r := x - fn*c1
	r -= fn * c2
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	y := p*r*r + r + 1
	return y * math.Float32frombits(uint32(int32(fn)+127)<<23)
}

// Erf32 is the error function in single precision: Eigen's rational
// approximation on [-4, 4] (odd degree-13 numerator over even degree-8
// denominator), ±1 beyond.
func Erf32(x float32) float32 {
	x = max(-4, min(4, x))
	x2 := x * x
	p := float32(-2.72614225801306e-10)
	p = p*x2 + 2.77068142495902e-08
	p = p*x2 + -2.10102402082508e-06
	p = p*x2 + -5.69250639462346e-05
	p = p*x2 + -7.34990630326855e-04
	p = p*x2 + -2.95459980854025e-03
	p = p*x2 + -1.60960333262415e-02
	p *= x
	q := float32(-1.45660718464996e-05)
	q = q*x2 + -2.13374055278905e-04
	q = q*x2 + -1.68282697438203e-03
	q = q*x2 + -7.37332916720468e-03
	q = q*x2 + -1.42647390514189e-02
	return p / q
}

// GELUErf applies x·Φ(x) = x/2·(1+erf(x/√2)) in place (HuggingFace's
// "gelu").
func GELUErf(v []float32) {
	const invSqrt2 = 0.70710678118654752440
	done := geluErfVec(v)
	for i := done; i < len(v); i++ {
		x := v[i]
		v[i] = 0.5 * x * (1 + Erf32(x*invSqrt2))
	}
}

// GELUTanh applies the tanh approximation of GELU in place (HuggingFace's
// "gelu_new"), in float64 as spago computes it.
func GELUTanh(v []float32) {
	const c = 0.7978845608028654 // √(2/π)
	for i, x := range v {
		f := float64(x)
		v[i] = float32(0.5 * f * (1 + math.Tanh(c*(f+0.044715*f*f*f))))
	}
}

// ReLU applies max(0, x) in place, 8 values at a time with AVX2 on amd64
// (a NaN stays NaN either way; the vector path keeps −0 as −0, which
// equals the +0 of the scalar path).
func ReLU(v []float32) {
	done := reluVec(v)
	tail := v[done:]
	for i, x := range tail {
		tail[i] = max(0, x)
	}
}
