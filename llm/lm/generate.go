package lm

import (
	"context"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/pmlm-go/pmlm/internal/kernels"
)

// GenerateOptions choose how a reply is decoded. The zero value is greedy
// decoding of as many tokens as the context allows.
type GenerateOptions struct {
	// MaxTokens caps the reply's tokens; 0 or more than fits means as
	// many as fit in the context after the prompt.
	MaxTokens int
	// Beam is the beam width; 0 or 1 is greedy decoding. Beam search keeps
	// the Beam most probable partial replies and returns the finished one
	// with the highest mean log-probability per token.
	Beam int
}

// Generation is a decoded reply.
type Generation struct {
	// Text is the reply.
	Text string
	// PromptTokens is the number of prompt tokens read (after the model
	// cut a long prompt to its MaxPrompt) and Tokens the number of reply
	// tokens written, EosID included.
	PromptTokens, Tokens int
	// Finished is true when the model ended the reply itself (EosID) and
	// false when it stopped at MaxTokens or the end of the context.
	Finished bool
	// LogProb is the reply's log-probability under the model (nats).
	LogProb float64
}

// Generate writes the model's reply to prompt. It is deterministic: equal
// prompts and options give equal replies.
func (m *Model) Generate(ctx context.Context, prompt string, opt GenerateOptions) (Generation, error) {
	if opt.MaxTokens < 0 || opt.Beam < 0 {
		return Generation{}, fmt.Errorf("lm: generate: negative max tokens %d or beam %d", opt.MaxTokens, opt.Beam)
	}
	ids := m.promptIDs(prompt)
	limit := m.maxReply(len(ids)) - 1 // the last position has no successor
	if opt.MaxTokens > 0 {
		limit = min(limit, opt.MaxTokens)
	}
	var out []int
	var logp float64
	var finished bool
	var err error
	if opt.Beam <= 1 {
		out, logp, finished, err = m.greedy(ctx, ids, limit)
	} else {
		out, logp, finished, err = m.beam(ctx, ids, limit, opt.Beam)
	}
	if err != nil {
		return Generation{}, err
	}
	return Generation{Text: m.vocab.Decode(out), PromptTokens: len(ids) - 2, Tokens: len(out), Finished: finished, LogProb: logp}, nil
}

func (m *Model) greedy(ctx context.Context, prompt []int, limit int) ([]int, float64, bool, error) {
	d := m.getDecoder()
	defer m.putDecoder(d)
	logits := d.forward(prompt)
	var out []int
	var logp float64
	for len(out) < limit {
		if len(out)%16 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, 0, false, err
			}
		}
		best := argmax(logits)
		logp += logSoftmaxAt(logits, best)
		out = append(out, best)
		if best == EosID {
			return out, logp, true, nil
		}
		if len(out) == limit {
			break
		}
		logits = d.forward([]int{best})
	}
	return out, logp, false, nil
}

// argmax returns the index of the largest value, the lowest on ties; the
// special tokens that never follow a prompt (padding, BosID, SepID) are
// skipped.
func argmax(v []float32) int {
	best := EosID
	for i := numSpecial; i < len(v); i++ {
		if v[i] > v[best] {
			best = i
		}
	}
	if v[UnkID] > v[best] {
		best = UnkID
	}
	return best
}

// logSoftmaxAt is log softmax(v)[i].
func logSoftmaxAt(v []float32, i int) float64 {
	mx := v[0]
	for _, x := range v {
		mx = max(mx, x)
	}
	var sum float64
	for _, x := range v {
		sum += math.Exp(float64(x - mx))
	}
	return float64(v[i]-mx) - math.Log(sum)
}

// hypothesis is one partial reply of a beam search.
type hypothesis struct {
	d      *decoder
	ids    []int
	logp   float64
	logits []float32
}

