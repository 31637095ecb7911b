package main

import (
	"flag"
	"fmt"

	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

// bayesFlags are the settings of refinement by minimum Bayes risk, shared
// by respond and serve.
type bayesFlags struct {
	fs      *flag.FlagSet
	replies *int
	seed    *uint64
}

func addBayesFlags(fs *flag.FlagSet) bayesFlags {
	return bayesFlags{
		fs:      fs,
		replies: fs.Int("bayes-replies", pmlm.DefaultBayesReferences, "Bayes refinement: training replies sampled per diagnosis"),
		seed:    fs.Uint64("bayes-seed", 1, "Bayes refinement: seed of the replies' sample"),
	}
}

// unused refuses the Bayes flags when the command line does not ask for
// Bayes refinement (needs names the flag that does), rather than ignoring
// them.
func (b bayesFlags) unused(needs string) error {
	var err error
	b.fs.Visit(func(f *flag.Flag) {
		if err == nil && (f.Name == "bayes-replies" || f.Name == "bayes-seed") {
			err = fmt.Errorf("%w: --%s applies only with %s", errUsage, f.Name, needs)
		}
	})
	return err
}

// refiner makes the Bayes refiner of a loaded model from its training
// patients, found by key in c (read from dir): the replies and diagnoses
// a model directory does not hold.
func (b bayesFlags) refiner(p *pmlm.Pipeline, c *cohort.Cohort, dir string) (*pmlm.BayesRefiner, error) {
	train, err := p.TrainingPatients(c)
	if err != nil {
		return nil, fmt.Errorf("refinement by minimum Bayes risk needs the model's training patients in %s: %w", dir, err)
	}
	return p.BayesRefiner(train, pmlm.BayesOptions{References: *b.replies, Seed: *b.seed})
}
