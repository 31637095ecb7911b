// Package similarity finds the patients most similar to a query patient:
// the Recommender of the paper's peer-informed personalization (section
// 4.1, equation 4), which ranks the training patients' encodings by cosine
// similarity and returns the best k with their true labels.
package similarity

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"gonum.org/v1/gonum/blas/blas32"
)

// Neighbor is one recommended patient.
type Neighbor struct {
	// Index is the patient's position in the references the recommender
	// was built from (-1 where a recommender has no positions, such as an
	// external index).
	Index int
	// Key is the patient's opaque key (see Reference); empty for an Exact
	// built by NewExact without keys.
	Key string
	// Similarity is the cosine similarity to the query, in [-1, 1].
	Similarity float32
	// Label is the patient's true label.
	Label string
}

// Reference is one patient a recommender can return: its opaque key, its
// encoding and its true label. The key is what exclusion and external
// stores refer to; the pipeline uses the cohort's patient ID.
type Reference struct {
	Key    string
	Vector []float32
	Label  string
}

// Query asks for the K reference patients most similar to Vector, leaving
// out those whose keys are in Exclude (the query patient itself while
// training). Exclusion is by key, not by position, so that an external
// index that is updated incrementally can honour it.
type Query struct {
	Vector  []float32
	K       int
	Exclude []string
}

// Recommender returns the reference patients most similar to a query: the
// recommender of the paper's peer-informed personalization. Exact is the
// built-in one; an approximate index or an external vector store can stand
// in for it. Implementations must be safe for concurrent use.
type Recommender interface {
	// Recommend returns up to q.K neighbours, most similar first, none of
	// them excluded. Fewer than q.K come back when fewer are left.
	Recommend(ctx context.Context, q Query) ([]Neighbor, error)
}

// ExactEquivalent is implemented by a recommender whose answers are those
// of Exact built over the same references (such as an external index that
// re-ranks its candidates with Rerank; up to its recall). A caller that
// holds those references, like a training run, may then answer from a
// NeighborTable built over them instead of querying the recommender for
// every one of them.
type ExactEquivalent interface {
	Recommender
	// EquivalentToExact marks the promise; it does nothing.
	EquivalentToExact()
}

// ErrDimension marks a vector whose length differs from the recommender's.
var ErrDimension = errors.New("similarity: dimension mismatch")

// ErrInvalid marks vectors with NaN or infinite entries, and other
// malformed arguments.
var ErrInvalid = errors.New("similarity: invalid input")

// Exact is the exhaustive cosine recommender: every query scans all
// reference vectors. The vectors are normalized once at construction, so a
// query costs one dot product (gonum blas32) per reference patient; the scan is split
// over GOMAXPROCS goroutines when there are enough patients to pay for
// them. An Exact is immutable after construction and safe for concurrent
// queries.
type Exact struct {
	dim    int
	data   []float32 // n×dim, row-major, each row of unit norm (or zero)
	labels []string
	// keys are the references' keys (nil without keys), rows their
	// positions.
	keys []string
	rows map[string]int
	// vectors are the references as given, kept for Save.
	vectors [][]float32
	// workers is the number of goroutines of a large scan.
	workers int
}

var _ Recommender = (*Exact)(nil)

// parallelMin is the number of reference patients below which a scan runs
// on the calling goroutine: about 100 µs of work at 128 dimensions.
const parallelMin = 1 << 15

// NewExact builds a recommender over vectors (one per reference patient,
// all of one length) with their labels. A zero vector has similarity 0 to
// every query. The vectors are copied.
func NewExact(vectors [][]float32, labels []string) (*Exact, error) {
	if len(vectors) != len(labels) {
		return nil, fmt.Errorf("%w: %d vectors but %d labels", ErrInvalid, len(vectors), len(labels))
	}
	if len(vectors) == 0 {
		return nil, fmt.Errorf("%w: no reference vectors", ErrInvalid)
	}
	dim := len(vectors[0])
	if dim == 0 {
		return nil, fmt.Errorf("%w: vectors have length 0", ErrInvalid)
	}
	e := &Exact{
		dim:     dim,
		data:    make([]float32, len(vectors)*dim),
		labels:  append([]string(nil), labels...),
		workers: runtime.GOMAXPROCS(0),
		vectors: make([][]float32, len(vectors)),
	}
	for i, v := range vectors {
		e.vectors[i] = slices.Clone(v)
		if len(v) != dim {
			return nil, fmt.Errorf("%w: vector %d has length %d, want %d", ErrDimension, i, len(v), dim)
		}
		if err := normalize(e.data[i*dim:(i+1)*dim], v); err != nil {
			return nil, fmt.Errorf("vector %d: %w", i, err)
		}
	}
	return e, nil
}

// NewIndex builds an Exact over keyed references, so that queries can
// exclude patients by key and neighbours carry their keys. Keys must be
// non-empty and unique. The vectors are copied.
func NewIndex(refs []Reference) (*Exact, error) {
	vectors := make([][]float32, len(refs))
	labels := make([]string, len(refs))
	keys := make([]string, len(refs))
	rows := make(map[string]int, len(refs))
	for i, r := range refs {
		if r.Key == "" {
			return nil, fmt.Errorf("%w: reference %d has an empty key", ErrInvalid, i)
		}
		if j, dup := rows[r.Key]; dup {
			return nil, fmt.Errorf("%w: references %d and %d share a key", ErrInvalid, j, i)
		}
		rows[r.Key] = i
		vectors[i], labels[i], keys[i] = r.Vector, r.Label, r.Key
	}
	e, err := NewExact(vectors, labels)
	if err != nil {
		return nil, err
	}
	e.keys, e.rows = keys, rows
	return e, nil
}

