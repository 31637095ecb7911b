package use

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"io"
	"math"
	"runtime"
	"sync"

	"github.com/pmlm-go/pmlm/internal/kernels"
)

// DefaultName is the name of the embedded model.
const DefaultName = "use-lite"

//go:embed use-lite-f16.bin.gz
var embedded []byte

// Model is Universal Sentence Encoder lite: its tokenizer and its forward
// pass. It is immutable after loading and safe for concurrent use.
type Model struct {
	header  *Header
	tok     *Tokenizer
	workers int

	vocab, embDim, width, ffnDim, heads, maxLen int
	emb, invTimescales                          []float32
	timing                                      []float32 // maxLen×embDim: the timing signal, computed once
	layers                                      [2]layer
	pool                                        kernels.Packed
	poolB                                       []float32
	eps                                         float64
	l2Floor                                     float32

	scratch sync.Pool // *workspace
}

// layer holds one transformer layer's packed weights.
type layer struct {
	in, out          int // input and output widths
	attnNormW, attnB []float32
	qkv              kernels.Packed
	qkvB             []float32
	attnOut          kernels.Packed
	attnOutB         []float32
	residual         *kernels.Packed // nil when in == out
	residualB        []float32
	ffnNormW, ffnB   []float32
	ffn1, ffn2       kernels.Packed
	ffn1B, ffn2B     []float32
	queryScale       float32
}

// Default decodes the embedded model (float16 weights). Each call decodes
// afresh (see BenchmarkDefault): call it once and keep the result.
func Default() (*Model, error) {
	m, err := Read(bytes.NewReader(embedded))
	if err != nil {
		return nil, fmt.Errorf("embedded model: %w", err)
	}
	return m, nil
}

// Read decodes a model file written by internal/usegen.
func Read(r io.Reader) (*Model, error) {
	h, t, err := readFile(r)
	if err != nil {
		return nil, err
	}
	return build(h, t)
}

// Header describes the loaded model file.
func (m *Model) Header() Header { return *m.header }

// Tokenizer returns the model's tokenizer.
func (m *Model) Tokenizer() *Tokenizer { return m.tok }

// Dim is the width of the token states and of the sentence vector.
func (m *Model) Dim() int { return m.width }

// MaxLen is the most tokens the graph reads; Run refuses longer
// sequences, the text methods split them into windows.
func (m *Model) MaxLen() int { return m.maxLen }

// WithWorkers returns a model sharing m's weights whose forward passes use
// up to n goroutines (n < 1: GOMAXPROCS, the default).
func (m *Model) WithWorkers(n int) *Model {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	c := &Model{header: m.header, tok: m.tok, workers: n, vocab: m.vocab, embDim: m.embDim,
		width: m.width, ffnDim: m.ffnDim, heads: m.heads, maxLen: m.maxLen, emb: m.emb,
		invTimescales: m.invTimescales, timing: m.timing, layers: m.layers, pool: m.pool, poolB: m.poolB,
		eps: m.eps, l2Floor: m.l2Floor}
	return c
}

