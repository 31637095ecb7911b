package bert

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn/linear"

	"github.com/pmlm-go/pmlm/internal/kernels"
)

// Forward selects the implementation of the forward pass.
type Forward int

const (
	// ForwardFast is the default: the packed, cache-blocked, multi-core
	// kernels of internal/kernels over the same weights, equal to
	// ForwardCybertron within float32 rounding (1e-5).
	ForwardFast Forward = iota
	// ForwardCybertron runs the stock cybertron/spago graph, one sentence
	// at a time: the reference the fast path is tested against.
	ForwardCybertron
)

// String names the path.
func (f Forward) String() string {
	switch f {
	case ForwardFast:
		return "fast"
	case ForwardCybertron:
		return "cybertron"
	default:
		return fmt.Sprintf("Forward(%d)", int(f))
	}
}

// WithForward returns a model that shares m's weights (and packed
// kernels) but runs its forward passes with f.
func (m *Model) WithForward(f Forward) *Model {
	c := *m
	c.forward = f
	return &c
}

// fastModel holds the weights in the layout of the fast kernels, built
// layer by layer on first use (a packed bert-base layer is 28 MiB, so
// layers above the ones asked for are never packed), and a free list of
// workspaces so that concurrent calls do not share buffers and repeated
// calls allocate nothing but their results. (A sync.Pool would be emptied
// by every garbage collection, and a bert-base workspace is megabytes.)
type fastModel struct {
	cfg     Config
	act     kernels.Epilogue
	workers int
	once    []sync.Once
	layers  []fastLayer

	mu   sync.Mutex
	free []*workspace // at most maxFree
}

// maxFree bounds the workspaces kept for reuse: enough for a few
// concurrent callers.
const maxFree = 4

// fastLayer is one encoder layer: the three projections fused into one
// [3h, h] product, packed transposed, plus biases and LayerNorm affines.
type fastLayer struct {
	qkv, attnOut, inter, out                 kernels.Packed
	qkvB, attnOutB, interB, outB             []float32
	attnNormW, attnNormB, outNormW, outNormB []float32
}

func newFastModel(cfg Config) (*fastModel, error) {
	act, err := activationEpilogue(cfg.HiddenAct)
	if err != nil {
		return nil, err
	}
	return &fastModel{
		cfg:     cfg,
		act:     act,
		workers: runtime.GOMAXPROCS(0),
		once:    make([]sync.Once, cfg.NumHiddenLayers),
		layers:  make([]fastLayer, cfg.NumHiddenLayers),
	}, nil
}

func f32(t mat.Tensor) []float32 { return t.Value().Data().F32() }

// layer packs layer i of the cybertron model on first use.
func (fm *fastModel) layer(m *Model, i int) *fastLayer {
	fm.once[i].Do(func() {
		h := fm.cfg.HiddenSize
		cl := m.cb.Encoder.Layers[i]
		l := &fm.layers[i]
		heads := cl.SelfAttention.Attention.Heads
		dk := h / len(heads)
		// Rows 0..h are the query projection, h..2h the key, 2h..3h the
		// value, each the concatenation of cybertron's per-head [dk, h]
		// weights: HuggingFace's [out, in] layout.
		w := make([]float32, 3*h*h)
		l.qkvB = make([]float32, 3*h)
		for j, hd := range heads {
			for p, lin := range []*linear.Model{hd.Query, hd.Key, hd.Value} {
				row := p*h + j*dk
				copy(w[row*h:(row+dk)*h], f32(lin.W))
				copy(l.qkvB[row:row+dk], f32(lin.B))
			}
		}
		kernels.PackTransposed(&l.qkv, w, 3*h, h, h)
		pack := func(dst *kernels.Packed, lin *linear.Model, out, in int) []float32 {
			kernels.PackTransposed(dst, f32(lin.W), out, in, in)
			return f32(lin.B)
		}
		inter := fm.cfg.IntermediateSize
		l.attnOutB = pack(&l.attnOut, cl.SelfAttention.Attention.OutputMerge, h, h)
		l.interB = pack(&l.inter, cl.FF.MLP[0].(*linear.Model), inter, h)
		l.outB = pack(&l.out, cl.FF.MLP[2].(*linear.Model), h, inter)
		l.attnNormW, l.attnNormB = f32(cl.SelfAttention.Norm.W), f32(cl.SelfAttention.Norm.B)
		l.outNormW, l.outNormB = f32(cl.FF.Norm.W), f32(cl.FF.Norm.B)
	})
	return &fm.layers[i]
}

