package synth_test

import (
	"fmt"

	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/synth"
)

// Generate the paper-shaped cohort and look at its split.
func Example() {
	c, err := synth.Generate(synth.DefaultOptions())
	if err != nil {
		fmt.Println(err)
		return
	}
	train, val, test := c.Split(cohort.DefaultSplit())
	fmt.Println(len(c.Patients), "patients,", c.NumVisits(), "visits, at most", c.MaxVisits(), "per patient")
	fmt.Println(len(c.Metrics), "metrics,", len(c.Labels), "labels")
	fmt.Println("train", len(train), "validation+test", len(val)+len(test))
	// Output:
	// 2373 patients, 38817 visits, at most 45 per patient
	// 35 metrics, 12 labels
	// train 1694 validation+test 679
}

// A small cohort for fast experiments: the records scale with the patients.
func ExampleGenerate_small() {
	c, err := synth.Generate(synth.Options{Seed: 7, Patients: 100})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(c.Patients), c.NumVisits(), c.MaxVisits())
	// Output: 100 1636 45
}