func (m *Model) beam(ctx context.Context, prompt []int, limit, width int) ([]int, float64, bool, error) {
	first := newDecoder(m)
	logits := append([]float32(nil), first.forward(prompt)...)
	live := []hypothesis{{d: first, logits: logits}}
	var done []hypothesis
	type cand struct {
		parent, token int
		logp          float64
	}
	for step := 0; step < limit && len(live) > 0; step++ {
		if err := ctx.Err(); err != nil {
			return nil, 0, false, err
		}
		var cands []cand
		for p, h := range live {
			lp := logSoftmax(h.logits)
			for _, tok := range topK(lp, width) {
				cands = append(cands, cand{p, tok, h.logp + lp[tok]})
			}
		}
		sort.SliceStable(cands, func(i, j int) bool { return cands[i].logp > cands[j].logp })
		used := make([]bool, len(live))
		var next []hypothesis
		for _, c := range cands {
			if len(next) >= width {
				break
			}
			parent := live[c.parent]
			ids := append(append([]int(nil), parent.ids...), c.token)
			if c.token == EosID {
				done = append(done, hypothesis{ids: ids, logp: c.logp})
				continue
			}
			d := parent.d
			if used[c.parent] {
				d = parent.d.clone()
			}
			used[c.parent] = true
			next = append(next, hypothesis{d: d, ids: ids, logp: c.logp})
		}
		if len(done) >= width {
			break
		}
		if step+1 == limit {
			live = next
			break
		}
		for i := range next {
			next[i].logits = append([]float32(nil), next[i].d.forward(next[i].ids[len(next[i].ids)-1:])...)
		}
		live = next
	}
	finished := len(done) > 0
	pool := done
	if !finished {
		pool = live
	}
	if len(pool) == 0 {
		return nil, 0, false, nil
	}
	best := pool[0]
	for _, h := range pool[1:] {
		if h.logp/float64(len(h.ids)) > best.logp/float64(len(best.ids)) {
			best = h
		}
	}
	return best.ids, best.logp, finished, nil
}

// logSoftmax returns log softmax(v) in float64, with the tokens that never
// follow a prompt at −∞.
func logSoftmax(v []float32) []float64 {
	out := make([]float64, len(v))
	mx := v[0]
	for _, x := range v {
		mx = max(mx, x)
	}
	var sum float64
	for _, x := range v {
		sum += math.Exp(float64(x - mx))
	}
	ls := math.Log(sum)
	for i, x := range v {
		out[i] = float64(x-mx) - ls
	}
	out[PadID], out[BosID], out[SepID] = math.Inf(-1), math.Inf(-1), math.Inf(-1)
	return out
}

// topK returns the indices of the k largest values, largest first, lower
// index first on ties.
func topK(v []float64, k int) []int {
	idx := make([]int, 0, k+1)
	for i, x := range v {
		if math.IsInf(x, -1) {
			continue
		}
		pos := len(idx)
		for pos > 0 && v[idx[pos-1]] < x {
			pos--
		}
		if pos >= k {
			continue
		}
		idx = append(idx, 0)
		copy(idx[pos+1:], idx[pos:])
		idx[pos] = i
		if len(idx) > k {
			idx = idx[:k]
		}
	}
	return idx
}

// decoder runs the model one chunk of tokens at a time, keeping every
// layer's keys and values (the KV cache) so that each new token costs one
// row of work.
type decoder struct {
	m    *Model
	pm   *packedModel
	k, v [][]float32 // per layer: Context×Dim
	n    int         // tokens read so far

	x, ln, qkv, atty, tmp, fc []float32
	scores, logits            []float32
}

// getDecoder takes a decoder from the model's pool (its cache holds about
// a megabyte at the default shape: reusing it keeps answering free of
// garbage).
func (m *Model) getDecoder() *decoder {
	if d, ok := m.decoders.Get().(*decoder); ok && d.pm == m.inference() {
		d.n = 0
		return d
	}
	return newDecoder(m)
}

func (m *Model) putDecoder(d *decoder) { m.decoders.Put(d) }

func newDecoder(m *Model) *decoder {
	c := m.cfg
	d := &decoder{m: m, pm: m.inference()}
	d.k, d.v = make([][]float32, c.Layers), make([][]float32, c.Layers)
	for i := range d.k {
		d.k[i] = make([]float32, c.Context*c.Dim)
		d.v[i] = make([]float32, c.Context*c.Dim)
	}
	d.scores = make([]float32, c.Context)
	d.logits = make([]float32, c.Vocab)
	return d
}

// clone copies the decoder and its cache.
func (d *decoder) clone() *decoder {
	c := d.m.cfg
	e := newDecoder(d.m)
	e.n = d.n
	for i := range d.k {
		copy(e.k[i][:d.n*c.Dim], d.k[i][:d.n*c.Dim])
		copy(e.v[i][:d.n*c.Dim], d.v[i][:d.n*c.Dim])
	}
	return e
}

