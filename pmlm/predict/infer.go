package predict

import (
	"math"

	"github.com/nlpodyssey/spago/nn"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// Graph-free inference of the neural baselines: the arithmetic of each
// network's logits without building a spago graph (which allocates a node
// per operation and is only needed to train). Predict answers through it;
// TestInferEqualsGraph checks it against the graph.

// values returns a parameter's values, row-major.
func values(p *nn.Param) []float64 { return p.Value().Data().F64() }

// mulAdd sets c = a·b + beta·c for row-major a [m×k], b [k×n], c [m×n].
func mulAdd(m, k, n int, a, b []float64, beta float64, c []float64) {
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1,
		blas64.General{Rows: m, Cols: k, Stride: k, Data: a},
		blas64.General{Rows: k, Cols: n, Stride: n, Data: b},
		beta, blas64.General{Rows: m, Cols: n, Stride: n, Data: c})
}

// mulVecAdd sets y = W·x + y for row-major W [len(y) × len(x)].
func mulVecAdd(w, x, y []float64) {
	blas64.Gemv(blas.NoTrans, 1, blas64.General{Rows: len(y), Cols: len(x), Stride: len(x), Data: w},
		blas64.Vector{N: len(x), Inc: 1, Data: x}, 1, blas64.Vector{N: len(y), Inc: 1, Data: y})
}

// affineVec returns W·x + b for W [len(b) × len(x)].
func affineVec(w, b, x []float64) []float64 {
	out := append([]float64(nil), b...)
	mulVecAdd(w, x, out)
	return out
}

// broadcast returns the [rows × n] matrix whose every column is b.
func broadcast(b []float64, n int) []float64 {
	out := make([]float64, len(b)*n)
	for r, v := range b {
		row := out[r*n : (r+1)*n]
		for t := range row {
			row[t] = v
		}
	}
	return out
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// infer runs the LSTM over the example's real timesteps (padded steps
// carry weight 0 in the mean) and returns its logits.
func (m *lstmNet) infer(p padded) []float64 {
	channels := len(p.x) / m.MaxLen
	l := m.Cell
	hidden := l.WIn.Value().Shape()[0]
	gate := func(w, wRec, bias *nn.Param, x, h []float64) []float64 {
		z := affineVec(values(w), values(bias), x)
		if h != nil {
			mulVecAdd(values(wRec), h, z)
		}
		return z
	}
	var h, c []float64
	sum := make([]float64, hidden)
	x := make([]float64, channels)
	for t := 0; t < p.len; t++ {
		for ch := range x {
			x[ch] = p.x[ch*m.MaxLen+t]
		}
		in := gate(l.WIn, l.WInRec, l.BIn, x, h)
		out := gate(l.WOut, l.WOutRec, l.BOut, x, h)
		cand := gate(l.WCand, l.WCandRec, l.BCand, x, h)
		var forget []float64
		if c != nil {
			forget = gate(l.WFor, l.WForRec, l.BFor, x, h)
		} else {
			c = make([]float64, hidden)
		}
		h = make([]float64, hidden)
		for k := range h {
			v := sigmoid(in[k]) * math.Tanh(cand[k])
			if forget != nil {
				v += sigmoid(forget[k]) * c[k]
			}
			c[k] = v
			h[k] = sigmoid(out[k]) * math.Tanh(v)
			sum[k] += h[k] * (1 / float64(p.len))
		}
	}
	return affineVec(values(m.Out.W), values(m.Out.B), sum)
}

// infer runs the two convolutions over all MaxLen timesteps (as the graph
// does: max pooling sees the padded steps too) and returns the logits.
func (m *cnnNet) infer(p padded) []float64 {
	n := m.MaxLen
	conv := func(w []*nn.Param, bias *nn.Param, x []float64, in int) []float64 {
		out := len(values(bias))
		z := broadcast(values(bias), n)
		xs := make([]float64, in*n)
		for k, off := range []int{-1, 0, 1} {
			for r := 0; r < in; r++ {
				for t := 0; t < n; t++ {
					xs[r*n+t] = 0
					if s := t + off; s >= 0 && s < n {
						xs[r*n+t] = x[r*n+s]
					}
				}
			}
			mulAdd(out, in, n, values(w[k]), xs, 1, z)
		}
		for i, v := range z {
			z[i] = max(v, 0)
		}
		return z
	}
	channels := len(p.x) / n
	hidden := len(values(m.B1))
	h := conv(m.Conv2, m.B2, conv(m.Conv1, m.B1, p.x, channels), hidden)
	pooled := make([]float64, hidden)
	for r := range pooled {
		pooled[r] = maxOf(h[r*n : (r+1)*n])
	}
	return affineVec(values(m.Out.W), values(m.Out.B), pooled)
}

// infer runs the encoder layer over all MaxLen positions with the padded
// keys masked, as the graph does, and returns the logits.
func (m *transformerNet) infer(p padded) []float64 {
	n := m.MaxLen
	channels := len(p.x) / n
	d := m.In.W.Value().Shape()[0]
	dk := m.Q[0].Value().Shape()[0]
	scale := 1 / math.Sqrt(float64(dk))

	h := broadcast(values(m.In.B), n) // [d × n]
	mulAdd(d, channels, n, values(m.In.W), p.x, 1, h)
	for i, v := range m.Positions {
		h[i] += v
	}
	att := broadcast(values(m.BO), n)
	q, k, v := make([]float64, dk*n), make([]float64, dk*n), make([]float64, dk*n)
	scores := make([]float64, n*n) // [key × query]
	mixed := make([]float64, dk*n)
	for hd := range m.Q {
		mulAdd(dk, d, n, values(m.Q[hd]), h, 0, q)
		mulAdd(dk, d, n, values(m.K[hd]), h, 0, k)
		mulAdd(dk, d, n, values(m.V[hd]), h, 0, v)
		blas64.Gemm(blas.Trans, blas.NoTrans, scale,
			blas64.General{Rows: dk, Cols: n, Stride: n, Data: k},
			blas64.General{Rows: dk, Cols: n, Stride: n, Data: q},
			0, blas64.General{Rows: n, Cols: n, Stride: n, Data: scores})
		for j := p.len; j < n; j++ { // padded keys
			for c := 0; c < n; c++ {
				scores[j*n+c] += -1e9
			}
		}
		// Column softmax shifted by the matrix's largest score, as the
		// graph computes it.
		top := maxOf(scores)
		for i, s := range scores {
			scores[i] = math.Exp(s - top)
		}
		for c := 0; c < n; c++ {
			var sum float64
			for j := 0; j < n; j++ {
				sum += scores[j*n+c]
			}
			for j := 0; j < n; j++ {
				scores[j*n+c] /= sum
			}
		}
		mulAdd(dk, n, n, v, scores, 0, mixed)
		mulAdd(d, dk, n, values(m.O[hd]), mixed, 1, att)
	}
	for i, a := range att {
		h[i] += a
	}
	ff := broadcast(values(m.FF1.B), n)
	mulAdd(2*d, d, n, values(m.FF1.W), h, 1, ff)
	for i, x := range ff {
		ff[i] = max(x, 0)
	}
	ff2 := broadcast(values(m.FF2.B), n)
	mulAdd(d, 2*d, n, values(m.FF2.W), ff, 1, ff2)
	pooled := make([]float64, d)
	for r := 0; r < d; r++ {
		for t := 0; t < p.len; t++ {
			pooled[r] += (h[r*n+t] + ff2[r*n+t]) * (1 / float64(p.len))
		}
	}
	return affineVec(values(m.Out.W), values(m.Out.B), pooled)
}
