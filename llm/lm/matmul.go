package lm

import (
	"fmt"

	"github.com/pmlm-go/pmlm/internal/kernels"
)

// gemm is kernels.Gemm on one goroutine (the trainer parallelizes over
// sequences). Its only errors are shape errors, which are bugs of this
// package, not bad input: every shape is derived from a validated Config.
func gemm(c []float32, ldc int, a []float32, lda, m int, b *kernels.Packed, bias []float32) {
	if err := kernels.Gemm(c, ldc, a, lda, m, b, bias, nil, 1); err != nil {
		panic(fmt.Sprintf("lm: internal shape error: %v", err))
	}
}

// gemmTA is gemm with A given transposed (at is K×m, rows ldat apart).
func gemmTA(c []float32, ldc int, at []float32, ldat, m int, b *kernels.Packed) {
	if err := kernels.GemmTA(c, ldc, at, ldat, m, b, nil, nil, 1); err != nil {
		panic(fmt.Sprintf("lm: internal shape error: %v", err))
	}
}

// linearPack holds a linear layer's weight W (out×in) packed both ways:
// as Wᵀ for the forward product x·Wᵀ and as W for the backward product
// dy·W.
type linearPack struct {
	fwd, bwd kernels.Packed
}

func (p *linearPack) pack(w []float32, out, in int, backward bool) {
	kernels.PackTransposed(&p.fwd, w, out, in, in)
	if backward {
		kernels.Pack(&p.bwd, w, out, in, in)
	}
}

// packedModel is every weight matrix packed for the kernels. The trainer
// packs once per optimizer step and shares it, read-only, between its
// workers.
type packedModel struct {
	wte    linearPack
	layers []struct{ qkv, o, fc, proj linearPack }
}

func (pm *packedModel) pack(c Config, l layout, params []float32, backward bool) {
	d, h := c.Dim, c.Hidden
	pm.wte.pack(l.wte.of(params), c.Vocab, d, backward)
	if len(pm.layers) != c.Layers {
		pm.layers = make([]struct{ qkv, o, fc, proj linearPack }, c.Layers)
	}
	for i, ly := range l.layers {
		p := &pm.layers[i]
		p.qkv.pack(ly.wqkv.of(params), 3*d, d, backward)
		p.o.pack(ly.wo.of(params), d, d, backward)
		p.fc.pack(ly.wfc.of(params), h, d, backward)
		p.proj.pack(ly.wproj.of(params), d, h, backward)
	}
}

// linearBackward accumulates the gradients of y = x·Wᵀ + b for the rows×in
// input x and the rows×out gradient dy: dW += dyᵀ·x, db += Σ dy, and sets
// dx = dy·W when dx is not nil, using the workspace's scratch.
func linearBackward(ws *workspace, dx, dy, x []float32, rows, in, out int, p *linearPack, dw, db []float32) {
	if dx != nil {
		gemm(dx, in, dy, out, rows, &p.bwd, nil)
	}
	addColumns(db, dy, rows, out)
	// dW = dyᵀ·x: A = dyᵀ (out×rows), B = x (rows×in).
	prod := grow(&ws.scratch, out*in)
	kernels.Pack(&ws.packB, x, rows, in, in)
	gemmTA(prod, in, dy, out, out, &ws.packB)
	addTo(dw, prod)
}

// grow returns (*buf)[:n], reallocating when it is too short.
func grow(buf *[]float32, n int) []float32 {
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	return (*buf)[:n]
}
