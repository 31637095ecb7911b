package pmlm

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

// The training digest is stored in model manifests (DataInfo.TrainingDigest)
// and compared when a loaded model's training patients are read back, so
// its encoding is a file format: this value, computed before the field
// writer moved to internal/fieldhash, must not change. The order of the
// patients given must not matter.
func TestTrainingDigestFormatIsStable(t *testing.T) {
	ps := []*cohort.Patient{
		{ID: "p2", Label: "normal", Response: "Rest."},
		{ID: "p1", Label: "thalassemia", Response: "Iron, not yet."},
	}
	k := newKeyer([]byte("salt"), 0, "")
	const want = "10ea83348db673d3be8c5c3814b7033daaaabfc5cf58d56a017901426d273a77"
	assert.Equal(t, want, trainingDigest(k, ps))
	assert.Equal(t, want, trainingDigest(k, []*cohort.Patient{ps[1], ps[0]}))
}
