package pmlm_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/encoder/wordvec"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

func TestBuiltinTextEncoder(t *testing.T) {
	for name, want := range map[string]string{
		"glove": wordvec.DefaultName, wordvec.DefaultName: wordvec.DefaultName,
		"use": "use-lite/layer-1", "use-lite/layer-0": "use-lite/layer-0", "use-lite/layer-1": "use-lite/layer-1",
	} {
		enc, err := pmlm.BuiltinTextEncoder(name)
		require.NoError(t, err, name)
		assert.Equal(t, want, enc.Name())
	}
	for _, bad := range []string{"", "bert", "use-lite/layer-2", "use-lite"} {
		_, err := pmlm.BuiltinTextEncoder(bad)
		require.ErrorIs(t, err, pmlm.ErrOptions, bad)
		assert.Contains(t, err.Error(), "glove, use")
	}
}

// TestUSEModelSavesAndLoads: a model trained with Universal Sentence
// Encoder lite records it, loads with it without being told, and refuses
// another encoder.
func TestUSEModelSavesAndLoads(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a pipeline")
	}
	c, err := smallCohort()
	require.NoError(t, err)
	enc, err := pmlm.BuiltinTextEncoder(pmlm.TextUSE)
	require.NoError(t, err)
	ctx := context.Background()
	p, err := pmlm.Train(ctx, c, pmlm.TrainOptions{
		CrossFitFolds: 2, MaxEpisodes: 8, MaxValidation: 4, BatchSize: 4, Epochs: 1, Seed: 7, Text: enc, StoreCases: true,
	})
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "model")
	require.NoError(t, p.Save(dir))
	m, err := pmlm.ReadManifest(dir)
	require.NoError(t, err)
	assert.Equal(t, "use-lite/layer-1", m.TextEncoder)
	q, err := pmlm.Load(ctx, dir, pmlm.LoadOptions{})
	require.NoError(t, err)
	assert.Equal(t, "use-lite/layer-1", q.TextEncoder().Name())
	_, _, test := c.Split(cohort.DefaultSplit())
	a, err := p.Respond(ctx, test[0], pmlm.RespondOptions{})
	require.NoError(t, err)
	b, err := q.Respond(ctx, test[0], pmlm.RespondOptions{})
	require.NoError(t, err)
	assert.Equal(t, a.Final, b.Final)

	glove, err := pmlm.BuiltinTextEncoder(pmlm.TextGloVe)
	require.NoError(t, err)
	_, err = pmlm.Load(ctx, dir, pmlm.LoadOptions{Text: glove})
	require.ErrorIs(t, err, pmlm.ErrOptions)
	assert.Contains(t, err.Error(), `trained with text encoder "use-lite/layer-1"`)
}
