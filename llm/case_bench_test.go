package llm

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/pmlm-go/pmlm/encoder"
)

// benchCases builds n synthetic coarse prompts: a shared template and a
// few label words drawn with a seeded source.
func benchCases(n int) []Case {
	labels := []string{"anemia", "preeclampsia", "normal", "iron", "hypertension"}
	rng := rand.New(rand.NewPCG(1, 2))
	cases := make([]Case, n)
	for i := range cases {
		var b strings.Builder
		b.WriteString("The data are laboratory panels of a pregnant patient. Predict the discharge advice. predicted label ")
		for range 11 {
			b.WriteString(labels[rng.IntN(len(labels))])
			b.WriteByte(' ')
		}
		cases[i] = Case{ID: fmt.Sprint("p", i), Prompt: b.String(), Reply: fmt.Sprint("reply ", i)}
	}
	return cases
}

func BenchmarkCaseResponderRespond(b *testing.B) {
	cases := benchCases(2000)
	for _, tc := range []struct {
		name string
		enc  encoder.TextEncoder
	}{{"lexical", nil}, {"tiny3d", newTinyEncoder()}} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			r, err := NewCaseResponder(ctx, cases, CaseOptions{Encoder: tc.enc})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				c := cases[i%len(cases)]
				if _, err := r.RespondExcluding(ctx, c.Prompt, c.ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
