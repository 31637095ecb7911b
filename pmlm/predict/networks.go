package predict

import (
	"math"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/initializers"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/rand"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/nlpodyssey/spago/nn/recurrent/lstm"
)

// newLinear returns a Xavier-initialized linear layer (spago's starts at 0).
func newLinear(in, out int, gain float64, rng *rand.LockedRand) *linear.Model {
	l := linear.New[float64](in, out)
	initializers.XavierUniform(l.W.Value().(mat.Matrix), gain, rng)
	return l
}

// newParam returns a Xavier-initialized [rows × cols] parameter.
func newParam(rows, cols int, rng *rand.LockedRand) *nn.Param {
	p := nn.NewParam(mat.NewDense[float64](mat.WithShape(rows, cols)))
	initializers.XavierUniform(p.Value().(mat.Matrix), 1, rng)
	return p
}

// zeroParam returns a zero [rows × 1] parameter (a bias).
func zeroParam(rows int) *nn.Param {
	return nn.NewParam(mat.NewDense[float64](mat.WithShape(rows, 1)))
}

// ---------------------------------------------------------------------------

// lstmNet runs spago's LSTM cell over a whole batch at once: the input of
// step t is the [channels × batch] matrix of the batch's timestep t.
type lstmNet struct {
	nn.Module
	Cell   *lstm.Model
	Out    *linear.Model
	MaxLen int
}

func newLSTMNet(channels, hidden, classes, maxLen int, seed uint64) *lstmNet {
	rng := rand.NewLockedRand(seed)
	return &lstmNet{
		Cell:   lstm.New[float64](channels, hidden).Init(rng),
		Out:    newLinear(hidden, classes, 1, rng),
		MaxLen: maxLen,
	}
}

func (m *lstmNet) logits(batch []padded, u *uses) []mat.Tensor {
	b := len(batch)
	channels := len(batch[0].x) / m.MaxLen
	hidden := m.Cell.WIn.Value().Shape()[0]
	ones := filled(1, b, 1)
	maxSteps := 0
	for _, p := range batch {
		maxSteps = max(maxSteps, p.len)
	}
	l := m.Cell
	var h, c, sum mat.Tensor
	for t := 0; t < maxSteps; t++ {
		x := make([]float64, channels*b)
		mask := make([]float64, hidden*b) // 1/len on real steps, 0 on padding
		for j, p := range batch {
			for ch := 0; ch < channels; ch++ {
				x[ch*b+j] = p.x[ch*m.MaxLen+t]
			}
			if t < p.len {
				for k := 0; k < hidden; k++ {
					mask[k*b+j] = 1 / float64(p.len)
				}
			}
		}
		xt := dense(channels, b, x)
		// The four gates' pre-activations as one [4·hidden × b] product
		// (rows: input, output, candidate, forget), so that h feeds one
		// product (and the mean) instead of four.
		z := ag.Add(ag.Mul(u.stacked(l.WIn, l.WOut, l.WCand, l.WFor), xt), ag.Mul(u.stacked(l.BIn, l.BOut, l.BCand, l.BFor), ones))
		if h != nil {
			z = ag.Add(z, ag.Mul(u.stacked(l.WInRec, l.WOutRec, l.WCandRec, l.WForRec), h))
		}
		gate := func(k int) mat.Tensor { return ag.Slice(z, k*hidden, 0, (k+1)*hidden, b) }
		in := ag.Sigmoid(gate(0))
		out := ag.Sigmoid(gate(1))
		cand := ag.Tanh(gate(2))
		if c == nil {
			c = ag.Prod(in, cand)
		} else {
			c = ag.Add(ag.Prod(in, cand), ag.Prod(ag.Sigmoid(gate(3)), c))
		}
		h = ag.Prod(out, ag.Tanh(c))
		term := ag.Prod(h, dense(hidden, b, mask))
		if sum == nil {
			sum = term
		} else {
			sum = ag.Add(sum, term)
		}
	}
	logits := ag.Add(ag.Mul(u.of(m.Out.W), sum), ag.Mul(u.of(m.Out.B), ones))
	return ag.ColViews(logits)
}

