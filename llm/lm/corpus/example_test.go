package corpus_test

import (
	"fmt"

	"github.com/pmlm-go/pmlm/llm/lm/corpus"
)

func Example() {
	// Training patients as the corpus sees them: a diagnosis and the
	// doctor's reply, nothing else.
	cases := []corpus.Case{
		{Label: "gestational diabetes", Reply: "Stop insulin after delivery and have a glucose tolerance test at 6 to 12 weeks."},
		{Label: "gestational diabetes", Reply: "An oral glucose tolerance test is due 6 to 12 weeks after the birth."},
		{Label: "thalassemia", Reply: "Your partner should be screened; avoid iron unless ferritin is low."},
		{Label: "normal", Reply: "Routine postpartum care; come to the 42-day check."},
	}
	labels := []string{"normal", "gestational diabetes", "thalassemia"}
	pairs, err := corpus.Build(cases, labels, corpus.ObstetricIndicators(), corpus.Options{Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	n := corpus.Counts(pairs)
	fmt.Println(n[corpus.KindSingle], "single,", n[corpus.KindDifferential], "differential,",
		n[corpus.KindLikelihood], "likelihood,", n[corpus.KindLab], "lab pairs")
	for _, p := range pairs {
		if p.Kind == corpus.KindDifferential {
			fmt.Println(p.Input)
			fmt.Println("→", p.Output)
			fmt.Println("stated weights:", p.Candidates, "— the reply was drawn for", p.Label)
			break
		}
	}
	// Output:
	// 8 single, 8 differential, 4 likelihood, 840 lab pairs
	// The white cell count rises at delivery and settles days. 6 10 patients had thalassemia. There are gaps in the in the middle of the pregnancy, when she moved house. Avoid jargon, since she has little medical knowledge. 3 of 10 had gestational diabetes. 1 of 10 had normal.
	// → Your partner should be screened; avoid iron unless ferritin is low.
	// stated weights: [{thalassemia 6} {gestational diabetes 3} {normal 1}] — the reply was drawn for thalassemia
}

func ExampleIndicator_Interpret() {
	for _, in := range corpus.ObstetricIndicators() {
		if in.Name == "HGB" {
			fmt.Println(in.Interpret(95))
		}
	}
	// Output:
	// A haemoglobin of 95 g/L is below the reference interval of 110–150 g/L: anaemia; in pregnancy most often from iron deficiency, or thalassemia trait when the MCV is low too, and after delivery from blood loss.
}

func ExampleNGramOverlap() {
	corpusInputs := []string{"Discharge diagnosis: thalassemia.", "Likely gestational diabetes, possibly normal."}
	prompt := "The discharge diagnosis is gestational diabetes."
	for n := 1; n <= 3; n++ {
		share, err := corpus.NGramOverlap(corpusInputs, []string{prompt}, n)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%d-grams: %.2f\n", n, share)
	}
	// Output:
	// 1-grams: 0.67
	// 2-grams: 0.40
	// 3-grams: 0.00
}
