package policy

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/pmlm-go/pmlm/internal/dropout"
)

// The MLP's training pass without autodiff graphs: a forward pass that
// records its activations on a tape, and a hand-written backward pass over
// the tape (verified against spago's graph in tape_test.go).
//
// Why by hand: spago runs a graph's backward pass in goroutines and sums
// the gradients that meet in one node (the weights, used at every step of
// an episode, and x̂) in the order the goroutines finish. Float32 addition
// is not associative, so two trainings with the same seed gave different
// weights (issue 15, item 16). Here every sum has a fixed order: an
// episode's gradient has the same bits whatever the scheduling, and the
// trainer adds the episodes' gradients in case order.

// stepTape is what one scoring of a state leaves for the backward pass.
// Matrices are row-major with one row per scored action (the state's words,
// then the edits).
type stepTape struct {
	n   int       // rows: actions scored
	x   []float32 // [n d_w] word (and edit) vectors
	ctx []float32 // mean(E) ‖ x̂
	// pre[l] is layer l's output before its activation, [n width_l]; the
	// last one is the scores z ([n 1]).
	pre [][]float32
	// h[l] is layer l+1's input ReLU(pre[l]) ⊙ mask[l]; mask[l] is nil
	// without dropout.
	h, mask [][]float32
}

// gradients holds one episode's gradient with respect to the MLP's
// parameters (MLP.Params order, row-major like their values) and x̂.
type gradients struct {
	params  [][]float32
	patient []float32
}

func (m *MLP) newGradients() *gradients {
	ps := m.Params()
	g := &gradients{params: make([][]float32, len(ps)), patient: make([]float32, m.cfg.PatientDim)}
	for i, p := range ps {
		g.params[i] = make([]float32, p.Size())
	}
	return g
}

// add adds o to g, element by element.
func (g *gradients) add(o *gradients) {
	for i, d := range o.params {
		for j, v := range d {
			g.params[i][j] += v
		}
	}
	for j, v := range o.patient {
		g.patient[j] += v
	}
}

// layerWidths returns the output width of each linear layer, input layer
// first.
func (m *MLP) layerWidths() []int {
	ws := []int{m.Input.B.Shape()[0]}
	for _, l := range m.Layers {
		ws = append(ws, l.B.Shape()[0])
	}
	return ws
}

// general wraps row-major data as a blas32 matrix.
func general(rows, cols int, data []float32) blas32.General {
	return blas32.General{Rows: rows, Cols: cols, Stride: cols, Data: data}
}

// forwardTape scores the words and then the edits as LogitsWithEdits does
// (mean(E) over the words only; edits may be nil) and records the pass.
// patient is x̂ (nil when the policy has no patient input). With drop not
// nil, dropout is applied after every hidden layer with masks drawn from
// drop in the graph's order and layout ([width n] per layer), so that the
// same source gives the graph's masks.
func (m *MLP) forwardTape(words, edits [][]float32, patient []float32, drop *dropout.Source) (*stepTape, []float64, error) {
	nw, dw, dp := len(words), m.cfg.WordDim, m.cfg.PatientDim
	if nw == 0 {
		return nil, nil, fmt.Errorf("%w: no words to score", ErrShape)
	}
	if dp > 0 && len(patient) != dp { // without a patient input, x̂ is ignored (as Logits does)
		return nil, nil, fmt.Errorf("%w: patient encoding of length %d, want %d", ErrShape, len(patient), dp)
	}
	n := nw + len(edits)
	tp := &stepTape{n: n, x: make([]float32, n*dw), ctx: make([]float32, dw+dp)}
	for j, v := range append(append([][]float32(nil), words...), edits...) {
		if len(v) != dw {
			return nil, nil, fmt.Errorf("%w: row %d has %d dimensions, want %d", ErrShape, j, len(v), dw)
		}
		copy(tp.x[j*dw:], v)
	}
	for i := range dw { // the mean in float64, as checkInput computes it
		var sum float64
		for j := range nw {
			sum += float64(tp.x[j*dw+i])
		}
		tp.ctx[i] = float32(sum / float64(nw))
	}
	copy(tp.ctx[dw:], patient[:dp])

	widths := m.layerWidths()
	w0 := widths[0]
	// shared = ContextW·(mean(E) ‖ x̂) + b, added to every row of X·WordWᵀ.
	shared := append([]float32(nil), m.Input.B.Data().F32()...)
	blas32.Gemv(blas.NoTrans, 1, general(w0, dw+dp, m.Input.ContextW.Data().F32()),
		blas32.Vector{N: dw + dp, Inc: 1, Data: tp.ctx}, 1, blas32.Vector{N: w0, Inc: 1, Data: shared})
	pre := make([]float32, n*w0)
	blas32.Gemm(blas.NoTrans, blas.Trans, 1, general(n, dw, tp.x), general(w0, dw, m.Input.WordW.Data().F32()),
		0, general(n, w0, pre))
	for j := range n {
		row := pre[j*w0 : (j+1)*w0]
		for r, v := range shared {
			row[r] += v
		}
	}
	tp.pre = append(tp.pre, pre)
	for i, l := range m.Layers {
		in, out := widths[i], widths[i+1]
		h := make([]float32, n*in)
		for k, v := range pre {
			h[k] = max(v, 0)
		}
		var mask []float32
		if drop != nil && m.cfg.Dropout > 0 {
			mt := drop.Mask(in, n, m.cfg.Dropout).Data().F32() // [in n], the graph's layout
			mask = make([]float32, n*in)
			for r := range in {
				for j := range n {
					mask[j*in+r] = mt[r*n+j]
				}
			}
			for k := range h {
				h[k] *= mask[k]
			}
		}
		tp.h, tp.mask = append(tp.h, h), append(tp.mask, mask)
		pre = make([]float32, n*out)
		bias := l.B.Data().F32()
		for j := range n {
			copy(pre[j*out:(j+1)*out], bias)
		}
		blas32.Gemm(blas.NoTrans, blas.Trans, 1, general(n, in, h), general(out, in, l.W.Data().F32()),
			1, general(n, out, pre))
		tp.pre = append(tp.pre, pre)
	}
	z := make([]float64, n)
	for j := range z {
		z[j] = float64(pre[j*widths[len(widths)-1]])
	}
	return tp, z, nil
}

