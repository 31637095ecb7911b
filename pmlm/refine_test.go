package pmlm_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

// TestEditActionsTrainSaveAndLoad trains with replace and with insert
// actions and an entropy bonus: a replacement puts a similar patient's
// label in the predicted label's place, an insertion adds one after it
// ("X or Y"); the trainer reports its epochs, and a saved model refines
// the same way after loading (the manifest keeps the actions).
func TestEditActionsTrainSaveAndLoad(t *testing.T) {
	for _, actions := range []string{pmlm.ActionsReplace, pmlm.ActionsInsert} {
		t.Run(actions, func(t *testing.T) { testEditActions(t, actions) })
	}
}

func testEditActions(t *testing.T, actions string) {
	_, c := trainedOrFail(t)
	_, _, test := c.Split(cohort.DefaultSplit())
	ctx := context.Background()
	opts := tinyTraining(7)
	opts.Actions, opts.EntropyBonus, opts.BaselineDecay = actions, 0.01, 0.9
	opts.OracleValidation = true
	p, err := pmlm.Train(ctx, c, opts)
	require.NoError(t, err)
	assert.Equal(t, actions, p.Actions())
	sum := p.TrainingReport()
	require.NotEmpty(t, sum.Epochs)
	assert.Equal(t, sum.EpochMeanReward[0], sum.Epochs[0].MeanReward)
	assert.Positive(t, sum.Epochs[0].Entropy)
	assert.Equal(t, opts.MaxValidation, sum.OraclePatients)
	assert.GreaterOrEqual(t, sum.OracleGain, 0.0, "the oracle keeps the coarse prompt when its deletions lose")

	dir := filepath.Join(t.TempDir(), "m")
	require.NoError(t, p.Save(dir))
	m, err := pmlm.ReadManifest(dir)
	require.NoError(t, err)
	assert.Equal(t, actions, m.Actions)
	q, err := pmlm.Load(ctx, dir, pmlm.LoadOptions{})
	require.NoError(t, err)
	assert.Equal(t, actions, q.Actions())

	replaced := 0
	for _, pt := range test {
		a, err := p.Respond(ctx, pt, pmlm.RespondOptions{SkipFinal: true})
		require.NoError(t, err)
		b, err := q.Respond(ctx, pt, pmlm.RespondOptions{SkipFinal: true})
		require.NoError(t, err)
		assert.Equal(t, a.Final, b.Final, "the loaded model refines the same way")
		for j, d := range a.Deletions {
			if d.Replacement == "" {
				continue
			}
			replaced++
			assert.Equal(t, a.PredictedLabel, trimPunct(d.Word))
			var others []string
			for _, s := range a.Similar {
				others = append(others, s.Label)
			}
			added := trimPunct(d.Replacement)
			if actions == pmlm.ActionsInsert {
				var ok bool
				added, ok = strings.CutPrefix(added, a.PredictedLabel+" or ")
				assert.True(t, ok, "%q keeps the predicted label and adds another after \"or\"", d.Replacement)
			}
			assert.Contains(t, others, added, "a similar patient's label")
			assert.NotEqual(t, a.PredictedLabel, added)
			// A later step may delete a word of the replacement (e.g.
			// "acute" of "acute fetal distress, heart-rate type"); the
			// rest of it stays.
			later := map[string]bool{}
			for _, e := range a.Deletions[j+1:] {
				later[trimPunct(e.Word)] = true
			}
			for _, w := range strings.Fields(d.Replacement) {
				if !later[trimPunct(w)] {
					assert.Contains(t, a.Final, w)
				}
			}
		}
	}
	t.Logf("%s: %d of %d test prompts had their predicted label edited; %.0f %% of the training episodes of epoch 1",
		actions, replaced, len(test), 100*sum.Epochs[0].Replaced)
	assert.Positive(t, sum.Epochs[0].Replaced, "training episodes take edit actions")
	if actions == pmlm.ActionsReplace {
		assert.Positive(t, replaced, "the greedy policy replaces somewhere")
	}
}

// Deletion-only models keep the manifest older versions wrote.
func TestDeleteOnlyManifestHasNoActions(t *testing.T) {
	plain, _ := trainedOrFail(t)
	dir := filepath.Join(t.TempDir(), "plain")
	require.NoError(t, plain.Save(dir))
	raw, err := os.ReadFile(filepath.Join(dir, pmlm.ManifestFile))
	require.NoError(t, err)
	var fields map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &fields))
	assert.NotContains(t, fields, "actions")
	assert.Equal(t, pmlm.ActionsDelete, plain.Actions())
}

func TestUnknownActionsAreRefused(t *testing.T) {
	_, c := trainedOrFail(t)
	opts := tinyTraining(7)
	opts.Actions = "swap"
	_, err := pmlm.Train(context.Background(), c, opts)
	require.ErrorIs(t, err, pmlm.ErrOptions)
	assert.ErrorContains(t, err, `"swap"`)
}

func trimPunct(s string) string {
	for len(s) > 0 && slices.Contains([]byte(",.;:"), s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}
