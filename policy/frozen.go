package policy

import (
	"fmt"
	"sync"

	"github.com/pmlm-go/pmlm/internal/kernels"
)

// Scorer scores the words of a prompt state without building an autodiff
// graph: the inference side of a Policy. Scores returns one unnormalised
// deletion score per word (the values Policy.Logits computes with train
// false). words holds the n ≥ 1 word embeddings, patient is x̂ (nil or
// empty when the policy has no patient input). Implementations must be
// safe for concurrent use.
type Scorer interface {
	Scores(words [][]float32, patient []float32) ([]float64, error)
}

// Freezer is implemented by policies that can take a graph-free snapshot
// of their current weights (MLP.Freeze). Inference uses the snapshot; a
// policy without it answers through its graph (Refine).
type Freezer interface {
	Freeze() Scorer
}

// Frozen is a graph-free snapshot of an MLP's weights for inference: the
// same arithmetic as MLP.Logits without dropout, with each layer's weight
// packed once for internal/kernels' matrix product. Later changes to the
// MLP (training) do not reach it; freeze again after training. It is safe
// for concurrent use.
type Frozen struct {
	cfg Config
	// word is WordWᵀ packed; context is ContextW row-major [width d_w+d_p];
	// bias is the input layer's b.
	word    kernels.Packed
	context []float32
	bias    []float32
	// layers are the following linear layers: Wᵀ packed and b.
	layers []frozenLayer
	// scratch holds per-call buffers (two [n width] activations).
	scratch sync.Pool
}

type frozenLayer struct {
	w    kernels.Packed
	bias []float32
}

type frozenScratch struct {
	a, b, shared, ctx []float32
	sum               []float64
}

var _ Freezer = (*MLP)(nil)

// Freeze returns a graph-free snapshot of the network's current weights.
func (m *MLP) Freeze() Scorer {
	cfg := m.cfg
	width0 := m.Input.B.Shape()[0]
	f := &Frozen{
		cfg:     cfg,
		context: copyData(m.Input.ContextW),
		bias:    copyData(m.Input.B),
	}
	kernels.PackTransposed(&f.word, copyData(m.Input.WordW), width0, cfg.WordDim, cfg.WordDim)
	in := width0
	for _, l := range m.Layers {
		out := l.B.Shape()[0]
		var fl frozenLayer
		kernels.PackTransposed(&fl.w, copyData(l.W), out, in, in)
		fl.bias = copyData(l.B)
		f.layers = append(f.layers, fl)
		in = out
	}
	f.scratch.New = func() any { return new(frozenScratch) }
	return f
}

// grow returns s resized to n values, reusing its storage when large
// enough.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// reluEpilogue applies max(v, 0) to the finished columns of a product.
func reluEpilogue(c []float32, ldc, m, n0, n1 int) {
	for r := range m {
		kernels.ReLU(c[r*ldc+n0 : r*ldc+n1])
	}
}

// Scores computes f(e_j ‖ mean(E) ‖ x̂) for every word as MLP.Logits does
// without dropout: the shared part ContextW·(mean(E) ‖ x̂) + b once, then
// one product per layer over all n words (rows), ReLU fused into the
// product of every hidden layer.
func (f *Frozen) Scores(words [][]float32, patient []float32) ([]float64, error) {
	return f.ScoresWithEdits(words, nil, patient)
}

// EditScores is a Scorer that also scores edit actions, as
// EditScorer.LogitsWithEdits does through the graph: the n words' scores
// followed by the edits' (mean(E) is the words' mean). Frozen implements
// it.
type EditScores interface {
	Scorer
	ScoresWithEdits(words, edits [][]float32, patient []float32) ([]float64, error)
}

// ScoresWithEdits scores the words and then the edit vectors as extra rows
// of E, with mean(E) over the words only (EditScores).
func (f *Frozen) ScoresWithEdits(words, edits [][]float32, patient []float32) ([]float64, error) {
	nw, dw, dp := len(words), f.cfg.WordDim, f.cfg.PatientDim
	if nw == 0 {
		return nil, fmt.Errorf("%w: no words to score", ErrShape)
	}
	n := nw + len(edits)
	if dp > 0 && len(patient) != dp {
		return nil, fmt.Errorf("%w: patient encoding of length %d, want %d", ErrShape, len(patient), dp)
	}
	s := f.scratch.Get().(*frozenScratch)
	defer f.scratch.Put(s)

	// E as [n d_w] rows and mean(E) ‖ x̂, the mean summed in float64 as
	// checkInput does.
	s.a = grow(s.a, n*dw)
	s.ctx = grow(s.ctx, dw+dp)
	for j, ej := range words {
		if len(ej) != dw {
			return nil, fmt.Errorf("%w: word %d has %d dimensions, want %d", ErrShape, j, len(ej), dw)
		}
		copy(s.a[j*dw:(j+1)*dw], ej)
	}
	for k, e := range edits {
		if len(e) != dw {
			return nil, fmt.Errorf("%w: edit %d has %d dimensions, want %d", ErrShape, k, len(e), dw)
		}
		copy(s.a[(nw+k)*dw:(nw+k+1)*dw], e)
	}
	// Row by row, for contiguous reads; each dimension still sums the
	// words in order, so the mean is the same bits as column by column.
	s.sum = grow(s.sum, dw)
	clear(s.sum)
	for j := range nw {
		for i, v := range s.a[j*dw : (j+1)*dw] {
			s.sum[i] += float64(v)
		}
	}
	mean := s.ctx[:dw]
	for i, sum := range s.sum {
		mean[i] = float32(sum / float64(nw))
	}
	copy(s.ctx[dw:], patient)

	width := len(f.bias)
	s.shared = grow(s.shared, width)
	cols := dw + dp
	kernels.MatVec(s.shared, f.context, cols, s.ctx)
	for r, b := range f.bias {
		s.shared[r] += b
	}

	var epi kernels.Epilogue
	if len(f.layers) > 0 {
		epi = reluEpilogue
	}
	s.b = grow(s.b, n*width)
	if err := kernels.Gemm(s.b, width, s.a, dw, n, &f.word, s.shared, epi, 1); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	in, cur, next := width, s.b, s.a
	for i, l := range f.layers {
		out := len(l.bias)
		epi = nil
		if i < len(f.layers)-1 {
			epi = reluEpilogue
		}
		next = grow(next, n*out)
		if err := kernels.Gemm(next, out, cur, in, n, &l.w, l.bias, epi, 1); err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
		in, cur, next = out, next, cur
	}
	s.a, s.b = next, cur
	z := make([]float64, n)
	for j := range z {
		z[j] = float64(cur[j*in])
	}
	return z, nil
}
