package pmlm

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/pmlm/prompt"
)

// TestReplacementForEachActionSet: replace offers the similar patients'
// other labels in the predicted label's place, insert offers the label
// followed by "or" and one of them, delete offers nothing.
func TestReplacementForEachActionSet(t *testing.T) {
	c := Coarse{
		PredictedLabel: "gestational diabetes",
		Similar:        []prompt.LabelCount{{Label: "gestational diabetes", Count: 5}, {Label: "anemia", Count: 3}, {Label: "normal", Count: 2}},
		Prompt:         "Patient: her predicted discharge diagnosis is gestational diabetes. Similar patients: ...",
	}
	for actions, want := range map[string][]string{
		ActionsReplace: {"anemia", "normal"},
		ActionsInsert:  {"gestational diabetes or anemia", "gestational diabetes or normal"},
	} {
		r := (&Pipeline{actions: actions}).replacementFor(c)
		require.NotNil(t, r, actions)
		assert.Equal(t, [2]int{6, 8}, [2]int{r.From, r.To}, "%s: the label's words", actions)
		assert.Equal(t, want, r.Candidates, actions)
	}
	assert.Nil(t, (&Pipeline{actions: ActionsDelete}).replacementFor(c))
}