// build checks the tensors against the architecture and packs them.
func build(h *Header, t map[string][]float32) (*Model, error) {
	get := func(name string, shape ...int) ([]float32, error) {
		v, ok := t[name]
		if !ok {
			return nil, fmt.Errorf("%w: no tensor %s", ErrFormat, name)
		}
		for _, ti := range h.Tensors {
			if ti.Name == name && fmt.Sprint(ti.Shape) != fmt.Sprint(shape) {
				return nil, fmt.Errorf("%w: tensor %s has shape %v, want %v", ErrFormat, name, ti.Shape, shape)
			}
		}
		return v, nil
	}
	constant := func(name string) (float64, error) {
		v, ok := h.Constants[name]
		if !ok {
			return 0, fmt.Errorf("%w: no constant %s", ErrFormat, name)
		}
		return v, nil
	}
	m := &Model{header: h, workers: runtime.GOMAXPROCS(0)}
	var err error
	if m.tok, err = NewTokenizer(h.Pieces, h.Scores); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	var emb TensorInfo
	for _, ti := range h.Tensors {
		if ti.Name == "embeddings" {
			emb = ti
		}
	}
	if len(emb.Shape) != 2 {
		return nil, fmt.Errorf("%w: embeddings missing or not a matrix", ErrFormat)
	}
	// The graph's table has two rows more than the vocabulary (never used).
	m.vocab, m.embDim = emb.Shape[0], emb.Shape[1]
	if m.vocab < len(h.Pieces) {
		return nil, fmt.Errorf("%w: %d embedding rows for %d pieces", ErrFormat, m.vocab, len(h.Pieces))
	}
	var eps, maxLen, qs0, qs1, floor, heads float64
	for name, p := range map[string]*float64{ConstLayerNormEps: &eps, ConstMaxLen: &maxLen,
		ConstQueryScale0: &qs0, ConstQueryScale1: &qs1, ConstL2Floor: &floor,
		ConstAttentionHead: &heads} {
		if *p, err = constant(name); err != nil {
			return nil, err
		}
	}
	m.eps, m.maxLen, m.heads = eps, int(maxLen), int(heads)
	m.l2Floor = float32(floor)
	if m.maxLen < 1 || m.heads < 1 || m.embDim%2 != 0 {
		return nil, fmt.Errorf("%w: max_len %d, %d heads, embedding width %d", ErrFormat, m.maxLen, m.heads, m.embDim)
	}
	if m.emb, err = get("embeddings", m.vocab, m.embDim); err != nil {
		return nil, err
	}
	if m.invTimescales, err = get("timing/inv_timescales", m.embDim/2); err != nil {
		return nil, err
	}
	m.timing = make([]float32, m.maxLen*m.embDim)
	half := m.embDim / 2
	for p := 0; p < m.maxLen; p++ {
		for j := 0; j < half; j++ {
			// As the graph: position·timescale in float32, then sin and cos.
			a := float32(p) * m.invTimescales[j]
			m.timing[p*m.embDim+j] = float32(math.Sin(float64(a)))
			m.timing[p*m.embDim+half+j] = float32(math.Cos(float64(a)))
		}
	}
	out, ok2 := t["layer0/output/bias"]
	if !ok2 {
		return nil, fmt.Errorf("%w: no tensor layer0/output/bias", ErrFormat)
	}
	m.width = len(out)
	ffn1B, ok3 := t["layer0/ffn1/bias"]
	if !ok3 {
		return nil, fmt.Errorf("%w: no tensor layer0/ffn1/bias", ErrFormat)
	}
	m.ffnDim = len(ffn1B)
	for i, in := range []int{m.embDim, m.width} {
		if in%m.heads != 0 {
			return nil, fmt.Errorf("%w: width %d not divisible by %d heads", ErrFormat, in, m.heads)
		}
		l := &m.layers[i]
		l.in, l.out = in, m.width
		l.queryScale = float32([]float64{qs0, qs1}[i])
		p := fmt.Sprintf("layer%d/", i)
		var w []float32
		if l.attnNormW, err = get(p+"attention_norm/scale", in); err != nil {
			return nil, err
		}
		if l.attnB, err = get(p+"attention_norm/bias", in); err != nil {
			return nil, err
		}
		if w, err = get(p+"qkv/kernel", in, 3*in); err != nil {
			return nil, err
		}
		kernels.Pack(&l.qkv, w, in, 3*in, 3*in)
		if l.qkvB, err = get(p+"qkv/bias", 3*in); err != nil {
			return nil, err
		}
		if w, err = get(p+"output/kernel", in, m.width); err != nil {
			return nil, err
		}
		kernels.Pack(&l.attnOut, w, in, m.width, m.width)
		if l.attnOutB, err = get(p+"output/bias", m.width); err != nil {
			return nil, err
		}
		if in != m.width {
			if w, err = get(p+"residual/kernel", in, m.width); err != nil {
				return nil, err
			}
			l.residual = &kernels.Packed{}
			kernels.Pack(l.residual, w, in, m.width, m.width)
			if l.residualB, err = get(p+"residual/bias", m.width); err != nil {
				return nil, err
			}
		}
		if l.ffnNormW, err = get(p+"ffn_norm/scale", m.width); err != nil {
			return nil, err
		}
		if l.ffnB, err = get(p+"ffn_norm/bias", m.width); err != nil {
			return nil, err
		}
		if w, err = get(p+"ffn1/kernel", m.width, m.ffnDim); err != nil {
			return nil, err
		}
		kernels.Pack(&l.ffn1, w, m.width, m.ffnDim, m.ffnDim)
		if l.ffn1B, err = get(p+"ffn1/bias", m.ffnDim); err != nil {
			return nil, err
		}
		if w, err = get(p+"ffn2/kernel", m.ffnDim, m.width); err != nil {
			return nil, err
		}
		kernels.Pack(&l.ffn2, w, m.ffnDim, m.width, m.width)
		if l.ffn2B, err = get(p+"ffn2/bias", m.width); err != nil {
			return nil, err
		}
	}
	w, err := get("pool/kernel", m.width, m.width)
	if err != nil {
		return nil, err
	}
	kernels.Pack(&m.pool, w, m.width, m.width, m.width)
	if m.poolB, err = get("pool/bias", m.width); err != nil {
		return nil, err
	}
	if len(t) != len(h.Tensors) {
		return nil, fmt.Errorf("%w: %d tensors, the model reads fewer", ErrFormat, len(t))
	}
	return m, nil
}

