package similarity_test

import (
	"context"
	"fmt"

	"github.com/pmlm-go/pmlm/similarity"
)

func Example() {
	// Encodings of four training patients, their true labels and keys.
	refs := []similarity.Reference{
		{Key: "p1", Vector: []float32{1, 0.1}, Label: "normal"},
		{Key: "p2", Vector: []float32{0.9, 0.2}, Label: "normal"},
		{Key: "p3", Vector: []float32{0.1, 1}, Label: "thalassemia"},
		{Key: "p4", Vector: []float32{-1, 0}, Label: "uterine scar"},
	}
	r, err := similarity.NewIndex(refs)
	if err != nil {
		panic(err)
	}
	// Training patient p1 asks for its 2 nearest peers, itself excluded by
	// its key.
	nb, err := r.Recommend(context.Background(), similarity.Query{Vector: refs[0].Vector, K: 2, Exclude: []string{"p1"}})
	if err != nil {
		panic(err)
	}
	for _, n := range nb {
		fmt.Printf("%s %s %.2f\n", n.Key, n.Label, n.Similarity)
	}
	// Output:
	// p2 normal 0.99
	// p3 thalassemia 0.20
}
