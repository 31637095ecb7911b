package similarity

import (
	"cmp"
	"container/heap"
	"fmt"
	"slices"
	"strings"
)

// UnitVector returns v/‖v‖ (zeros for a zero vector), computed exactly as
// Exact normalizes its references: an external index that stores these
// vectors and hands them back to Rerank reproduces Exact's similarities to
// the last bit.
func UnitVector(v []float32) ([]float32, error) {
	u := make([]float32, len(v))
	if err := normalize(u, v); err != nil {
		return nil, err
	}
	return u, nil
}

// Candidate is a reference patient an approximate index proposes for a
// query, to be re-ranked exactly by Rerank.
type Candidate struct {
	// Ordinal orders equally similar candidates as Exact orders equally
	// similar rows: lower first. An index built from a slice of references
	// uses each one's position in it.
	Ordinal int
	Key     string
	Label   string
	// Unit is the reference's UnitVector.
	Unit []float32
}

// Rerank returns the k candidates most similar to query, most similar
// first, with the similarities and the tie-break (lower Ordinal first) of
// Exact: given the candidates Exact would return, it returns what Exact
// returns. Neighbor.Index is the candidate's Ordinal.
func Rerank(query []float32, cands []Candidate, k int) ([]Neighbor, error) {
	if k < 0 {
		return nil, fmt.Errorf("%w: k = %d", ErrInvalid, k)
	}
	q, err := UnitVector(query)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	// Sorted by ordinal, a candidate's position orders ties as Exact's
	// row index does.
	sorted := slices.Clone(cands)
	slices.SortStableFunc(sorted, func(a, b Candidate) int {
		if c := cmp.Compare(a.Ordinal, b.Ordinal); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	h := make(topHeap, 0, k+1)
	for i, c := range sorted {
		if len(c.Unit) != len(q) {
			return nil, fmt.Errorf("%w: candidate %q has length %d, the query %d", ErrDimension, c.Key, len(c.Unit), len(q))
		}
		if k > 0 {
			h.offer(candidate{index: i, sim: dot(q, c.Unit)}, k)
		}
	}
	out := make([]Neighbor, len(h))
	for i := len(out) - 1; i >= 0; i-- {
		c := heap.Pop(&h).(candidate)
		cd := sorted[c.index]
		out[i] = Neighbor{Index: cd.Ordinal, Key: cd.Key, Similarity: c.sim, Label: cd.Label}
	}
	return out, nil
}