// workspace is the scratch of one forward call, grown as needed and
// reused through the pool.
type workspace struct {
	x, qkv, ctx, att, ff []float32
	attn                 []attnScratch // one per worker
}

type attnScratch struct {
	k, v   kernels.Packed
	scores []float32
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

func (fm *fastModel) workspace(tokens, maxLen int) *workspace {
	fm.mu.Lock()
	var ws *workspace
	if n := len(fm.free); n > 0 {
		ws, fm.free = fm.free[n-1], fm.free[:n-1]
	}
	fm.mu.Unlock()
	if ws == nil {
		ws = &workspace{}
	}
	h, inter := fm.cfg.HiddenSize, fm.cfg.IntermediateSize
	ws.x = grow(ws.x, tokens*h)
	ws.qkv = grow(ws.qkv, tokens*3*h)
	ws.ctx = grow(ws.ctx, tokens*h)
	ws.att = grow(ws.att, tokens*h)
	ws.ff = grow(ws.ff, tokens*inter)
	if len(ws.attn) < fm.workers {
		ws.attn = make([]attnScratch, fm.workers)
	}
	for i := range ws.attn {
		ws.attn[i].scores = grow(ws.attn[i].scores, maxLen*maxLen)
	}
	return ws
}

func (fm *fastModel) release(ws *workspace) {
	fm.mu.Lock()
	if len(fm.free) < maxFree {
		fm.free = append(fm.free, ws)
	}
	fm.mu.Unlock()
}

// chunkTokens bounds the tokens of one pass through the kernels: larger
// batches run in chunks of whole sentences, so that the workspace (about
// 40 KiB per token for bert-base) stays bounded whatever the caller sends.
// 2048 is 16 sentences of 128 tokens, past which batching gains nothing.
const chunkTokens = 2048

// forwardFast runs the sentences of batch (validated token ids) up to
// layer and returns each sentence's hidden states, one row per token, in
// one backing array.
func (m *Model) forwardFast(ctx context.Context, batch [][]int, layer int) ([][][]float32, error) {
	h := m.cfg.HiddenSize
	total := 0
	for _, ids := range batch {
		total += len(ids)
	}
	backing := make([]float32, total*h)
	out := make([][][]float32, len(batch))
	for s0, o0 := 0, 0; s0 < len(batch); {
		s1, n := s0, 0
		for s1 < len(batch) && (s1 == s0 || n+len(batch[s1]) <= chunkTokens) {
			n += len(batch[s1])
			s1++
		}
		dst := backing[o0*h : (o0+n)*h]
		if err := m.fastChunk(ctx, batch[s0:s1], layer, dst); err != nil {
			return nil, err
		}
		for s := s0; s < s1; s++ {
			rows := make([][]float32, len(batch[s]))
			for t := range rows {
				rows[t] = dst[:h:h]
				dst = dst[h:]
			}
			out[s] = rows
		}
		s0, o0 = s1, o0+n
	}
	return out, nil
}

// fastChunk runs one chunk of sentences and writes their hidden states,
// token after token, into dst.
func (m *Model) fastChunk(ctx context.Context, batch [][]int, layer int, dst []float32) error {
	fm := m.fast
	offsets := make([]int, len(batch)+1)
	maxLen := 0
	for s, ids := range batch {
		offsets[s+1] = offsets[s] + len(ids)
		maxLen = max(maxLen, len(ids))
	}
	tokens := offsets[len(batch)]
	ws := fm.workspace(tokens, maxLen)
	defer fm.release(ws)

	m.fastEmbed(ws.x, batch)
	for i := 0; i < layer; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fm.runLayer(fm.layer(m, i), ws, offsets, tokens); err != nil {
			return err
		}
	}
	copy(dst, ws.x[:tokens*m.cfg.HiddenSize])
	return nil
}

// fastEmbed writes LayerNorm((word + token type 0) + position) for every
// token, in HuggingFace's order of additions.
func (m *Model) fastEmbed(x []float32, batch [][]int) {
	e := m.cb.Embeddings
	h := m.cfg.HiddenSize
	seg := f32(e.TokenTypes.Weights[0])
	normW, normB := f32(e.Norm.W), f32(e.Norm.B)
	type tok struct{ id, pos int }
	var all []tok
	for _, ids := range batch {
		for p, id := range ids {
			all = append(all, tok{id, p})
		}
	}
	kernels.Parallel(len(all), m.fast.workers, func(_, lo, hi int) {
		for t := lo; t < hi; t++ {
			word := f32(e.Tokens.Weights[all[t].id])
			pos := f32(e.Positions.Weights[all[t].pos])
			row := x[t*h : (t+1)*h]
			for j := range row {
				row[j] = (word[j] + seg[j]) + pos[j]
			}
			kernels.AddLayerNorm(row, row, nil, normW, normB, m.cfg.LayerNormEps)
		}
	})
}

