package pmlm_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/internal/stats"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/synth"
)

func TestBuildCarriesThePredictorsProbabilities(t *testing.T) {
	ctx := context.Background()
	opts := synth.DefaultOptions()
	opts.Patients, opts.Visits, opts.Seed = 150, 0, 11
	c, err := synth.Generate(opts)
	require.NoError(t, err)
	_, _, test := c.Split(cohort.DefaultSplit())
	x := test[0].Matrix()

	b, err := pmlm.NewPromptBuilder(ctx, c, pmlm.TrainOptions{Seed: 7})
	require.NoError(t, err)
	s0, err := b.Build(ctx, x, nil)
	require.NoError(t, err)
	require.Len(t, s0.Probabilities, len(c.Labels))
	sum := 0.0
	for _, p := range s0.Probabilities {
		sum += p
	}
	assert.InDelta(t, 1, sum, 1e-9)
	assert.Equal(t, s0.PredictedLabel, c.Labels[stats.Argmax(s0.Probabilities)], "the shown label is the most probable one")

	given, err := b.BuildWithLabel(ctx, x, "thalassemia", nil)
	require.NoError(t, err)
	assert.Nil(t, given.Probabilities, "a label given by the caller comes without probabilities")
	assert.Equal(t, s0.Similar, given.Similar)

	noSelf, err := pmlm.NewPromptBuilder(ctx, c, pmlm.TrainOptions{Seed: 7, NoSelfPersonalization: true})
	require.NoError(t, err)
	s1, err := noSelf.Build(ctx, x, nil)
	require.NoError(t, err)
	assert.Nil(t, s1.Probabilities)
	assert.Equal(t, "unknown", s1.PredictedLabel)
}
