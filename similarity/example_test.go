package similarity_test

import (
	"fmt"

	"github.com/pmlm-go/pmlm/similarity"
)

func Example() {
	// Encodings of four training patients and their true labels.
	train := [][]float32{{1, 0.1}, {0.9, 0.2}, {0.1, 1}, {-1, 0}}
	labels := []string{"normal", "normal", "thalassemia", "uterine scar"}
	r, err := similarity.NewExact(train, labels)
	if err != nil {
		panic(err)
	}
	// Training patient 0 asks for its 2 nearest peers, itself excluded.
	nb, err := r.TopK(train[0], 2, 0)
	if err != nil {
		panic(err)
	}
	for _, n := range nb {
		fmt.Printf("%d %s %.2f\n", n.Index, n.Label, n.Similarity)
	}
	// Output:
	// 1 normal 0.99
	// 2 thalassemia 0.20
}