// backwardTape adds to g the gradient of Σ_j dz_j·z_j, z the scores of the
// recorded pass, with respect to the parameters and x̂. Every sum runs in a
// fixed order.
func (m *MLP) backwardTape(tp *stepTape, dz []float32, g *gradients) {
	n, dw, dp := tp.n, m.cfg.WordDim, m.cfg.PatientDim
	widths := m.layerWidths()
	d := dz // dL/d pre of the current layer, [n width]
	for i := len(m.Layers) - 1; i >= 0; i-- {
		l := m.Layers[i]
		in, out := widths[i], widths[i+1]
		gw, gb := g.params[3+2*i], g.params[4+2*i]
		// dW += dᵀ·h, db += Σ_rows d, dh = d·W.
		blas32.Gemm(blas.Trans, blas.NoTrans, 1, general(n, out, d), general(n, in, tp.h[i]), 1, general(out, in, gw))
		for j := range n {
			for r, v := range d[j*out : (j+1)*out] {
				gb[r] += v
			}
		}
		dh := make([]float32, n*in)
		blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, general(n, out, d), general(out, in, l.W.Data().F32()), 0, general(n, in, dh))
		pre, mask := tp.pre[i], tp.mask[i]
		for k := range dh {
			switch {
			case pre[k] <= 0:
				dh[k] = 0
			case mask != nil:
				dh[k] *= mask[k]
			}
		}
		d = dh
	}
	// The input layer: pre0 = X·WordWᵀ + 1·sharedᵀ, shared = ContextW·ctx + b.
	w0 := widths[0]
	blas32.Gemm(blas.Trans, blas.NoTrans, 1, general(n, w0, d), general(n, dw, tp.x), 1, general(w0, dw, g.params[0]))
	dshared := make([]float32, w0)
	for j := range n {
		for r, v := range d[j*w0 : (j+1)*w0] {
			dshared[r] += v
		}
	}
	for r, v := range dshared {
		g.params[2][r] += v
	}
	blas32.Ger(1, blas32.Vector{N: w0, Inc: 1, Data: dshared}, blas32.Vector{N: dw + dp, Inc: 1, Data: tp.ctx},
		general(w0, dw+dp, g.params[1]))
	if dp > 0 {
		// dx̂ = (ContextWᵀ·dshared) restricted to the x̂ columns.
		dctx := make([]float32, dw+dp)
		blas32.Gemv(blas.Trans, 1, general(w0, dw+dp, m.Input.ContextW.Data().F32()),
			blas32.Vector{N: w0, Inc: 1, Data: dshared}, 0, blas32.Vector{N: dw + dp, Inc: 1, Data: dctx})
		for k, v := range dctx[dw:] {
			g.patient[k] += v
		}
	}
}

// scoreGradient returns dL/dz of one step of an episode for the loss
// −advantage·log π(a) − beta·H(π), with π = softmax(z) given as probs:
// −advantage·(onehot(a) − π) + beta·π ⊙ (log π + H). Actions of
// probability 0 get 0 from the entropy term (the limit of p·log p).
func scoreGradient(probs []float64, a int, advantage, beta float64) []float32 {
	var h float64
	if beta != 0 { // the entropy is needed only for its term
		for _, p := range probs {
			if p > 0 {
				h -= p * math.Log(p)
			}
		}
	}
	dz := make([]float32, len(probs))
	for j, p := range probs {
		v := advantage * p
		if j == a {
			v -= advantage
		}
		if beta != 0 && p > 0 {
			v += beta * p * (math.Log(p) + h)
		}
		dz[j] = float32(v)
	}
	return dz
}
