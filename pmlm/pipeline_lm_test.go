package pmlm_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/llm"
	"github.com/pmlm-go/pmlm/llm/lm"
	"github.com/pmlm-go/pmlm/llm/lm/corpus"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

// TestSaveLoadEmbedsTheGenerativeResponder trains a pipeline against a
// (tiny) general LM: the model directory embeds the LM, and Load answers
// with it, with the same identity and the same answers, unless the caller
// gives another responder.
func TestSaveLoadEmbedsTheGenerativeResponder(t *testing.T) {
	ctx := context.Background()
	c, err := smallCohort()
	require.NoError(t, err)
	cfg := lm.Config{Dim: 16, Heads: 2, Layers: 1, Hidden: 32, Context: 256, MaxPrompt: 128}
	m, info, _, err := pmlm.TrainLM(ctx, c, pmlm.LMOptions{Seed: 1, Epochs: 1, Config: cfg, Validation: 4,
		Corpus: corpus.Options{LabPerIndicator: -1}})
	require.NoError(t, err)
	g, err := llm.NewGenerative(m, lm.GenerateOptions{MaxTokens: 24})
	require.NoError(t, err)
	p, err := pmlm.Train(ctx, c, pmlm.TrainOptions{
		CrossFitFolds: 2, MaxEpisodes: 8, MaxValidation: 4, BatchSize: 8, Seed: 3, Responder: g,
	})
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "model")
	require.NoError(t, p.Save(dir))

	man, err := pmlm.ReadManifest(dir)
	require.NoError(t, err)
	part, ok := man.Parts[pmlm.PartResponder]
	require.True(t, ok, "the manifest lists the responder")
	assert.Equal(t, llm.GenerativeKind, part.Kind)
	assert.Equal(t, g.Identity().Model, man.Responder.Model)

	// No reply is stored: the LM answers, so the directory keeps only the
	// training patients' keys, not cases.jsonl.
	assert.NotContains(t, man.Files, "cases.jsonl")
	assert.Contains(t, man.Files, "train_keys.json")
	_, err = os.Stat(filepath.Join(dir, "cases.jsonl"))
	assert.True(t, os.IsNotExist(err))

	q, err := pmlm.Load(ctx, dir, pmlm.LoadOptions{})
	require.NoError(t, err)
	// A training patient is still left out of its own neighbours.
	train, _, _ := c.Split(cohort.DefaultSplit())
	for _, pt := range train[:3] {
		a, err := p.Respond(ctx, pt, pmlm.RespondOptions{SkipFinal: true})
		require.NoError(t, err)
		b, err := q.Respond(ctx, pt, pmlm.RespondOptions{SkipFinal: true})
		require.NoError(t, err)
		assert.Equal(t, a.Similar, b.Similar)
		assert.Equal(t, a.Coarse, b.Coarse)
	}
	loaded, ok := q.Responder().(*llm.GenerativeResponder)
	require.True(t, ok, "Load answers with the embedded LM, got %T", q.Responder())
	assert.Equal(t, g.Identity(), loaded.Identity())
	assert.Equal(t, info, loaded.Model().Info())
	_, _, test := c.Split(cohort.DefaultSplit())
	for _, pt := range test[:3] {
		a, err := p.Respond(ctx, pt, pmlm.RespondOptions{})
		require.NoError(t, err)
		b, err := q.Respond(ctx, pt, pmlm.RespondOptions{})
		require.NoError(t, err)
		assert.Equal(t, a.Final, b.Final)
		assert.Equal(t, a.Response.Text, b.Response.Text)
		assert.Equal(t, a.Response.Model, b.Response.Model)
	}

	// A responder given at Load replaces the embedded one.
	other, err := llm.NewGenerative(m, lm.GenerateOptions{MaxTokens: 24, Beam: 2})
	require.NoError(t, err)
	r, err := pmlm.Load(ctx, dir, pmlm.LoadOptions{Responder: other})
	require.NoError(t, err)
	assert.Same(t, other, r.Responder())
}
