package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/llm"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

// TestTrainDefaultsToTheGeneralResponder trains with the default
// responder (a tiny general LM, to keep the test short): the model embeds
// it, no LM checkpoint is left, and respond answers with it.
func TestTrainDefaultsToTheGeneralResponder(t *testing.T) {
	data, c := synthCohortDir(t, 6, 120)
	model := filepath.Join(t.TempDir(), "model")

	args := []string{"train", data, "--lm-size", "tiny", "--epochs", "1",
		"--episodes", "8", "--batch", "4", "--validation", "4", "--seed", "2"}
	code, stdout, stderr := runCmd(t, append(args, "--out", model, "--workers", "1")...)
	require.Equal(t, 0, code, "stderr: %s", stderr)

	// Issue 15 item 16: the same seed gives the same directory, byte for
	// byte (the LM, the predictor, the policy and its encoder included),
	// with another number of workers too.
	again := filepath.Join(t.TempDir(), "again")
	code, _, stderr = runCmd(t, append(args, "--out", again, "--workers", "2")...)
	require.Equal(t, 0, code, "stderr: %s", stderr)
	files, err := os.ReadDir(model)
	require.NoError(t, err)
	for _, f := range files {
		a, err := os.ReadFile(filepath.Join(model, f.Name()))
		require.NoError(t, err)
		b, err := os.ReadFile(filepath.Join(again, f.Name()))
		require.NoError(t, err, f.Name())
		assert.True(t, bytes.Equal(a, b), "%s differs between two trainings with seed 2", f.Name())
	}
	assert.Contains(t, stdout, "saved the model to "+model)
	assert.Contains(t, stderr, "training the general responder")
	_, err = os.Stat(model + ".lm.checkpoint")
	assert.True(t, os.IsNotExist(err), "the LM's checkpoint is removed once the model is saved")

	m, err := pmlm.ReadManifest(model)
	require.NoError(t, err)
	assert.Equal(t, llm.GenerativeKind, m.Parts[pmlm.PartResponder].Kind)
	assert.Equal(t, llm.ProviderLM, m.Responder.Provider)

	_, _, test := c.Split(cohort.DefaultSplit())
	require.NotEmpty(t, test)
	code, stdout, stderr = runCmd(t, "respond", model, data, "--patient", test[0].ID, "--json")
	require.Equal(t, 0, code, "stderr: %s", stderr)
	var a pmlm.Answer
	require.NoError(t, json.Unmarshal([]byte(stdout), &a))
	assert.Equal(t, llm.ProviderLM, a.Response.Provider, "respond answers with the LM the model embeds")
	assert.Equal(t, m.Responder.Model, a.Response.Model)
}

func TestTrainRejectsBadResponderFlags(t *testing.T) {
	data, _ := synthCohortDir(t, 6, 60)
	out := filepath.Join(t.TempDir(), "model")
	for name, args := range map[string][]string{
		"unknown responder": {"--responder", "gpt"},
		"lm with case":      {"--responder", "case", "--store-cases", "--lm", data},
		"unknown size":      {"--lm-size", "huge"},
		// Issue 15 item 17: the case responder's replies are stored only
		// by choice, and the choice goes with it only.
		"case without --store-cases": {"--responder", "case"},
		"--store-cases without case": {"--store-cases"},
	} {
		code, _, stderr := runCmd(t, append([]string{"train", data, "--out", out}, args...)...)
		assert.Equal(t, 2, code, "%s: %s", name, stderr)
		if name == "case without --store-cases" {
			assert.Contains(t, stderr, "verbatim doctor replies")
			assert.Contains(t, stderr, "pass --store-cases to store them")
		}
	}
	// An LM directory that does not exist is named in the error.
	missing := filepath.Join(t.TempDir(), "no-lm")
	code, _, stderr := runCmd(t, "train", data, "--out", out, "--lm", missing)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, missing)
	_, err := os.Stat(out)
	assert.True(t, os.IsNotExist(err))
}
