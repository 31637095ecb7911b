package similarity

import (
	"container/heap"
	"context"
	"fmt"
	"math"
	"runtime"
	"sync/atomic"

	"github.com/pmlm-go/pmlm/internal/kernels"
)

// NeighborTable holds, for every reference patient of an Exact, its k most
// similar other reference patients: what Exact.TopK answers for the
// patient's own vector with its own row excluded, computed for all
// patients at once. A training run, whose patients are fixed, builds it
// once per encoder and looks neighbours up instead of querying the index
// for every patient.
type NeighborTable struct {
	e   *Exact
	k   int
	idx []int32   // n×k rows, -1 past a short row's end
	sim []float32 // n×k similarities
	// Fallbacks is the number of rows the blocked product could not settle
	// (near-ties at the k-th place within its rounding bound), answered by
	// a full TopK scan instead.
	Fallbacks int
}

// Blocking of the all-pairs product: tableRows query patients (a multiple
// of the micro-kernel's 6 rows) against tableCols reference patients per
// product, so that one block of similarities (tableRows × tableCols
// float32, 768 KiB) stays in L2 while the heaps read it.
const (
	tableRows = 96
	tableCols = 2048
	// tableSlack is the number of candidates kept beyond k per row, to be
	// re-scored exactly.
	tableSlack = 16
)

// NeighborTable computes every reference's k nearest other references:
// all-pairs similarities by a blocked matrix product (internal/kernels,
// the rows of patients split over GOMAXPROCS goroutines), keeping k + 16
// candidates per patient, which are then re-scored with the dot product
// Exact uses, so that each row equals
//
//	e.TopK(v, k, i)
//
// for the i-th reference vector v, similarities and tie-break included.
// Where the product's rounding could hide a candidate (a near-tie at the
// k-th place, within the float32 error bound of a dot product of unit
// vectors), the row is computed by TopK itself; Fallbacks counts those.
func (e *Exact) NeighborTable(ctx context.Context, k int) (*NeighborTable, error) {
	if k < 0 {
		return nil, fmt.Errorf("%w: k = %d", ErrInvalid, k)
	}
	n, d := e.Len(), e.dim
	k = min(k, n-1)
	t := &NeighborTable{e: e, k: k, idx: make([]int32, n*k), sim: make([]float32, n*k)}
	if k == 0 {
		return t, nil
	}
	keep := k + tableSlack
	workers := max(1, runtime.GOMAXPROCS(0))
	// The reference patients as the packed right-hand side, block by block.
	cols := (n + tableCols - 1) / tableCols
	packed := make([]kernels.Packed, cols)
	kernels.Parallel(cols, workers, func(_, lo, hi int) {
		for b := lo; b < hi; b++ {
			j0, j1 := b*tableCols, min((b+1)*tableCols, n)
			kernels.PackTransposed(&packed[b], e.data[j0*d:j1*d], j1-j0, d, d)
		}
	})
	// bound is twice the rounding error bound of a float32 dot product of
	// two unit vectors of length d (d·2⁻²⁴ each way), doubled for safety.
	bound := float32(4 * float64(d) / (1 << 24))
	blocks := (n + tableRows - 1) / tableRows
	var fallbacks atomic.Int64
	var firstErr atomic.Value
	kernels.Parallel(blocks, workers, func(_, lo, hi int) {
		c := make([]float32, tableRows*tableCols)
		heaps := make([]topHeap, tableRows)
		for b := lo; b < hi; b++ {
			if ctx.Err() != nil {
				return
			}
			i0, i1 := b*tableRows, min((b+1)*tableRows, n)
			m := i1 - i0
			for r := range m {
				heaps[r] = heaps[r][:0]
			}
			for cb := range packed {
				j0 := cb * tableCols
				nc := packed[cb].N
				if err := kernels.Gemm(c, tableCols, e.data[i0*d:], d, m, &packed[cb], nil, nil, 1); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				for r := range m {
					h := &heaps[r]
					row := c[r*tableCols : r*tableCols+nc]
					// Most similarities are below the worst one kept: one
					// float comparison rejects them (ties and NaN take the
					// full test below).
					worst := float32(math.Inf(-1))
					if len(*h) == keep {
						worst = (*h)[0].sim
					}
					for j, s := range row {
						if s < worst {
							continue
						}
						cand := candidate{j0 + j, s}
						if len(*h) == keep && !better(cand, (*h)[0]) {
							continue
						}
						if cand.index == i0+r {
							continue
						}
						h.offer(cand, keep)
						if len(*h) == keep {
							worst = (*h)[0].sim
						}
					}
				}
			}
			for r := range m {
				if !t.settle(i0+r, heaps[r], keep, bound) {
					fallbacks.Add(1)
				}
			}
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err, ok := firstErr.Load().(error); ok {
		return nil, fmt.Errorf("similarity: neighbour table: %w", err)
	}
	t.Fallbacks = int(fallbacks.Load())
	return t, nil
}

// settle re-scores row i's candidates exactly and writes its k best; it
// returns false when the candidates could not be trusted and the row was
// computed by TopK instead.
func (t *NeighborTable) settle(i int, cands topHeap, keep int, bound float32) bool {
	e, d := t.e, t.e.dim
	q := e.data[i*d : (i+1)*d]
	lowest := float32(2) // the lowest approximate similarity kept
	exact := make(topHeap, 0, t.k+1)
	for _, c := range cands {
		lowest = min(lowest, c.sim)
		exact.offer(candidate{c.index, dot(q, e.data[c.index*d:(c.index+1)*d])}, t.k)
	}
	out := t.row(i)
	// A reference left out scored at most lowest approximately, so at most
	// lowest + bound exactly: it cannot beat the k-th kept one when that is
	// higher. With fewer candidates than keep, none was left out.
	if len(cands) == keep && len(exact) == t.k && !(exact[0].sim > lowest+bound) {
		nb, err := e.TopK(e.vectors[i], t.k, i)
		if err == nil {
			for j, n := range nb {
				out.idx[j], out.sim[j] = int32(n.Index), n.Similarity
			}
			return false
		}
	}
	for j := len(exact) - 1; j >= 0; j-- {
		c := heap.Pop(&exact).(candidate)
		out.idx[j], out.sim[j] = int32(c.index), c.sim
	}
	return true
}

type tableRow struct {
	idx []int32
	sim []float32
}

func (t *NeighborTable) row(i int) tableRow {
	return tableRow{t.idx[i*t.k : (i+1)*t.k], t.sim[i*t.k : (i+1)*t.k]}
}

// K is the number of neighbours per patient.
func (t *NeighborTable) K() int { return t.k }

// Neighbors returns the k nearest other references of reference i, as
// e.TopK(vector i, k, i) does.
func (t *NeighborTable) Neighbors(i int) []Neighbor {
	r := t.row(i)
	out := make([]Neighbor, t.k)
	for j := range out {
		ix := int(r.idx[j])
		out[j] = Neighbor{Index: ix, Similarity: r.sim[j], Label: t.e.labels[ix]}
		if t.e.keys != nil {
			out[j].Key = t.e.keys[ix]
		}
	}
	return out
}

// Lookup returns the first k of the neighbours of the reference with this
// key, as e.Recommend answers Query{Vector: its vector, K: k, Exclude:
// [key]}; ok is false for an unknown key, k beyond the table's, or a nil
// table.
func (t *NeighborTable) Lookup(key string, k int) (nb []Neighbor, ok bool) {
	if t == nil {
		return nil, false
	}
	i, found := t.e.rows[key]
	if !found || k > t.k || k < 0 {
		return nil, false
	}
	return t.Neighbors(i)[:k], true
}
