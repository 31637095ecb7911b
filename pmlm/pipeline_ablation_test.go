package pmlm_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

// tinyTraining is the cheapest training that still runs every stage.
func tinyTraining(seed uint64) pmlm.TrainOptions {
	return pmlm.TrainOptions{CrossFitFolds: 2, MaxEpisodes: 8, MaxValidation: 4, BatchSize: 4, Seed: seed, StoreCases: true}
}

func TestTrainAblations(t *testing.T) {
	_, c := trainedOrFail(t)
	_, _, test := c.Split(cohort.DefaultSplit())
	require.NotEmpty(t, test)
	ctx := context.Background()

	opts := tinyTraining(7)
	opts.NoSelfPersonalization = true
	noSelf, err := pmlm.Train(ctx, c, opts)
	require.NoError(t, err)
	opts = tinyTraining(7)
	opts.NoPeerPersonalization = true
	noPeer, err := pmlm.Train(ctx, c, opts)
	require.NoError(t, err)
	full, _ := trainedOrFail(t)

	for _, pt := range test[:min(5, len(test))] {
		a, err := noSelf.Respond(ctx, pt, pmlm.RespondOptions{SkipFinal: true})
		require.NoError(t, err)
		assert.Equal(t, "unknown", a.PredictedLabel)
		assert.NotContains(t, a.Coarse, "predicted discharge diagnosis")
		assert.Contains(t, a.Coarse, "most similar past patients")

		b, err := noPeer.Respond(ctx, pt, pmlm.RespondOptions{SkipFinal: true})
		require.NoError(t, err)
		assert.Empty(t, b.Similar)
		assert.Contains(t, b.Coarse, "predicted discharge diagnosis is "+b.PredictedLabel)
		assert.Contains(t, b.Coarse, "no similar past patients are available")

		f, err := full.Respond(ctx, pt, pmlm.RespondOptions{SkipFinal: true})
		require.NoError(t, err)
		assert.Contains(t, f.Coarse, "predicted discharge diagnosis is "+f.PredictedLabel)
		assert.NotEmpty(t, f.Similar)
	}
	// An ablated pipeline saves its flags in the manifest and loads back
	// with the same prompts.
	for _, p := range []*pmlm.Pipeline{noSelf, noPeer} {
		dir := t.TempDir() + "/m"
		require.NoError(t, p.Save(dir))
		q, err := pmlm.Load(ctx, dir, pmlm.LoadOptions{})
		require.NoError(t, err)
		pt := test[0]
		want, err := p.CoarsePrompt(ctx, pt)
		require.NoError(t, err)
		got, err := q.CoarsePrompt(ctx, pt)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
}

func TestTrainReusesAFittedPredictor(t *testing.T) {
	_, c := trainedOrFail(t)
	ctx := context.Background()
	fit, err := pmlm.FitPredictor(ctx, c, tinyTraining(3))
	require.NoError(t, err)
	require.Equal(t, pmlm.DefaultPredictor, fit.Predictor().Name())

	opts := tinyTraining(3)
	opts.Fitted = fit
	reused, err := pmlm.Train(ctx, c, opts)
	require.NoError(t, err)
	fresh, err := pmlm.Train(ctx, c, tinyTraining(3))
	require.NoError(t, err)
	_, _, test := c.Split(cohort.DefaultSplit())
	for _, pt := range test[:min(5, len(test))] {
		a, err := reused.Respond(ctx, pt, pmlm.RespondOptions{SkipFinal: true})
		require.NoError(t, err)
		b, err := fresh.Respond(ctx, pt, pmlm.RespondOptions{SkipFinal: true})
		require.NoError(t, err)
		assert.Equal(t, b.Coarse, a.Coarse, "the same seed fits the same predictor")
	}

	// A fit on another split does not match.
	other := tinyTraining(3)
	other.Split = cohort.DefaultSplit()
	other.Split.TrainEnd = other.Split.TrainEnd.AddDate(0, -3, 0)
	otherFit, err := pmlm.FitPredictor(ctx, c, other)
	require.NoError(t, err)
	opts.Fitted = otherFit
	_, err = pmlm.Train(ctx, c, opts)
	require.ErrorIs(t, err, pmlm.ErrFitMismatch)
}
