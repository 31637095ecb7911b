package lm

import (
	"math"

	"github.com/pmlm-go/pmlm/internal/kernels"
)

// workspace is one worker's buffers for the forward and backward pass of
// one sequence: the activations the backward pass needs, and scratch. It
// is sized for the longest sequence once and reused.
type workspace struct {
	cfg              Config
	resid            [][]float32 // Layers+1 residual streams, T×D
	layers           []layerActs
	lnf              []float32 // T×D
	lnfMean, lnfRstd []float32
	sel              []float32 // M×D: the final states at positions with a target
	logits           []float32 // M×V: probabilities after the forward pass
	// Backward.
	dres, dmid, dln, dqkv, datty, dfc, dgelu []float32
	scratch                                  []float32
	noBias                                   []float32
	packB                                    kernels.Packed
	packK                                    kernels.Packed
	packV                                    kernels.Packed
	dP                                       []float32 // T×T
}

type layerActs struct {
	ln1, ln2     []float32 // T×D
	mean1, rstd1 []float32
	mean2, rstd2 []float32
	qkv          []float32 // T×3D
	att          []float32 // Heads×T×T softmax probabilities
	atty         []float32 // T×D
	mid          []float32 // T×D: residual after attention
	fc, act      []float32 // T×Hidden: before and after GELU
}

func newWorkspace(c Config) *workspace {
	t, d, h := c.Context, c.Dim, c.Hidden
	f := func(n int) []float32 { return make([]float32, n) }
	ws := &workspace{cfg: c}
	ws.resid = make([][]float32, c.Layers+1)
	for i := range ws.resid {
		ws.resid[i] = f(t * d)
	}
	ws.layers = make([]layerActs, c.Layers)
	for i := range ws.layers {
		ws.layers[i] = layerActs{
			ln1: f(t * d), ln2: f(t * d), mean1: f(t), rstd1: f(t), mean2: f(t), rstd2: f(t),
			qkv: f(t * 3 * d), att: f(c.Heads * t * t), atty: f(t * d), mid: f(t * d),
			fc: f(t * h), act: f(t * h),
		}
	}
	ws.lnf, ws.lnfMean, ws.lnfRstd = f(t*d), f(t), f(t)
	ws.dres, ws.dmid, ws.dln = f(t*d), f(t*d), f(t*d)
	ws.dqkv, ws.datty = f(t*3*d), f(t*d)
	ws.dfc, ws.dgelu = f(t*h), f(t*h)
	ws.dP = f(t * t)
	return ws
}

// sequence is one training example as token ids: BosID, the prompt, SepID,
// the reply, EosID. Positions from Start on predict the next token.
type sequence struct {
	ids   []int
	start int // index of SepID: the first position whose next token is a target
}

// targets is the number of predicted tokens.
func (s sequence) targets() int { return len(s.ids) - 1 - s.start }

