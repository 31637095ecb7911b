package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/llm/lm"
	"github.com/pmlm-go/pmlm/llm/lm/corpus"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/synth"
)

// TestDemoPrintsItsPrompts runs the demo (with --bayes) on a small cohort with a tiny
// general responder trained beforehand (the demo's own takes minutes).
func TestDemoPrintsItsPrompts(t *testing.T) {
	if raceEnabled {
		t.Skip("trains the pipeline through a language model: minutes under the race detector; the pipeline's own tests run there")
	}
	opts := synth.DefaultOptions()
	opts.Seed, opts.Patients, opts.Visits = 1, 80, 0
	c, err := synth.Generate(opts)
	require.NoError(t, err)
	m, info, _, err := pmlm.TrainLM(context.Background(), c, pmlm.LMOptions{Seed: 1, Epochs: 1, Validation: -1,
		Config: lm.Config{Dim: 16, Heads: 2, Layers: 1, Hidden: 32, Context: 512, MaxPrompt: 192},
		Corpus: corpus.Options{LabPerIndicator: -1}})
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "lm")
	require.NoError(t, m.Save(dir, info))

	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"demo", "--patients", "80", "--epochs", "1", "--episodes", "4",
		"--validation", "4", "--lm", dir, "--bayes"}, &env{stdout: &stdout, stderr: &stderr})
	require.Equal(t, 0, code, "stderr: %s", stderr.String())
	out := stdout.String()
	for _, row := range []string{"general (no PMLM)", "coarse (PMLM, no refinement)", "refined (PMLM)", "refined (Bayes, beyond the paper)", "BERTScore-F1", "peak memory"} {
		assert.Contains(t, out, row)
	}
	code = run(context.Background(), []string{"demo", "--responder", "gpt"}, &env{stdout: &stdout, stderr: &stderr})
	assert.Equal(t, 1, code)
}
