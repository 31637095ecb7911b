// Quickstart: the PMLM library end to end on the embedded defaults — a small
// synthetic cohort, training, and one personalized prompt and answer.
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/synth"
)

func main() {
	ctx := context.Background()

	// 1. Data: a seeded synthetic obstetric cohort (use cohort.ReadDir for CSV files).
	opts := synth.DefaultOptions()
	opts.Patients, opts.Visits = 300, 0
	c, err := synth.Generate(opts)
	if err != nil {
		log.Fatal(err)
	}

	// 2. Train: predictor, patient encoder, recommender, REINFORCE policy.
	//    Pass TrainOptions.Responder to use a real LLM (see package llm).
	//    The default offline case responder answers with the training
	//    patients' replies: StoreCases lets Save store them in the model.
	p, err := pmlm.Train(ctx, c, pmlm.TrainOptions{
		Epochs: 1, MaxEpisodes: 32, MaxValidation: 16, Seed: 1, StoreCases: true,
	})
	if err != nil {
		log.Fatal(err)
	}

	// 3. Respond: the personalized prompt of a test patient, and the answer.
	_, _, test := c.Split(cohort.DefaultSplit())
	answer, err := p.Respond(ctx, test[0], pmlm.RespondOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("predicted label:", answer.PredictedLabel)
	fmt.Println("refined prompt: ", answer.Final)
	fmt.Println("answer:         ", answer.Response.Text)

	// 4. Save the model; pmlm.Load reads it back.
	if err := p.Save("quickstart-model"); err != nil {
		log.Fatal(err)
	}
}
