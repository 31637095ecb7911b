package experiment_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/experiment"
)

// TestRefineComparesVariantsWithSharedFits runs the refine experiment with
// two REINFORCE variants: each gets its rows and its trainer's statistics,
// and the variants reuse the seed's predictor fit.
func TestRefineComparesVariantsWithSharedFits(t *testing.T) {
	c, err := smallCohort()
	require.NoError(t, err)
	cfg := tinyConfig()
	cfg.Seeds = []uint64{1}
	cfg.Train.OracleValidation = true
	cfg.Refinements = []experiment.Refinement{
		{Name: "replace", Actions: pmlm.ActionsReplace},
		{Name: "blend", BaselineDecay: 0.9, EntropyBonus: 0.01},
	}
	var log bytes.Buffer
	cfg.Progress = &log
	r, err := experiment.NewRunner(c, cfg)
	require.NoError(t, err)
	res, err := r.Run(context.Background(), "refine")
	require.NoError(t, err)
	tab := res.Refine
	require.NotNil(t, tab)
	var labels []string
	for _, row := range tab.Rows {
		labels = append(labels, row.Labels[0])
	}
	assert.Equal(t, []string{"coarse", "refined", "control: random deletions", "control: refined, x̂ = 0", "refined (Bayes)", "control: refined (Bayes), prior belief",
		"refined − coarse", "refined − random deletions", "refined − refined, x̂ = 0", "refined (Bayes) − coarse", "refined (Bayes) − refined", "refined (Bayes) − refined (Bayes), prior belief",
		"refined [replace]", "refined [replace] − its coarse", "refined [replace] − refined",
		"refined [blend]", "refined [blend] − its coarse", "refined [blend] − refined"}, labels)
	for _, row := range tab.Rows {
		if strings.Contains(row.Labels[0], " − ") {
			require.NotNil(t, row.Values[len(row.Values)-1].CI, row.Labels[0])
		}
	}
	notes := strings.Join(tab.Notes, "\n")
	for _, want := range []string{"full method, seed 1: epoch 1:", "replace, seed 1: epoch 1:", "blend, seed 1: epoch 1:",
		"changed the answer", "of uniform", "the oracle's gain on the same 4 validation patients", "actions replace", "entropy bonus 0.01"} {
		assert.Contains(t, notes, want)
	}
	assert.Equal(t, 1, strings.Count(log.String(), "fitted for seed 1"), "one predictor fit for the three trainings")

	bad := tinyConfig()
	bad.Refinements = []experiment.Refinement{{Name: "x"}, {Name: "x"}}
	_, err = experiment.NewRunner(c, bad)
	assert.ErrorIs(t, err, experiment.ErrConfig)
}