// ---------------------------------------------------------------------------

// cnnNet is two same-padded 1-D convolutions of kernel 3 with ReLU, global
// max pooling over time and a linear layer, per example.
type cnnNet struct {
	nn.Module
	// Conv1[k] and Conv2[k] are the kernel taps at offsets k-1.
	Conv1, Conv2 []*nn.Param
	B1, B2       *nn.Param
	Out          *linear.Model
	MaxLen       int
}

func newCNNNet(channels, hidden, classes, maxLen int, seed uint64) *cnnNet {
	rng := rand.NewLockedRand(seed)
	m := &cnnNet{B1: zeroParam(hidden), B2: zeroParam(hidden), MaxLen: maxLen}
	for k := 0; k < 3; k++ {
		m.Conv1 = append(m.Conv1, newParam(hidden, channels, rng))
		m.Conv2 = append(m.Conv2, newParam(hidden, hidden, rng))
	}
	m.Out = newLinear(hidden, classes, 1, rng)
	return m
}

// shiftMatrix returns S with (X·S)[:, t] = X[:, t+off] (zero outside).
func shiftMatrix(n, off int) mat.Tensor {
	d := make([]float64, n*n)
	for t := 0; t < n; t++ {
		if s := t + off; s >= 0 && s < n {
			d[s*n+t] = 1
		}
	}
	return dense(n, n, d)
}

func (m *cnnNet) logits(batch []padded, u *uses) []mat.Tensor {
	n := m.MaxLen
	channels := len(batch[0].x) / n
	hidden := m.B1.Value().Shape()[0]
	shifts := []mat.Tensor{shiftMatrix(n, -1), nil, shiftMatrix(n, 1)}
	// all = [S₋₁ | I | S₊₁]: one product gives the three shifted copies of
	// the first layer's output side by side, so that it feeds one product.
	all := make([]float64, n*3*n)
	for k, off := range []int{-1, 0, 1} {
		for t := 0; t < n; t++ {
			if s := t + off; s >= 0 && s < n {
				all[s*3*n+k*n+t] = 1
			}
		}
	}
	allShifts := dense(n, 3*n, all)
	ones := filled(1, n, 1)
	out := make([]mat.Tensor, len(batch))
	for i, p := range batch {
		x := dense(channels, n, p.x)
		z1 := ag.Mul(u.of(m.B1), ones)
		for k, s := range shifts {
			xs := x
			if s != nil {
				xs = ag.Mul(x, s)
			}
			z1 = ag.Add(z1, ag.Mul(u.of(m.Conv1[k]), xs))
		}
		shifted := ag.Mul(ag.ReLU(z1), allShifts)
		z2 := ag.Mul(u.of(m.B2), ones)
		for k := range shifts {
			z2 = ag.Add(z2, ag.Mul(u.of(m.Conv2[k]), ag.Slice(shifted, 0, k*n, hidden, (k+1)*n)))
		}
		rows := ag.RowViews(ag.ReLU(z2))
		pooled := make([]mat.Tensor, len(rows))
		for r, row := range rows {
			pooled[r] = ag.ReduceMax(row)
		}
		out[i] = ag.Affine(u.of(m.Out.B), u.of(m.Out.W), ag.Concat(pooled...))
	}
	return out
}

// ---------------------------------------------------------------------------

// transformerNet is one Transformer encoder layer over the projected,
// position-encoded timesteps (as columns), with padded keys masked and mean
// pooling over the real timesteps.
type transformerNet struct {
	nn.Module
	In         *linear.Model
	Q, K, V, O []*nn.Param // per head: Q,K,V [dk × d], O [d × dk]
	BO         *nn.Param
	FF1, FF2   *linear.Model
	Out        *linear.Model
	MaxLen     int
	Positions  []float64 // sinusoidal encodings, [d × MaxLen]
}

const transformerHeads = 2

