package pmlm_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/predict"
	"github.com/pmlm-go/pmlm/pmlm/synth"
	"github.com/pmlm-go/pmlm/similarity"
)

// trained is one small pipeline shared by the tests of this file: training
// it takes most of their time.
var trained = sync.OnceValues(func() (*pmlm.Pipeline, error) {
	c, err := smallCohort()
	if err != nil {
		return nil, err
	}
	return pmlm.Train(context.Background(), c, pmlm.TrainOptions{
		CrossFitFolds: 2, MaxEpisodes: 16, MaxValidation: 8, BatchSize: 8, Seed: 7, StoreCases: true,
	})
})

var smallCohort = sync.OnceValues(func() (*cohort.Cohort, error) {
	opts := synth.DefaultOptions()
	opts.Patients, opts.Visits, opts.Seed = 150, 0, 11
	return synth.Generate(opts)
})

func trainedOrFail(t *testing.T) (*pmlm.Pipeline, *cohort.Cohort) {
	t.Helper()
	p, err := trained()
	require.NoError(t, err)
	c, err := smallCohort()
	require.NoError(t, err)
	return p, c
}

// numbers matches every decimal number in a text.
var numbers = regexp.MustCompile(`\d+(\.\d+)?`)

func TestPipelinePromptsCarryNoIdentifiersOrLabValues(t *testing.T) {
	p, c := trainedOrFail(t)
	_, _, test := c.Split(cohort.DefaultSplit())
	require.NotEmpty(t, test)
	for _, pt := range test[:min(10, len(test))] {
		a, err := p.Respond(context.Background(), pt, pmlm.RespondOptions{SkipFinal: true})
		require.NoError(t, err)
		for _, text := range []string{a.Coarse, a.Final} {
			assert.NotContains(t, text, pt.ID)
			// The only numbers a prompt may hold are k and the neighbour counts.
			for _, n := range numbers.FindAllString(text, -1) {
				assert.NotContains(t, n, ".", "a decimal number (a lab value?) in %q", text)
				assert.LessOrEqual(t, len(n), 2, "number %s in %q", n, text)
			}
		}
		assert.Contains(t, p.Labels(), a.PredictedLabel)
		assert.LessOrEqual(t, len(a.Deletions), 10)
		assert.Equal(t, len(strings.Fields(a.Coarse))-len(a.Deletions), len(strings.Fields(a.Final)))
	}
}

func TestPipelineNeverAnswersATrainingPatientWithItsOwnReply(t *testing.T) {
	p, c := trainedOrFail(t)
	train, _, _ := c.Split(cohort.DefaultSplit())
	for _, pt := range train[:20] {
		a, err := p.Respond(context.Background(), pt, pmlm.RespondOptions{Coarse: true})
		require.NoError(t, err)
		assert.NotEqual(t, pt.Response, a.Response.Text)
		assert.NotEqual(t, pt.Response, a.CoarseResponse.Text)
	}
}

func TestPipelineSaveLoadRoundTrip(t *testing.T) {
	p, c := trainedOrFail(t)
	dir := filepath.Join(t.TempDir(), "model")
	require.NoError(t, p.Save(dir))
	require.NoError(t, p.Save(dir), "saving over an existing model replaces it")
	q, err := pmlm.Load(context.Background(), dir, pmlm.LoadOptions{})
	require.NoError(t, err)
	_, _, test := c.Split(cohort.DefaultSplit())
	for _, pt := range test[:5] {
		a, err := p.Respond(context.Background(), pt, pmlm.RespondOptions{})
		require.NoError(t, err)
		b, err := q.Respond(context.Background(), pt, pmlm.RespondOptions{})
		require.NoError(t, err)
		assert.Equal(t, a.Coarse, b.Coarse)
		assert.Equal(t, a.Final, b.Final, "greedy refinement is deterministic")
		assert.Equal(t, a.Response.Text, b.Response.Text)
	}
}

