package policy_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/nlpodyssey/spago/mat"

	"github.com/pmlm-go/pmlm/encoder"
	"github.com/pmlm-go/pmlm/policy"
)

// letters is a toy TextEncoder: a word's vector counts its vowels and
// consonants. Real code uses the embedded word vectors or a BERT model.
type letters struct{}

func (letters) Name() string { return "letters" }
func (letters) Dim() int     { return 2 }
func (letters) Encode(_ context.Context, text string) (*encoder.Encoded, error) {
	words := strings.Fields(text)
	e := &encoder.Encoded{NumWords: len(words)}
	for i, w := range words {
		var vowels float32
		for _, r := range w {
			if strings.ContainsRune("aeiou", r) {
				vowels++
			}
		}
		e.Tokens = append(e.Tokens, w)
		e.IDs = append(e.IDs, -1)
		e.Vectors = append(e.Vectors, []float32{vowels, float32(len(w)) - vowels})
		e.Special = append(e.Special, false)
		e.WordOf = append(e.WordOf, i)
	}
	return e, nil
}

// Refine a coarse prompt greedily with an (untrained) policy: the result
// lists each deleted word with its position in s0 and in the state.
func Example() {
	net, err := policy.New(policy.DefaultConfig(2, 3), 42)
	if err != nil {
		panic(err)
	}
	// x̂, the patient encoding; in PMLM it comes from the patient encoder.
	patient := mat.NewDense[float32](mat.WithShape(3, 1), mat.WithBacking([]float32{0.2, -0.1, 0.4}))
	s0 := "the patient shows mild anemia and should be monitored"
	res, err := policy.Refine(context.Background(), net, letters{}, s0, patient, 3)
	if err != nil {
		panic(err)
	}
	fmt.Println("deletions:", len(res.Deletions))
	for _, d := range res.Deletions {
		fmt.Println(d.Step, strings.Fields(s0)[d.Index] == d.Word, d.StateIndex <= d.Index)
	}
	fmt.Println("words left:", len(strings.Fields(res.Final)))
	// Output:
	// deletions: 3
	// 0 true true
	// 1 true true
	// 2 true true
	// words left: 6
}