// linear sets y = x·Wᵀ + b for rows rows: one matrix-vector product for a
// single row, the packed kernel for more.
func linear(y, x []float32, rows, in, out int, w, b []float32, p *linearPack) {
	if rows == 1 {
		kernels.MatVec(y[:out], w, in, x[:in])
		addTo(y[:out], b)
		return
	}
	gemm(y, out, x, in, rows, &p.fwd, b)
}

// rowNorm is layer normalization of each row without the statistics the
// backward pass keeps: the kernels' row operation, which computes exactly
// what layerNorm does.
func rowNorm(y, x []float32, rows, d int, g, b []float32) {
	for t := range rows {
		kernels.AddLayerNorm(y[t*d:(t+1)*d], x[t*d:(t+1)*d], nil, g, b, lnEps)
	}
}

// forward reads tokens at the next positions and returns the logits of
// the token after the last one. The returned slice is reused by the next
// call.
func (d *decoder) forward(tokens []int) []float32 {
	m, c := d.m, d.m.cfg
	D, H, nh := c.Dim, c.Hidden, c.Heads
	dh := D / nh
	rows := len(tokens)
	grow(&d.x, rows*D)
	grow(&d.ln, rows*D)
	grow(&d.qkv, rows*3*D)
	grow(&d.atty, rows*D)
	grow(&d.tmp, rows*D)
	grow(&d.fc, rows*H)
	p := m.params
	wte := m.lay.wte.of(p)
	x := d.x[:rows*D]
	for r, id := range tokens {
		copy(x[r*D:(r+1)*D], wte[id*D:(id+1)*D])
	}
	scale := float32(1 / math.Sqrt(float64(dh)))
	for i, ly := range m.lay.layers {
		pk := &d.pm.layers[i]
		ln, qkv := d.ln[:rows*D], d.qkv[:rows*3*D]
		rowNorm(ln, x, rows, D, ly.ln1G.of(p), ly.ln1B.of(p))
		linear(qkv, ln, rows, D, 3*D, ly.wqkv.of(p), ly.bqkv.of(p), &pk.qkv)
		kc, vc := d.k[i], d.v[i]
		for r := range rows {
			copy(kc[(d.n+r)*D:(d.n+r+1)*D], qkv[r*3*D+D:r*3*D+2*D])
			copy(vc[(d.n+r)*D:(d.n+r+1)*D], qkv[r*3*D+2*D:r*3*D+3*D])
		}
		for r := range rows {
			keys := d.n + r + 1
			for h := range nh {
				s := d.scores[:keys]
				kernels.MatVec(s, kc[h*dh:], D, qkv[r*3*D+h*dh:r*3*D+(h+1)*dh])
				slope := alibiSlope(h, nh) / scale
				for j := range keys - 1 {
					s[j] -= slope * float32(keys-1-j)
				}
				kernels.SoftmaxScaled(s, scale)
				blas32.Gemv(blas.Trans, 1, blas32.General{Rows: keys, Cols: dh, Stride: D, Data: vc[h*dh:]},
					blas32.Vector{N: keys, Inc: 1, Data: s}, 0, blas32.Vector{N: dh, Inc: 1, Data: d.atty[r*D+h*dh:]})
			}
		}
		tmp := d.tmp[:rows*D]
		linear(tmp, d.atty, rows, D, D, ly.wo.of(p), ly.bo.of(p), &pk.o)
		addTo(x, tmp)
		rowNorm(ln, x, rows, D, ly.ln2G.of(p), ly.ln2B.of(p))
		fc := d.fc[:rows*H]
		linear(fc, ln, rows, D, H, ly.wfc.of(p), ly.bfc.of(p), &pk.fc)
		kernels.GELUErf(fc)
		linear(tmp, fc, rows, H, D, ly.wproj.of(p), ly.bproj.of(p), &pk.proj)
		addTo(x, tmp)
	}
	d.n += rows
	last := d.ln[:D]
	rowNorm(last, x[(rows-1)*D:rows*D], 1, D, m.lay.lnfG.of(p), m.lay.lnfB.of(p))
	kernels.MatVec(d.logits[:c.Vocab], wte, D, last)
	return d.logits
}
