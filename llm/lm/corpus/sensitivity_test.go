package corpus_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/llm/lm"
	"github.com/pmlm-go/pmlm/llm/lm/corpus"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/synth"
)

// TestTrainedResponderIsWordingSensitive trains a small general responder
// on the corpus of a small synthetic cohort and judges its replies with
// the keyword classifier: prompts that differ only in the diagnosis words
// must get replies about their own diagnosis, and deleting the dominant
// candidate of a differential must move the reply to the other one. To
// stay fast the replies are cut to their first sentence (the one that
// names the diagnosis), and the inputs come without context sentences and
// deletion noise.
func TestTrainedResponderIsWordingSensitive(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("trains a language model for about half a minute (ten times that under the race detector)")
	}
	opts := synth.DefaultOptions()
	opts.Seed, opts.Patients, opts.Visits = 3, 500, 0
	c, err := synth.Generate(opts)
	require.NoError(t, err)
	train, _, _ := c.Split(cohort.DefaultSplit())
	count := map[string]int{}
	cases := make([]corpus.Case, len(train))
	for i, p := range train {
		first, _, _ := strings.Cut(p.Response, ". ")
		cases[i] = corpus.Case{Label: p.Label, Reply: first + "."}
		count[p.Label]++
	}
	pairs, err := corpus.Build(cases, c.Labels, nil, corpus.Options{Seed: 1, LabPerIndicator: -1, Context: -1, Deletion: -1})
	require.NoError(t, err)
	var ex []lm.Example
	var texts []string
	for _, p := range pairs {
		ex = append(ex, lm.Example{Prompt: p.Input, Reply: p.Output})
		texts = append(texts, p.Input, p.Output)
	}
	vocab, err := lm.NewVocabulary(texts, 1)
	require.NoError(t, err)
	m, err := lm.New(lm.Config{Dim: 64, Heads: 4, Layers: 2, Hidden: 128, Context: 160, MaxPrompt: 120}, vocab, 1)
	require.NoError(t, err)
	_, err = lm.Train(context.Background(), m, ex, lm.TrainOptions{Seed: 1, Epochs: 14, BatchSize: 16, LearningRate: 3e-3})
	require.NoError(t, err)

	var frequent []string
	for _, l := range c.Labels {
		if count[l] >= 10 {
			frequent = append(frequent, l)
		}
	}
	require.GreaterOrEqual(t, len(frequent), 4)
	ask := func(prompt string) string {
		g, err := m.Generate(context.Background(), prompt, lm.GenerateOptions{MaxTokens: 40})
		require.NoError(t, err)
		d, _ := corpus.ReplyDiagnosis(g.Text, c.Labels)
		return d
	}
	// Single diagnoses: only the diagnosis words differ.
	right, total := 0, 0
	for _, l := range frequent {
		for _, tmpl := range []string{"Discharge diagnosis: %s.", "The patient was diagnosed with %s. Please write her discharge advice."} {
			total++
			if ask(fmt.Sprintf(tmpl, l)) == l {
				right++
			}
		}
	}
	t.Logf("singles: %d of %d prompts answered about their diagnosis", right, total)
	assert.GreaterOrEqual(t, float64(right)/float64(total), 0.9, "%d of %d single prompts answered about their diagnosis", right, total)

	// Differentials: the dominant candidate decides; deleting its words
	// hands the reply to the other candidate.
	right, total = 0, 0
	for i, a := range frequent {
		for _, b := range frequent[i+1:] {
			full := fmt.Sprintf("%s in 8 of 10 comparable cases, %s in 2.", a, b)
			deleted := strings.TrimPrefix(full, a+" in 8")
			total += 2
			if ask(full) == a {
				right++
			}
			if ask(deleted) == b {
				right++
			}
		}
	}
	t.Logf("differentials: %d of %d prompts answered about the dominant (or, after deletion, the remaining) diagnosis", right, total)
	assert.GreaterOrEqual(t, float64(right)/float64(total), 0.8, "%d of %d differential prompts answered about the dominant diagnosis", right, total)
}
