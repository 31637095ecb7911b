package experiment_test

import (
	"context"
	"fmt"

	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/experiment"
	"github.com/pmlm-go/pmlm/pmlm/predict"
	"github.com/pmlm-go/pmlm/pmlm/synth"
)

// Compare a predictor with the majority answer over two seeds, with the
// learnable-share ceiling of a synthetic cohort as the bound.
func ExampleComparePredictors() {
	opts := synth.DefaultOptions()
	opts.Patients, opts.Visits = 300, 0
	c, err := synth.Generate(opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	gbdt := func(seed uint64) (predict.Predictor, error) {
		return &predict.GBDTClassifier{Config: predict.GBDTConfig{Seed: seed, Rounds: 10}}, nil
	}
	_, test, err := experiment.ComparePredictors(context.Background(), c, cohort.DefaultSplit(), []string{"gbdt"},
		[]experiment.PredictorFactory{gbdt}, experiment.StudyOptions{Seeds: []uint64{1, 2}, Unlearnable: synth.UnlearnableLabels()})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range test.Rows {
		fmt.Println(r.Name, "reference:", r.Reference)
	}
	micro, _, err := test.PairedF1(1, 0, experiment.BootstrapOptions{Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("the ceiling is ahead of the majority answer:", micro.CI.Low > 0)
	// Output:
	// majority (normal) reference: true
	// ceiling (learnable labels) reference: true
	// gbdt reference: false
	// the ceiling is ahead of the majority answer: true
}
