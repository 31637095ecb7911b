package predict

import (
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
)

// Reproducible training of the neural baselines through spago's graph.
//
// spago runs a graph's backward pass in goroutines, and a node that feeds
// several operators adds their gradients in the order those goroutines
// finish. Floating-point addition is commutative but not associative, so
// with two contributions the sum is the same bits in either order, with
// three or more it is not: two trainings with the same seed gave different
// weights. The networks' graphs are therefore built so that no node that
// needs a gradient feeds more than two operators (shared inputs are
// multiplied once by stacked weights and then sliced: slices' gradients
// are zero outside their block, which adds exactly in any order), and a
// weight used at many places (every timestep, every example) enters the
// graph as a fresh leaf copy per use. After the backward pass, uses.flush
// adds the copies' gradients to the parameters one after the other, in the
// order the copies were made.

// uses hands out the per-use leaf copies of parameters for one graph.
type uses struct {
	copies []paramCopy
}

// paramCopy is one leaf copy holding the parameters ps stacked by rows.
type paramCopy struct {
	ps   []*nn.Param
	leaf *mat.Dense[float64]
}

// of returns a leaf copy of p for one use.
func (u *uses) of(p *nn.Param) mat.Tensor { return u.stacked(p) }

// stacked returns a leaf copy of the parameters ps (equal column counts)
// stacked by rows, for one use: one product with it is the products with
// each of them, and its result can be sliced.
func (u *uses) stacked(ps ...*nn.Param) mat.Tensor {
	cols := ps[0].Value().Shape()[1]
	var data []float64
	rows := 0
	for _, p := range ps {
		data = append(data, p.Value().Data().F64()...)
		rows += p.Value().Shape()[0]
	}
	leaf := mat.NewDense[float64](mat.WithShape(rows, cols), mat.WithBacking(data))
	leaf.SetRequiresGrad(true)
	u.copies = append(u.copies, paramCopy{ps: ps, leaf: leaf})
	return leaf
}

// flush adds each copy's gradient to its parameters, in the order the
// copies were made. Call it once, after the graph's backward pass.
func (u *uses) flush() {
	for _, c := range u.copies {
		if !c.leaf.HasGrad() {
			continue
		}
		g := c.leaf.Grad().Data().F64()
		at := 0
		for _, p := range c.ps {
			n := p.Value().Size()
			part := mat.NewDense[float64](mat.WithShape(p.Value().Shape()...), mat.WithBacking(append([]float64(nil), g[at:at+n]...)))
			p.AccGrad(part)
			at += n
		}
	}
	u.copies = nil
}
