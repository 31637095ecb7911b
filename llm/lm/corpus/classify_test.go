package corpus

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestReplyDiagnosis(t *testing.T) {
	labels := []string{"normal", "acute fetal distress", "acute fetal distress, heart-rate type", "thalassemia"}
	for reply, want := range map[string]string{
		"Discharge diagnosis: thalassemia. Your haemoglobin was normal.":              "thalassemia",
		"Diagnosis at discharge: normal pregnancy and delivery, no complications.":    "normal",
		"Final diagnosis: Acute fetal distress, heart-rate type. The baby was fine.":  "acute fetal distress, heart-rate type",
		"Final diagnosis: acute fetal distress. Nothing about thalassemia or normal.": "acute fetal distress",
	} {
		got, ok := ReplyDiagnosis(reply, labels)
		assert.True(t, ok, reply)
		assert.Equal(t, want, got, reply)
	}
	_, ok := ReplyDiagnosis("Rest and eat well.", labels)
	assert.False(t, ok)
	_, ok = ReplyDiagnosis("normal", []string{"", "  "})
	assert.False(t, ok)
}
