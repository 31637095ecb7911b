package similarity

import (
	"context"
	"fmt"
)

// PrecisionAtK measures how well neighbourhoods agree with labels: for each
// query it takes the k reference patients r recommends and counts the
// fraction whose label equals the query's label, then averages over the
// queries. Use the validation split's encodings as queries against a
// recommender built on the training split. A query that gets fewer than k
// neighbours (a reference set smaller than k) is scored on those it got.
func PrecisionAtK(ctx context.Context, r Recommender, queries [][]float32, labels []string, k int) (float64, error) {
	if len(queries) != len(labels) {
		return 0, fmt.Errorf("%w: %d queries but %d labels", ErrInvalid, len(queries), len(labels))
	}
	if len(queries) == 0 || k <= 0 {
		return 0, fmt.Errorf("%w: precision@k needs queries and k > 0 (got %d queries, k = %d)", ErrInvalid, len(queries), k)
	}
	total := 0.0
	for i, q := range queries {
		nb, err := r.Recommend(ctx, Query{Vector: q, K: k})
		if err != nil {
			return 0, fmt.Errorf("query %d: %w", i, err)
		}
		if len(nb) == 0 {
			return 0, fmt.Errorf("%w: query %d got no neighbours", ErrInvalid, i)
		}
		same := 0
		for _, n := range nb {
			if n.Label == labels[i] {
				same++
			}
		}
		total += float64(same) / float64(len(nb))
	}
	return total / float64(len(queries)), nil
}
