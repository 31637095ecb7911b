package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/llm"
	"github.com/pmlm-go/pmlm/llm/lm"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/synth"
)

// tinyLMFlags make 'lm train' fast enough for a test.
var tinyLMFlags = []string{"--epochs", "1", "--dim", "16", "--layers", "1", "--heads", "2", "--hidden", "32",
	"--validation", "20", "--lab-per-indicator", "2", "--quiet"}

// lmCohort is a small synthetic cohort written as CSV: 40 patients keep
// the training of a tiny model to seconds, under the race detector too.
func lmCohort(t *testing.T) string {
	t.Helper()
	dir, _ := synthCohortDir(t, 5, 40)
	return dir
}

// synthCohortDir writes a synthetic cohort of the seed and size as CSV
// into a temporary folder and returns the folder and the cohort.
func synthCohortDir(t *testing.T, seed uint64, patients int) (string, *cohort.Cohort) {
	t.Helper()
	opts := synth.DefaultOptions()
	opts.Seed, opts.Patients, opts.Visits = seed, patients, 0
	c, err := synth.Generate(opts)
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, cohort.WriteDir(dir, c))
	return dir, c
}

func TestLMTrainAndAsk(t *testing.T) {
	dir := lmCohort(t)
	model := filepath.Join(t.TempDir(), "lm")
	var stdout, stderr bytes.Buffer
	args := append([]string{"lm", "train", dir, "--out", model}, tinyLMFlags...)
	if raceEnabled {
		args = append(args, "--lab-per-indicator", "0", "--validation", "4")
	}
	code := run(context.Background(), args, &env{stdout: &stdout, stderr: &stderr})
	require.Equal(t, 0, code, "stderr: %s", stderr.String())
	assert.Contains(t, stdout.String(), "validation perplexity")
	assert.Regexp(t, `on [1-9][0-9]* pairs`, stdout.String())
	_, err := os.Stat(model + ".checkpoint")
	assert.ErrorIs(t, err, os.ErrNotExist, "the checkpoint is removed once the model is saved")
	m, info, err := lm.Load(model)
	require.NoError(t, err)
	assert.Equal(t, "general", info.Mode)
	assert.Positive(t, info.Examples)
	assert.Positive(t, info.ValidationPerplexity)

	stdout.Reset()
	stderr.Reset()
	code = run(context.Background(), []string{"ask", "--llm", "lm", "--model", model, "--json", "--max-tokens", "12",
		"Discharge diagnosis: gestational diabetes."}, &env{stdout: &stdout, stderr: &stderr})
	require.Equal(t, 0, code, "stderr: %s", stderr.String())
	var out struct {
		llm.Response
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &out))
	assert.Equal(t, llm.ProviderLM, out.Provider)
	assert.NotEmpty(t, out.Text)
	assert.LessOrEqual(t, out.CompletionTokens, 12)
	assert.Contains(t, out.Model, m.Digest()[:16])

	// The headroom of refinement with this model (an oracle).
	stdout.Reset()
	stderr.Reset()
	code = run(context.Background(), []string{"headroom", dir, "--lm", model, "--k", "3", "--probes", "1", "--bayes-replies", "2"},
		&env{stdout: &stdout, stderr: &stderr})
	require.Equal(t, 0, code, "stderr: %s", stderr.String())
	assert.Contains(t, stdout.String(), "oracle − coarse [95 % CI]")
	assert.Contains(t, stdout.String(), "random single-word deletions that change the answer")
	assert.Contains(t, stdout.String(), "against 2 training replies of that diagnosis")
	code = run(context.Background(), []string{"headroom", dir}, &env{stdout: &stdout, stderr: &stderr})
	assert.Equal(t, 1, code, "--lm is required")
	// A model of another cohort is refused: it may have read these
	// patients' replies.
	opts := synth.DefaultOptions()
	opts.Seed, opts.Patients, opts.Visits = 6, 40, 0
	oc, err := synth.Generate(opts)
	require.NoError(t, err)
	other := t.TempDir()
	require.NoError(t, cohort.WriteDir(other, oc))
	stderr.Reset()
	code = run(context.Background(), []string{"headroom", other, "--lm", model}, &env{stdout: &stdout, stderr: &stderr})
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr.String(), "another cohort")

	if raceEnabled {
		return // the library's tests cover determinism; a second training takes a minute here
	}
	// Same seed, same model: training is deterministic.
	again := filepath.Join(t.TempDir(), "lm")
	args = append([]string{"lm", "train", dir, "--out", again, "--workers", "1"}, tinyLMFlags...)
	require.Equal(t, 0, run(context.Background(), args, &env{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}))
	m2, _, err := lm.Load(again)
	require.NoError(t, err)
	assert.Equal(t, m.Digest(), m2.Digest())
}

func TestLMTrainFinetune(t *testing.T) {
	dir := lmCohort(t)
	model := filepath.Join(t.TempDir(), "ft")
	var stdout, stderr bytes.Buffer
	args := append([]string{"lm", "train", dir, "--out", model, "--mode", "finetune"}, tinyLMFlags...)
	code := run(context.Background(), args, &env{stdout: &stdout, stderr: &stderr})
	require.Equal(t, 0, code, "stderr: %s", stderr.String())
	m, info, err := lm.Load(model)
	require.NoError(t, err)
	assert.Equal(t, "finetune", info.Mode)
	assert.Equal(t, pmlm.DefaultFinetuneMaxPrompt, m.Config().MaxPrompt)
	assert.Equal(t, 1, info.Epochs)
}

func TestLMTrainRefusesBadInput(t *testing.T) {
	dir := lmCohort(t)
	for name, args := range map[string][]string{
		"no out":          {"lm", "train", dir},
		"out inside":      {"lm", "train", dir, "--out", filepath.Join(dir, "model")},
		"out is data":     {"lm", "train", dir, "--out", dir},
		"out contains":    {"lm", "train", dir, "--out", filepath.Dir(dir)},
		"bad mode":        {"lm", "train", dir, "--out", filepath.Join(t.TempDir(), "m"), "--mode", "x"},
		"negative epochs": {"lm", "train", dir, "--out", filepath.Join(t.TempDir(), "m"), "--epochs", "-1"},
		"bad heads":       {"lm", "train", dir, "--out", filepath.Join(t.TempDir(), "m"), "--dim", "10", "--heads", "3"},
		"missing data":    {"lm", "train", filepath.Join(dir, "absent"), "--out", filepath.Join(t.TempDir(), "m")},
		"no subcommand":   {"lm", dir},
		"ask no model":    {"ask", "--llm", "lm", "hello"},
		"ask bad model":   {"ask", "--llm", "lm", "--model", dir, "hello"},
		"ask zero beam":   {"ask", "--llm", "lm", "--model", dir, "--beam", "0", "hello"},
	} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), args, &env{stdout: &stdout, stderr: &stderr})
			assert.NotEqual(t, 0, code)
			assert.NotEmpty(t, stderr.String())
		})
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.NotEqual(t, "model", e.Name(), "nothing was written into the data directory")
	}
}