func newTransformerNet(channels, hidden, classes, maxLen int, seed uint64) *transformerNet {
	rng := rand.NewLockedRand(seed)
	d := hidden
	dk := max(1, d/transformerHeads)
	m := &transformerNet{
		In:     newLinear(channels, d, 1, rng),
		BO:     zeroParam(d),
		FF1:    newLinear(d, 2*d, 1, rng),
		FF2:    newLinear(2*d, d, 1, rng),
		Out:    newLinear(d, classes, 1, rng),
		MaxLen: maxLen,
	}
	for h := 0; h < transformerHeads; h++ {
		m.Q = append(m.Q, newParam(dk, d, rng))
		m.K = append(m.K, newParam(dk, d, rng))
		m.V = append(m.V, newParam(dk, d, rng))
		m.O = append(m.O, newParam(d, dk, rng))
	}
	m.Positions = make([]float64, d*maxLen)
	for i := 0; i < d; i++ {
		for t := 0; t < maxLen; t++ {
			freq := math.Pow(10000, -float64(2*(i/2))/float64(d))
			if i%2 == 0 {
				m.Positions[i*maxLen+t] = math.Sin(float64(t) * freq)
			} else {
				m.Positions[i*maxLen+t] = math.Cos(float64(t) * freq)
			}
		}
	}
	return m
}

func (m *transformerNet) logits(batch []padded, u *uses) []mat.Tensor {
	n := m.MaxLen
	channels := len(batch[0].x) / n
	d := m.In.W.Value().Shape()[0]
	dk := m.Q[0].Value().Shape()[0]
	scale := mat.Scalar(1 / math.Sqrt(float64(dk)))
	onesRow := filled(1, n, 1)
	onesCol := filled(n, 1, 1)
	pos := dense(d, n, m.Positions)
	var qkv []*nn.Param // per head: Q, K, V, stacked into one product
	for hd := range m.Q {
		qkv = append(qkv, m.Q[hd], m.K[hd], m.V[hd])
	}
	out := make([]mat.Tensor, len(batch))
	for i, p := range batch {
		// Key mask: scores of padded keys (rows ≥ len) get -1e9 so that
		// their softmax weight is 0; the pooling averages real columns.
		mask := make([]float64, n*n)
		pool := make([]float64, n)
		for t := 0; t < n; t++ {
			if t >= p.len {
				for q := 0; q < n; q++ {
					mask[t*n+q] = -1e9
				}
			} else {
				pool[t] = 1 / float64(p.len)
			}
		}
		maskT := dense(n, n, mask)
		x := dense(channels, n, p.x)
		h := ag.Add(ag.Add(ag.Mul(u.of(m.In.W), x), ag.Mul(u.of(m.In.B), onesRow)), pos) // [d × n]
		proj := ag.Mul(u.stacked(qkv...), h)                                             // [3·heads·dk × n]
		part := func(j int) mat.Tensor { return ag.Slice(proj, j*dk, 0, (j+1)*dk, n) }
		att := ag.Mul(u.of(m.BO), onesRow)
		for hd := range m.Q {
			q, k, v := part(3*hd), part(3*hd+1), part(3*hd+2)
			// scores[j][q] = k_j·q_q: column q holds one query's scores.
			scores := ag.Add(ag.ProdScalar(ag.Mul(ag.T(k), q), scale), maskT)
			// Column softmax, stabilized by the largest score of the
			// matrix (a constant shift, exact for every column).
			e := ag.Exp(ag.SubScalar(scores, mat.Scalar(maxOf(scores.Value().Data().F64()))))
			weights := ag.Div(e, ag.Mul(onesCol, ag.Mul(filled(1, n, 1), e)))
			att = ag.Add(att, ag.Mul(u.of(m.O[hd]), ag.Mul(v, weights)))
		}
		h = ag.Add(h, att)
		ff := ag.ReLU(ag.Add(ag.Mul(u.of(m.FF1.W), h), ag.Mul(u.of(m.FF1.B), onesRow)))
		h = ag.Add(h, ag.Add(ag.Mul(u.of(m.FF2.W), ff), ag.Mul(u.of(m.FF2.B), onesRow)))
		pooled := ag.Mul(h, dense(n, 1, pool))
		out[i] = ag.Affine(u.of(m.Out.B), u.of(m.Out.W), pooled)
	}
	return out
}

// maxOf returns the largest value of v.
func maxOf(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