// lossAndGrad runs the forward and backward pass of one sequence. It
// returns the summed negative log-likelihood (nats) of the reply tokens and
// adds scale × its gradient to grad.
func lossAndGrad(ws *workspace, params, grad []float32, l layout, pm *packedModel, seq sequence, scale float32, backward bool) float64 {
	c := ws.cfg
	T, D, V := len(seq.ids)-1, c.Dim, c.Vocab // the last token is only a target
	ids := seq.ids[:T]
	wte := l.wte.of(params)
	x := ws.resid[0][:T*D]
	for t, id := range ids {
		copy(x[t*D:(t+1)*D], wte[id*D:(id+1)*D])
	}
	for i := range c.Layers {
		blockForward(ws, params, l.layers[i], &pm.layers[i], &ws.layers[i], ws.resid[i], ws.resid[i+1], T)
	}
	lnf := ws.lnf[:T*D]
	layerNorm(lnf, ws.resid[c.Layers][:T*D], T, D, l.lnfG.of(params), l.lnfB.of(params), ws.lnfMean, ws.lnfRstd)
	M := seq.targets()
	sel := grow(&ws.sel, M*D)
	copy(sel, lnf[seq.start*D:(seq.start+M)*D])
	logits := grow(&ws.logits, M*V)
	gemm(logits, V, sel, D, M, &pm.wte.fwd, nil)
	var nll float64
	for m := range M {
		row := logits[m*V : (m+1)*V]
		kernels.SoftmaxScaled(row, 1)
		target := seq.ids[seq.start+m+1]
		nll -= math.Log(math.Max(float64(row[target]), 1e-30))
	}
	if !backward {
		return nll
	}
	// Output layer: dlogits = scale·(p − onehot).
	for m := range M {
		row := logits[m*V : (m+1)*V]
		for i := range row {
			row[i] *= scale
		}
		row[seq.ids[seq.start+m+1]] -= scale
	}
	dsel := grow(&ws.dgelu, M*D) // free until the first block's backward
	dwte := l.wte.of(grad)
	// The output layer has no bias: its gradient goes to scratch.
	noBias := grow(&ws.noBias, V)
	linearBackward(ws, dsel, logits, sel, M, D, V, &pm.wte, dwte, noBias)
	dlnf := ws.dln[:T*D]
	clear(dlnf)
	copy(dlnf[seq.start*D:], dsel)
	dres := ws.dres[:T*D]
	clear(dres)
	layerNormBackward(dres, dlnf, ws.resid[c.Layers], T, D, l.lnfG.of(params), ws.lnfMean, ws.lnfRstd,
		l.lnfG.of(grad), l.lnfB.of(grad))
	for i := c.Layers - 1; i >= 0; i-- {
		blockBackward(ws, params, grad, l.layers[i], &pm.layers[i], &ws.layers[i], ws.resid[i], T)
	}
	for t, id := range ids {
		addTo(dwte[id*D:(id+1)*D], dres[t*D:(t+1)*D])
	}
	return nll
}

// blockForward computes one transformer block: out = mid + MLP(LN(mid)),
// mid = in + Attention(LN(in)).
func blockForward(ws *workspace, params []float32, ly layerLayout, p *struct{ qkv, o, fc, proj linearPack }, a *layerActs, in, out []float32, T int) {
	c := ws.cfg
	D, H := c.Dim, c.Hidden
	layerNorm(a.ln1, in, T, D, ly.ln1G.of(params), ly.ln1B.of(params), a.mean1, a.rstd1)
	gemm(a.qkv, 3*D, a.ln1, D, T, &p.qkv.fwd, ly.bqkv.of(params))
	attentionForward(ws, a, T)
	gemm(a.mid, D, a.atty, D, T, &p.o.fwd, ly.bo.of(params))
	addTo(a.mid[:T*D], in[:T*D])
	layerNorm(a.ln2, a.mid, T, D, ly.ln2G.of(params), ly.ln2B.of(params), a.mean2, a.rstd2)
	gemm(a.fc, H, a.ln2, D, T, &p.fc.fwd, ly.bfc.of(params))
	gelu(a.act[:T*H], a.fc[:T*H])
	gemm(out, D, a.act, H, T, &p.proj.fwd, ly.bproj.of(params))
	addTo(out[:T*D], a.mid[:T*D])
}