// runLayer is one post-LayerNorm encoder layer over all tokens of the
// batch: attention is per sentence and head, every projection is one
// product over the whole batch.
func (fm *fastModel) runLayer(l *fastLayer, ws *workspace, offsets []int, tokens int) error {
	cfg := fm.cfg
	h, inter, nh := cfg.HiddenSize, cfg.IntermediateSize, cfg.NumAttentionHeads
	dk := h / nh
	eps := cfg.LayerNormEps
	if err := kernels.Gemm(ws.qkv, 3*h, ws.x, h, tokens, &l.qkv, l.qkvB, nil, fm.workers); err != nil {
		return err
	}
	nsent := len(offsets) - 1
	scale := float32(1 / math.Sqrt(float64(dk)))
	var firstErr error
	var errOnce sync.Once
	kernels.Parallel(nsent*nh, fm.workers, func(w, lo, hi int) {
		sc := &ws.attn[w]
		for item := lo; item < hi; item++ {
			s, j := item/nh, item%nh
			o, n := offsets[s], offsets[s+1]-offsets[s]
			q := ws.qkv[o*3*h+j*dk:]
			kernels.PackTransposed(&sc.k, ws.qkv[o*3*h+h+j*dk:], n, dk, 3*h)
			kernels.Pack(&sc.v, ws.qkv[o*3*h+2*h+j*dk:], n, dk, 3*h)
			scores := sc.scores[:n*n]
			err := kernels.Gemm(scores, n, q, 3*h, n, &sc.k, nil, nil, 1)
			if err == nil {
				for r := 0; r < n; r++ {
					kernels.SoftmaxScaled(scores[r*n:(r+1)*n], scale)
				}
				err = kernels.Gemm(ws.ctx[o*h+j*dk:], h, scores, n, n, &sc.v, nil, nil, 1)
			}
			if err != nil {
				errOnce.Do(func() { firstErr = err })
				return
			}
		}
	})
	if firstErr != nil {
		return firstErr
	}
	if err := kernels.Gemm(ws.att, h, ws.ctx, h, tokens, &l.attnOut, l.attnOutB, nil, fm.workers); err != nil {
		return err
	}
	fm.addNorm(ws.x, ws.att, l.attnNormW, l.attnNormB, tokens, eps)
	if err := kernels.Gemm(ws.ff, inter, ws.x, h, tokens, &l.inter, l.interB, fm.act, fm.workers); err != nil {
		return err
	}
	if err := kernels.Gemm(ws.att, h, ws.ff, inter, tokens, &l.out, l.outB, nil, fm.workers); err != nil {
		return err
	}
	fm.addNorm(ws.x, ws.att, l.outNormW, l.outNormB, tokens, eps)
	return nil
}

// addNorm sets each row of x to LayerNorm(x + r).
func (fm *fastModel) addNorm(x, r, w, b []float32, tokens int, eps float64) {
	h := fm.cfg.HiddenSize
	kernels.Parallel(tokens, fm.workers, func(_, lo, hi int) {
		for t := lo; t < hi; t++ {
			kernels.AddLayerNorm(x[t*h:(t+1)*h], x[t*h:(t+1)*h], r[t*h:(t+1)*h], w, b, eps)
		}
	})
}

// activationEpilogue is the feed-forward activation as a product
// epilogue, applied by each worker to its own columns while they are hot
// in cache.
func activationEpilogue(hiddenAct string) (kernels.Epilogue, error) {
	var f func([]float32)
	switch hiddenAct {
	case "gelu":
		f = kernels.GELUErf
	case "gelu_new", "gelu_pytorch_tanh":
		f = kernels.GELUTanh
	case "relu":
		f = kernels.ReLU
	default:
		return nil, fmt.Errorf("%w: hidden_act %q", ErrUnsupported, hiddenAct)
	}
	return func(c []float32, ldc, m, n0, n1 int) {
		for i := 0; i < m; i++ {
			f(c[i*ldc+n0 : i*ldc+n1])
		}
	}, nil
}
