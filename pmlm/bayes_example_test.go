package pmlm_test

import (
	"context"
	"fmt"

	"github.com/pmlm-go/pmlm/encoder/wordvec"
	"github.com/pmlm-go/pmlm/llm"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/prompt"
	"github.com/pmlm-go/pmlm/reward"
)

// The predictor finds gestational diabetes likelier than the label it
// predicted (the prompt builder's coarse prompt shows only the label), so
// the refiner deletes the predicted label's words.
func ExampleBayesRefiner() {
	ctx := context.Background()
	wv, err := wordvec.Default()
	if err != nil {
		fmt.Println(err)
		return
	}
	scorer := reward.NewBERTScorer(wv, reward.BERTScoreOptions{})
	labels := []string{"normal", "gestational diabetes"}
	replies := []pmlm.LabelledReply{
		{Key: "a", Label: "normal", Reply: "routine antenatal care and a balanced diet"},
		{Key: "b", Label: "gestational diabetes", Reply: "monitor blood glucose and follow a diabetic diet"},
	}
	refiner, err := pmlm.NewBayesRefiner(labels, replies, scorer, pmlm.BayesOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	// The responder answers from stored cases (any llm.Responder will do).
	responder, err := llm.NewCaseResponder(ctx, []llm.Case{
		{ID: "a", Prompt: "the diagnosis is normal", Reply: replies[0].Reply},
		{ID: "b", Prompt: "the diagnosis is gestational diabetes", Reply: replies[1].Reply},
	}, llm.CaseOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	coarse := pmlm.Coarse{
		PredictedLabel: "normal",
		Prompt:         "Her predicted diagnosis is normal. Similar patients: the diagnosis was gestational diabetes for 6, normal for 4.",
		Similar:        []prompt.LabelCount{{Label: "gestational diabetes", Count: 6}, {Label: "normal", Count: 4}},
		Probabilities:  []float64{0.3, 0.7},
	}
	choice, err := refiner.Refine(ctx, coarse, responder.Respond, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(choice.Result.Final)
	fmt.Println(choice.Response.Text)
	fmt.Printf("%d candidates answered\n", choice.Candidates)
	// Output:
	// Her predicted diagnosis is Similar patients: the diagnosis was gestational diabetes for 6, for 4.
	// monitor blood glucose and follow a diabetic diet
	// 3 candidates answered
}