var _ Recommender = (*Exact)(nil)

// Recommend implements Recommender. Excluded keys that name no reference
// are ignored.
func (e *Exact) Recommend(ctx context.Context, q Query) ([]Neighbor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var exclude []int
	for _, k := range q.Exclude {
		if i, ok := e.rows[k]; ok {
			exclude = append(exclude, i)
		}
	}
	return e.TopK(q.Vector, q.K, exclude...)
}

// References returns the references the Exact was built from (keys empty
// when it was built without them).
func (e *Exact) References() []Reference {
	out := make([]Reference, len(e.vectors))
	for i, v := range e.vectors {
		out[i] = Reference{Vector: v, Label: e.labels[i]}
		if e.keys != nil {
			out[i].Key = e.keys[i]
		}
	}
	return out
}

// Len is the number of reference patients.
func (e *Exact) Len() int { return len(e.labels) }

// Dim is the length of the vectors.
func (e *Exact) Dim() int { return e.dim }

// normalize writes v/‖v‖ into dst (zeros for a zero vector), in float64 to
// keep the norm exact for large entries.
func normalize(dst, v []float32) error {
	s := 0.0
	for j, x := range v {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%w: entry %d is %v", ErrInvalid, j, x)
		}
		s += f * f
	}
	if s == 0 {
		clear(dst)
		return nil
	}
	inv := 1 / math.Sqrt(s)
	for j, x := range v {
		dst[j] = float32(float64(x) * inv)
	}
	return nil
}

// TopK returns the k reference patients most similar to query, most
// similar first (ties: lower index first), leaving out the rows in exclude:
// the positional form of Recommend.
func (e *Exact) TopK(query []float32, k int, exclude ...int) ([]Neighbor, error) {
	if len(query) != e.dim {
		return nil, fmt.Errorf("%w: query has length %d, want %d", ErrDimension, len(query), e.dim)
	}
	if k < 0 {
		return nil, fmt.Errorf("%w: k = %d", ErrInvalid, k)
	}
	n := e.Len()
	k = min(k, n)
	if k == 0 {
		return []Neighbor{}, nil
	}
	q := make([]float32, e.dim)
	if err := normalize(q, query); err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	workers := e.workers
	if n < parallelMin || workers < 2 {
		workers = 1
	}
	parts := make([]topHeap, workers)
	chunk := (n + workers - 1) / workers
	scan := func(w int) {
		lo, hi := w*chunk, min((w+1)*chunk, n)
		parts[w] = e.scan(q, k, lo, hi, exclude)
	}
	if workers == 1 {
		scan(0)
	} else {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() { scan(w) })
		}
		wg.Wait()
	}
	best := parts[0]
	for _, p := range parts[1:] {
		for _, c := range p {
			best.offer(c, k)
		}
	}
	// Pop the worst first to fill the result from the back.
	out := make([]Neighbor, len(best))
	for i := len(out) - 1; i >= 0; i-- {
		c := heap.Pop(&best).(candidate)
		out[i] = Neighbor{Index: c.index, Similarity: c.sim, Label: e.labels[c.index]}
		if e.keys != nil {
			out[i].Key = e.keys[c.index]
		}
	}
	return out, nil
}

// scan returns the k best candidates among rows [lo, hi).
func (e *Exact) scan(q []float32, k, lo, hi int, exclude []int) topHeap {
	h := make(topHeap, 0, k+1)
	dim := e.dim
	for i := lo; i < hi; i++ {
		s := dot(q, e.data[i*dim:(i+1)*dim])
		if len(h) == k && !better(candidate{i, s}, h[0]) {
			continue
		}
		if excluded(i, exclude) {
			continue
		}
		h.offer(candidate{i, s}, k)
	}
	return h
}

func excluded(i int, exclude []int) bool {
	for _, x := range exclude {
		if x == i {
			return true
		}
	}
	return false
}

// dot is the inner product through gonum's blas32, whose amd64 kernel
// is unrolled SIMD assembly: faster than a Go loop unrolled by 8 with
// independent accumulators (BenchmarkDot compares the two).
func dot(a, b []float32) float32 {
	return blas32.Dot(blas32.Vector{N: len(a), Inc: 1, Data: a}, blas32.Vector{N: len(a), Inc: 1, Data: b[:len(a)]})
}

// candidate is a scored reference patient.
type candidate struct {
	index int
	sim   float32
}

// better orders candidates: higher similarity first, then lower index, so
// results do not depend on how the scan was split.
func better(a, b candidate) bool {
	if a.sim != b.sim {
		return a.sim > b.sim
	}
	return a.index < b.index
}

// topHeap is a min-heap under better: the root is the worst kept
// candidate, the one a new candidate has to beat.
type topHeap []candidate

func (h topHeap) Len() int           { return len(h) }
func (h topHeap) Less(i, j int) bool { return better(h[j], h[i]) }
func (h topHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *topHeap) Push(x any)        { *h = append(*h, x.(candidate)) }
func (h *topHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

// offer keeps c if it is among the k best seen so far.
func (h *topHeap) offer(c candidate, k int) {
	if len(*h) < k {
		heap.Push(h, c)
		return
	}
	if better(c, (*h)[0]) {
		(*h)[0] = c
		heap.Fix(h, 0)
	}
}
