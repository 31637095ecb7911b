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

func ExampleExact_NeighborTable() {
	refs := []similarity.Reference{
		{Key: "p1", Vector: []float32{1, 0.1}, Label: "normal"},
		{Key: "p2", Vector: []float32{0.9, 0.2}, Label: "normal"},
		{Key: "p3", Vector: []float32{0.1, 1}, Label: "thalassemia"},
	}
	e, err := similarity.NewIndex(refs)
	if err != nil {
		panic(err)
	}
	// Every patient's nearest other patient, computed at once: what
	// Recommend answers for the patient with its own key excluded.
	table, err := e.NeighborTable(context.Background(), 1)
	if err != nil {
		panic(err)
	}
	for _, r := range refs {
		nb, _ := table.Lookup(r.Key, 1)
		fmt.Printf("%s → %s %.2f\n", r.Key, nb[0].Key, nb[0].Similarity)
	}
	// Output:
	// p1 → p2 0.99
	// p2 → p1 0.99
	// p3 → p2 0.31
}

func ExampleRerank() {
	// Candidates an approximate index proposed, with their unit vectors
	// and the positions that break ties.
	unit := func(v []float32) []float32 {
		u, err := similarity.UnitVector(v)
		if err != nil {
			panic(err)
		}
		return u
	}
	cands := []similarity.Candidate{
		{Ordinal: 2, Key: "p3", Label: "thalassemia", Unit: unit([]float32{0.1, 1})},
		{Ordinal: 1, Key: "p2", Label: "normal", Unit: unit([]float32{0.9, 0.2})},
	}
	nb, err := similarity.Rerank([]float32{1, 0.1}, cands, 1)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s %s %.2f\n", nb[0].Key, nb[0].Label, nb[0].Similarity)
	// Output:
	// p2 normal 0.99
}