func TestLoadRejectsCorruptedAndForeignModels(t *testing.T) {
	p, _ := trainedOrFail(t)
	dir := filepath.Join(t.TempDir(), "model")
	require.NoError(t, p.Save(dir))

	// A flipped byte in a weight file.
	path := filepath.Join(dir, "policy.bin")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	b[len(b)/2] ^= 0xff
	require.NoError(t, os.WriteFile(path, b, 0o600))
	_, err = pmlm.Load(context.Background(), dir, pmlm.LoadOptions{})
	require.ErrorIs(t, err, pmlm.ErrModel)
	assert.Contains(t, err.Error(), "policy.bin is corrupted")

	// Another format version.
	require.NoError(t, p.Save(dir))
	mpath := filepath.Join(dir, "manifest.json")
	raw, err := os.ReadFile(mpath)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	m["version"] = 99
	raw, err = json.Marshal(m)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(mpath, raw, 0o600))
	_, err = pmlm.Load(context.Background(), dir, pmlm.LoadOptions{})
	require.ErrorIs(t, err, pmlm.ErrModel)
	assert.Contains(t, err.Error(), "format version 99")

	// An edited manifest: its checksum no longer matches.
	require.NoError(t, p.Save(dir))
	raw, err = os.ReadFile(mpath)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &m))
	m["k"] = 3
	raw, err = json.Marshal(m)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(mpath, raw, 0o600))
	_, err = pmlm.Load(context.Background(), dir, pmlm.LoadOptions{})
	require.ErrorIs(t, err, pmlm.ErrModel)
	assert.Contains(t, err.Error(), "manifest.json is corrupted or was edited")

	// A missing file: the cause stays visible to errors.Is.
	require.NoError(t, p.Save(dir))
	require.NoError(t, os.Remove(filepath.Join(dir, "recommender.bin")))
	_, err = pmlm.Load(context.Background(), dir, pmlm.LoadOptions{})
	require.ErrorIs(t, err, pmlm.ErrModel)
	require.ErrorIs(t, err, fs.ErrNotExist)
	_, err = pmlm.Load(context.Background(), filepath.Join(dir, "nothing-here"), pmlm.LoadOptions{})
	require.ErrorIs(t, err, fs.ErrNotExist)

	// A part of a kind no loader knows.
	require.NoError(t, p.Save(dir))
	man, err := pmlm.ReadManifest(dir)
	require.NoError(t, err)
	assert.Equal(t, similarity.ExactKind, man.Parts[pmlm.PartRecommender].Kind)
	assert.Equal(t, predict.KindGBDT, man.Parts[pmlm.PartPredictor].Kind) // the default predictor
	assert.Equal(t, "case", man.Responder.Provider)
	assert.Equal(t, p.Labels(), man.Data.Labels)
}

func TestEvaluateReportsBothRows(t *testing.T) {
	p, c := trainedOrFail(t)
	_, _, test := c.Split(cohort.DefaultSplit())
	ev, err := p.Evaluate(context.Background(), test[:min(12, len(test))], 2)
	require.NoError(t, err)
	for _, m := range []pmlm.Scores{ev.Before, ev.After} {
		assert.Greater(t, m.BLEU4, 0.0)
		assert.Greater(t, m.ROUGE1, m.ROUGE2, "unigram overlap exceeds bigram overlap")
		assert.Greater(t, m.BERTScoreF, 50.0)
		assert.LessOrEqual(t, m.BERTScoreF, 100.0)
	}
	var sb strings.Builder
	require.NoError(t, ev.WriteTable(&sb))
	assert.Contains(t, sb.String(), "refined (after)")
	assert.Contains(t, sb.String(), "glove-wink-sg-100d")
}

func TestNeighborAgreement(t *testing.T) {
	_, c := trainedOrFail(t)
	r, err := pmlm.NeighborAgreement(context.Background(), c, pmlm.TrainOptions{Seed: 2}, 5)
	require.NoError(t, err)
	train, val, _ := c.Split(cohort.DefaultSplit())
	assert.Equal(t, len(train), r.Train)
	assert.Equal(t, len(val), r.Validation)
	for _, p := range []float64{r.Untrained, r.WarmStarted, r.Chance} {
		assert.GreaterOrEqual(t, p, 0.0)
		assert.LessOrEqual(t, p, 1.0)
	}
	// Chance is at least the share of the majority label squared-ish: the
	// synthetic cohort's "normal" is about 40% of both splits.
	assert.Greater(t, r.Chance, 0.1)
	var sb strings.Builder
	require.NoError(t, r.WriteText(&sb))
	assert.Contains(t, sb.String(), "warm-started encoder")
}

func TestNilAndEmptyInputsReturnErrors(t *testing.T) {
	p, _ := trainedOrFail(t)
	ctx := context.Background()
	_, err := pmlm.Train(ctx, nil, pmlm.TrainOptions{})
	require.ErrorIs(t, err, pmlm.ErrOptions)
	_, err = pmlm.NewPromptBuilder(ctx, nil, pmlm.TrainOptions{})
	require.ErrorIs(t, err, pmlm.ErrOptions)
	_, err = pmlm.FitPredictor(ctx, nil, pmlm.TrainOptions{})
	require.ErrorIs(t, err, pmlm.ErrOptions)
	_, err = pmlm.NeighborAgreement(ctx, nil, pmlm.TrainOptions{}, 5)
	require.ErrorIs(t, err, pmlm.ErrOptions)
	_, err = p.Respond(ctx, nil, pmlm.RespondOptions{})
	require.ErrorIs(t, err, pmlm.ErrOptions)
	_, err = p.Respond(ctx, &cohort.Patient{ID: "x"}, pmlm.RespondOptions{})
	require.ErrorIs(t, err, pmlm.ErrNoVisits)
	_, err = p.Evaluate(ctx, nil, 1)
	require.ErrorIs(t, err, pmlm.ErrOptions)
	_, err = p.Evaluate(ctx, []*cohort.Patient{nil}, 1)
	require.ErrorIs(t, err, pmlm.ErrOptions)
	_, err = pmlm.Train(ctx, &cohort.Cohort{}, pmlm.TrainOptions{})
	require.ErrorIs(t, err, pmlm.ErrNoTraining)
}
