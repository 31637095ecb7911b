package pmlm_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/prompt"
)

func TestOraclePrompts(t *testing.T) {
	text := "Patient: her predicted discharge diagnosis is uterine scar. Similar patients: the discharge diagnosis was normal for 5, uterine scar for 3, gestational diabetes for 2."
	coarse := pmlm.Coarse{PredictedLabel: "uterine scar", Prompt: text, Similar: []prompt.LabelCount{
		{Label: "normal", Count: 5}, {Label: "uterine scar", Count: 3}, {Label: "gestational diabetes", Count: 2}}}
	got := pmlm.OraclePrompts(coarse, "normal", 10)
	// First the wrong predicted label (both of its occurrences), then the
	// next wrong similar label; the true label's words stay.
	assert.Equal(t, []string{
		"Patient: her predicted discharge diagnosis is Similar patients: the discharge diagnosis was normal for 5, for 3, gestational diabetes for 2.",
		"Patient: her predicted discharge diagnosis is Similar patients: the discharge diagnosis was normal for 5, for 3, for 2.",
	}, got)
	// The budget caps the deletions.
	capped := pmlm.OraclePrompts(coarse, "normal", 3)
	require.Len(t, capped, 1)
	assert.Len(t, prompt.Words(capped[0]), len(prompt.Words(text))-3)
	// Nothing to delete when every label is the true one.
	assert.Empty(t, pmlm.OraclePrompts(pmlm.Coarse{PredictedLabel: "normal", Prompt: text}, "normal", 10))
	// DeletionPrompts follows the order given, once per diagnosis.
	assert.Equal(t, []string{
		"Patient: her predicted discharge diagnosis is uterine scar. Similar patients: the discharge diagnosis was normal for 5, uterine scar for 3, for 2.",
		"Patient: her predicted discharge diagnosis is uterine scar. Similar patients: the discharge diagnosis was for 5, uterine scar for 3, for 2.",
	}, pmlm.DeletionPrompts(coarse, []string{"gestational diabetes", "normal", "gestational diabetes", "thalassemia"}, 10))
	assert.Nil(t, pmlm.DeletionPrompts(coarse, []string{"thalassemia"}, 10))
}