// Output is the forward pass of one sequence.
type Output struct {
	// Layers[l][i] is token i's state after layer l (0 or 1), Dim wide.
	Layers [2][][]float32
	// Vector is the L2-normalized sentence vector, Dim wide.
	Vector []float32
}

// ErrInput marks token ids the model cannot run.
var ErrInput = fmt.Errorf("use: bad input")

// Run is the graph's forward pass on each sequence of token ids (each at
// most MaxLen, run as if alone: a batch of one in the TF.js graph).
func (m *Model) Run(ctx context.Context, batch [][]int) ([]Output, error) {
	for s, ids := range batch {
		if len(ids) > m.maxLen {
			return nil, fmt.Errorf("%w: sequence %d has %d tokens, the model reads at most %d (use the text methods for longer texts)", ErrInput, s, len(ids), m.maxLen)
		}
		for i, id := range ids {
			if id < 0 || id >= len(m.tok.pieces) {
				return nil, fmt.Errorf("%w: sequence %d token %d: id %d outside the vocabulary of %d", ErrInput, s, i, id, len(m.tok.pieces))
			}
		}
	}
	out := make([]Output, len(batch))
	for s0 := 0; s0 < len(batch); {
		s1, n := s0, 0
		for s1 < len(batch) && (s1 == s0 || n+len(batch[s1]) <= chunkTokens) {
			n += len(batch[s1])
			s1++
		}
		if err := m.runChunk(ctx, batch[s0:s1], out[s0:s1]); err != nil {
			return nil, err
		}
		s0 = s1
	}
	return out, nil
}

// chunkTokens bounds the tokens of one pass through the kernels (16
// sequences of 128), so the workspace stays bounded whatever the batch.
const chunkTokens = 2048

// workspace is the scratch of one chunk.
type workspace struct {
	x0, ln, qkv, ctx, h, res, x, ffn []float32
	attn                             []attnScratch
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

// seq locates one sequence of a chunk.
type seq struct{ off, n int }

func (m *Model) runChunk(ctx context.Context, batch [][]int, out []Output) error {
	seqs := make([]seq, len(batch))
	tokens := 0
	for s, ids := range batch {
		seqs[s] = seq{off: tokens, n: len(ids)}
		tokens += len(ids)
	}
	ws, _ := m.scratch.Get().(*workspace)
	if ws == nil {
		ws = &workspace{}
	}
	defer m.scratch.Put(ws)
	w, e := m.width, m.embDim
	ws.x0 = grow(ws.x0, tokens*e)
	ws.ln = grow(ws.ln, tokens*w)
	ws.qkv = grow(ws.qkv, tokens*3*w)
	ws.ctx = grow(ws.ctx, tokens*w)
	ws.h = grow(ws.h, tokens*w)
	ws.res = grow(ws.res, tokens*w)
	ws.x = grow(ws.x, tokens*w)
	ws.ffn = grow(ws.ffn, tokens*m.ffnDim)
	if len(ws.attn) < m.workers {
		ws.attn = make([]attnScratch, m.workers)
	}

	m.embed(ws.x0, batch, seqs)
	// states: one backing array per layer for the whole chunk.
	states := [2][]float32{make([]float32, tokens*w), make([]float32, tokens*w)}
	in := ws.x0
	for li := range m.layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := m.runLayer(&m.layers[li], ws, seqs, in, states[li], tokens); err != nil {
			return err
		}
		in = states[li]
	}
	for s, sq := range seqs {
		for li := range states {
			rows := make([][]float32, sq.n)
			for i := range rows {
				o := (sq.off + i) * w
				rows[i] = states[li][o : o+w : o+w]
			}
			out[s].Layers[li] = rows
		}
	}
	for s := range seqs {
		out[s].Vector = m.sentenceVector(out[s].Layers[1])
	}
	return nil
}

// sentenceVector is the graph's head over the last layer's token states:
// their mean, a tanh layer, L2 normalization.
func (m *Model) sentenceVector(states [][]float32) []float32 {
	w := m.width
	pooled := make([]float32, w)
	for _, row := range states {
		for j, v := range row {
			pooled[j] += v
		}
	}
	div := float32(max(len(states), 1))
	for j := range pooled {
		pooled[j] /= div
	}
	v := make([]float32, w)
	// One row: no error is possible (the shapes are fixed at load).
	_ = kernels.Gemm(v, w, pooled, w, 1, &m.pool, m.poolB, nil, 1)
	var sq float32
	for j, x := range v {
		v[j] = float32(math.Tanh(float64(x)))
		sq += v[j] * v[j]
	}
	inv := float32(1 / math.Sqrt(float64(max(sq, m.l2Floor))))
	for j := range v {
		v[j] *= inv
	}
	return v
}