// blockBackward takes ws.dres = dL/d(out) and leaves dL/d(in) in it.
func blockBackward(ws *workspace, params, grad []float32, ly layerLayout, p *struct{ qkv, o, fc, proj linearPack }, a *layerActs, in []float32, T int) {
	c := ws.cfg
	D, H := c.Dim, c.Hidden
	dres := ws.dres[:T*D]
	// out = mid + proj(gelu(fc(ln2(mid)))).
	dact := ws.dgelu[:T*H]
	linearBackward(ws, dact, dres, a.act, T, H, D, &p.proj, ly.wproj.of(grad), ly.bproj.of(grad))
	dfc := ws.dfc[:T*H]
	geluBackward(dfc, dact, a.fc[:T*H])
	dln := ws.dln[:T*D]
	linearBackward(ws, dln, dfc, a.ln2, T, D, H, &p.fc, ly.wfc.of(grad), ly.bfc.of(grad))
	dmid := ws.dmid[:T*D]
	copy(dmid, dres)
	layerNormBackward(dmid, dln, a.mid, T, D, ly.ln2G.of(params), a.mean2, a.rstd2, ly.ln2G.of(grad), ly.ln2B.of(grad))
	// mid = in + o(attention(qkv(ln1(in)))).
	datty := ws.datty[:T*D]
	linearBackward(ws, datty, dmid, a.atty, T, D, D, &p.o, ly.wo.of(grad), ly.bo.of(grad))
	dqkv := ws.dqkv[:T*3*D]
	attentionBackward(ws, a, datty, dqkv, T)
	linearBackward(ws, dln, dqkv, a.ln1, T, D, 3*D, &p.qkv, ly.wqkv.of(grad), ly.bqkv.of(grad))
	copy(dres, dmid)
	layerNormBackward(dres, dln, in, T, D, ly.ln1G.of(params), a.mean1, a.rstd1, ly.ln1G.of(grad), ly.ln1B.of(grad))
}

// attentionForward sets a.atty from a.qkv with causal multi-head attention
// and keeps the probabilities in a.att.
func attentionForward(ws *workspace, a *layerActs, T int) {
	c := ws.cfg
	D, nh := c.Dim, c.Heads
	dh := D / nh
	scale := float32(1 / math.Sqrt(float64(dh)))
	for h := range nh {
		q, k, v := a.qkv[h*dh:], a.qkv[D+h*dh:], a.qkv[2*D+h*dh:]
		att := a.att[h*T*T : (h+1)*T*T]
		kernels.PackTransposed(&ws.packK, k, T, dh, 3*D)
		gemm(att, T, q, 3*D, T, &ws.packK, nil)
		slope := alibiSlope(h, nh) / scale // the bias is added before the scaling
		for i := range T {
			row := att[i*T : (i+1)*T]
			for j := range i {
				row[j] -= slope * float32(i-j)
			}
			kernels.SoftmaxScaled(row[:i+1], scale)
			clear(row[i+1:])
		}
		kernels.Pack(&ws.packV, v, T, dh, 3*D)
		gemm(a.atty[h*dh:], D, att, T, T, &ws.packV, nil)
	}
}

// attentionBackward sets dqkv from datty.
func attentionBackward(ws *workspace, a *layerActs, datty, dqkv []float32, T int) {
	c := ws.cfg
	D, nh := c.Dim, c.Heads
	dh := D / nh
	scale := float32(1 / math.Sqrt(float64(dh)))
	dP := ws.dP[:T*T]
	for h := range nh {
		q, k, v := a.qkv[h*dh:], a.qkv[D+h*dh:], a.qkv[2*D+h*dh:]
		att := a.att[h*T*T : (h+1)*T*T]
		da := datty[h*dh:]
		// dP = dA·Vᵀ.
		kernels.PackTransposed(&ws.packV, v, T, dh, 3*D)
		gemm(dP, T, da, D, T, &ws.packV, nil)
		// dV = Pᵀ·dA.
		kernels.Pack(&ws.packB, da, T, dh, D)
		gemmTA(dqkv[2*D+h*dh:], 3*D, att, T, T, &ws.packB)
		// dS = P ∘ (dP − rowsum(P ∘ dP)) · scale, in place of dP.
		for i := range T {
			p, dp := att[i*T:i*T+i+1], dP[i*T:(i+1)*T]
			var dot float32
			for j, pj := range p {
				dot += pj * dp[j]
			}
			for j, pj := range p {
				dp[j] = pj * (dp[j] - dot) * scale
			}
			clear(dp[i+1:])
		}
		// dQ = dS·K, dK = dSᵀ·Q.
		kernels.Pack(&ws.packK, k, T, dh, 3*D)
		gemm(dqkv[h*dh:], 3*D, dP, T, T, &ws.packK, nil)
		kernels.Pack(&ws.packK, q, T, dh, 3*D)
		gemmTA(dqkv[D+h*dh:], 3*D, dP, T, T, &ws.packK)
	}
}
