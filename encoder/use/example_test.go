package use_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/pmlm-go/pmlm/encoder/use"
)

// The embedded model tokenizes and embeds text; sentence vectors have
// unit length, so their dot product is the cosine similarity.
func Example() {
	m, err := use.Default()
	if err != nil {
		panic(err)
	}
	docs, err := m.Documents(context.Background(), []string{
		"Final diagnosis: gestational diabetes.",
		"Final diagnosis: diabetes in pregnancy.",
		"Come to the postpartum check at 42 days.",
	})
	if err != nil {
		panic(err)
	}
	cos := func(a, b []float32) float64 {
		s := 0.0
		for i := range a {
			s += float64(a[i]) * float64(b[i])
		}
		return s
	}
	var pieces []string
	for _, tk := range docs[0].Tokens {
		pieces = append(pieces, fmt.Sprintf("%d:%s", tk.ID, tk.Piece))
	}
	fmt.Println(strings.Join(pieces, " "))
	fmt.Println(cos(docs[0].Vector, docs[1].Vector) > cos(docs[0].Vector, docs[2].Vector))
	// Output:
	// 6478:▁Final 523:▁di 891:ag 431:no 2630:sis 57:: 906:▁g 281:est 197:ation 90:al 7573:▁diabetes 6:.
	// true
}