// embed writes the first layer's input: 2·embedding + timing signal (the
// graph adds the timing signal to the embeddings and the sum to the
// embeddings again).
func (m *Model) embed(x []float32, batch [][]int, seqs []seq) {
	e := m.embDim
	for s, sq := range seqs {
		for p, id := range batch[s] {
			row := x[(sq.off+p)*e : (sq.off+p+1)*e]
			em := m.emb[id*e : (id+1)*e]
			tim := m.timing[p*e : (p+1)*e]
			for j := range row {
				row[j] = em[j] + (em[j] + tim[j])
			}
		}
	}
}

// runLayer is one pre-LayerNorm transformer layer: x = attention(LN(in))
// + residual(in); out = x + FFN(LN(x)), where the residual is a dense
// projection in the first layer (its input is narrower).
func (m *Model) runLayer(l *layer, ws *workspace, seqs []seq, in, out []float32, tokens int) error {
	w := m.width
	ln := ws.ln[:tokens*l.in]
	m.layerNorm(ln, in, l.attnNormW, l.attnB, l.in, tokens)
	qkv := ws.qkv[:tokens*3*l.in]
	if err := kernels.Gemm(qkv, 3*l.in, ln, l.in, tokens, &l.qkv, l.qkvB, nil, m.workers); err != nil {
		return err
	}
	if err := m.attention(l, ws, seqs, qkv); err != nil {
		return err
	}
	x := ws.h[:tokens*w]
	if err := kernels.Gemm(x, w, ws.ctx[:tokens*l.in], l.in, tokens, &l.attnOut, l.attnOutB, nil, m.workers); err != nil {
		return err
	}
	if l.residual != nil {
		res := ws.res[:tokens*w]
		if err := kernels.Gemm(res, w, in, l.in, tokens, l.residual, l.residualB, nil, m.workers); err != nil {
			return err
		}
		addTo(x, res)
	} else {
		addTo(x, in[:tokens*w])
	}
	ln = ws.ln[:tokens*w]
	m.layerNorm(ln, x, l.ffnNormW, l.ffnB, w, tokens)
	f := ws.ffn[:tokens*m.ffnDim]
	if err := kernels.Gemm(f, m.ffnDim, ln, w, tokens, &l.ffn1, l.ffn1B, reluEpilogue, m.workers); err != nil {
		return err
	}
	if err := kernels.Gemm(out[:tokens*w], w, f, m.ffnDim, tokens, &l.ffn2, l.ffn2B, nil, m.workers); err != nil {
		return err
	}
	addTo(out[:tokens*w], x)
	return nil
}

// layerNorm sets each of the tokens rows (width d) of dst to the layer
// norm of src's, rows spread over the workers.
func (m *Model) layerNorm(dst, src, w, b []float32, d, tokens int) {
	kernels.Parallel(tokens, m.workers, func(_, lo, hi int) {
		for t := lo; t < hi; t++ {
			kernels.AddLayerNorm(dst[t*d:(t+1)*d], src[t*d:(t+1)*d], nil, w, b, m.eps)
		}
	})
}

func reluEpilogue(c []float32, ldc, m, n0, n1 int) {
	for i := 0; i < m; i++ {
		kernels.ReLU(c[i*ldc+n0 : i*ldc+n1])
	}
}

func addTo(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] += v
	}
}

// attention writes ws.ctx: per sequence and head, softmax(q·kᵀ·scale)·v.
// The graph masks padding keys only, and a sequence here has none.
func (m *Model) attention(l *layer, ws *workspace, seqs []seq, qkv []float32) error {
	d := l.in
	dk := d / m.heads
	var firstErr error
	var once sync.Once
	kernels.Parallel(len(seqs)*m.heads, m.workers, func(wk, lo, hi int) {
		sc := &ws.attn[wk]
		for item := lo; item < hi; item++ {
			sq, j := seqs[item/m.heads], item%m.heads
			o, n := sq.off, sq.n
			if n == 0 {
				continue
			}
			kernels.PackTransposed(&sc.k, qkv[o*3*d+d+j*dk:], n, dk, 3*d)
			kernels.Pack(&sc.v, qkv[o*3*d+2*d+j*dk:], n, dk, 3*d)
			sc.scores = grow(sc.scores, n*n)
			err := kernels.Gemm(sc.scores, n, qkv[o*3*d+j*dk:], 3*d, n, &sc.k, nil, nil, 1)
			if err == nil {
				for r := 0; r < n; r++ {
					kernels.SoftmaxScaled(sc.scores[r*n:(r+1)*n], l.queryScale)
				}
				err = kernels.Gemm(ws.ctx[o*d+j*dk:], d, sc.scores, n, n, &sc.v, nil, nil, 1)
			}
			if err != nil {
				once.Do(func() { firstErr = err })
				return
			}
		}
	})
	return firstErr
}
