package policy

import (
	"fmt"
	"sync"
	"unsafe"

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
	// proj memoizes WordW·e per word vector e, by the vector's bytes. A
	// greedy refinement scores the same words again at every step, and a
	// static text encoder gives a word the same vector in every prompt, so
	// after warm-up the first layer costs one addition per unit instead of
	// d_w multiply-adds.
	proj projectionMemo
}

// projectionMemo maps a word vector's bytes to its first-layer projection
// (without bias). It stops growing at maxProjections entries, so a
// contextual text encoder, whose vectors rarely repeat, cannot make it
// grow without bound; its lookups then just miss.
type projectionMemo struct {
	mu sync.RWMutex
	m  map[string][]float32
}

// maxProjections bounds projectionMemo: 16,384 entries are about 23 MB at
// d_w = 100 and width 256, far more distinct words than the prompts of a
// static encoder hold.
const maxProjections = 1 << 14

// vectorKey views v's bytes as a string for a map lookup; the compiler
// does not copy such a conversion when it only indexes a map.
func vectorKey(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}

type frozenLayer struct {
	w    kernels.Packed
	bias []float32
}

type frozenScratch struct {
	a, b, shared, ctx, in, out []float32
	miss                       []int
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
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
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
// without dropout: the shared part ContextW·(mean(E) ‖ x̂) + b once, the
// word part WordW·e_j from the memo (computed once per distinct vector),
// then one product per layer over all n words (rows), ReLU fused into the
// product of every later hidden layer.
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
	mean := s.ctx[:dw]
	for i := range dw {
		var sum float64
		for j := range nw {
			sum += float64(s.a[j*dw+i])
		}
		mean[i] = float32(sum / float64(nw))
	}
	copy(s.ctx[dw:], patient)

	width := len(f.bias)
	s.shared = grow(s.shared, width)
	cols := dw + dp
	for r := range width {
		row := f.context[r*cols : (r+1)*cols]
		var acc float32
		for j, v := range row {
			acc += v * s.ctx[j]
		}
		s.shared[r] = acc + f.bias[r]
	}

	// First layer: shared + WordW·e_j per row, the word part memoized.
	s.b = grow(s.b, n*width)
	if err := f.project(s, n, dw, width); err != nil {
		return nil, err
	}
	hidden := len(f.layers) > 0
	for j := range n {
		row := s.b[j*width : (j+1)*width]
		for r, v := range s.shared {
			row[r] += v
		}
		if hidden {
			kernels.ReLU(row)
		}
	}
	in, cur, next := width, s.b, s.a
	for i, l := range f.layers {
		out := len(l.bias)
		var epi kernels.Epilogue
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

// project writes WordW·e_j (no bias) for the n rows of s.a (d_w values
// each) into the rows of s.b (width values each): memoized rows are
// copied, the others computed in one product and remembered.
func (f *Frozen) project(s *frozenScratch, n, dw, width int) error {
	s.miss = s.miss[:0]
	f.proj.mu.RLock()
	for j := range n {
		if p, ok := f.proj.m[string(vectorKey(s.a[j*dw:(j+1)*dw]))]; ok {
			copy(s.b[j*width:(j+1)*width], p)
		} else {
			s.miss = append(s.miss, j)
		}
	}
	f.proj.mu.RUnlock()
	if len(s.miss) == 0 {
		return nil
	}
	// The missing rows, packed together, through one product.
	m := len(s.miss)
	s.in = grow(s.in, m*dw)
	s.out = grow(s.out, m*width)
	for i, j := range s.miss {
		copy(s.in[i*dw:(i+1)*dw], s.a[j*dw:(j+1)*dw])
	}
	if err := kernels.Gemm(s.out, width, s.in, dw, m, &f.word, nil, nil, 1); err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	f.proj.mu.Lock()
	defer f.proj.mu.Unlock()
	if f.proj.m == nil {
		f.proj.m = make(map[string][]float32)
	}
	for i, j := range s.miss {
		p := s.out[i*width : (i+1)*width]
		copy(s.b[j*width:(j+1)*width], p)
		if len(f.proj.m) < maxProjections {
			f.proj.m[string(vectorKey(s.in[i*dw:(i+1)*dw]))] = append([]float32(nil), p...)
		}
	}
	return nil
}
