package cohort

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDigestSurvivesACSVRoundTrip(t *testing.T) {
	want := smallCohort()
	dir := t.TempDir()
	require.NoError(t, WriteDir(dir, want))
	got, _, err := ReadDir(dir, ReadOptions{})
	require.NoError(t, err)
	assert.Equal(t, want.Digest(), got.Digest())
	assert.Len(t, want.Digest(), 64)
}

func TestDigestSeesEveryChange(t *testing.T) {
	base := smallCohort().Digest()
	changes := map[string]func(c *Cohort){
		"value":          func(c *Cohort) { c.Patients[0].Visits[0].Values[0] = math.Nextafter(121, 200) },
		"missing value":  func(c *Cohort) { c.Patients[0].Visits[1].Values[1] = 88.2 },
		"visit date":     func(c *Cohort) { c.Patients[0].Visits[1].Date = date("2021-03-03") },
		"index date":     func(c *Cohort) { c.Patients[3].IndexDate = date("2020-12-02") },
		"label":          func(c *Cohort) { c.Patients[0].Label = LabelThalassemia },
		"response":       func(c *Cohort) { c.Patients[3].Response = "Normal!" },
		"patient ID":     func(c *Cohort) { c.Patients[1].ID = "p5" },
		"patient order":  func(c *Cohort) { c.Patients[0], c.Patients[3] = c.Patients[3], c.Patients[0] },
		"dropped visit":  func(c *Cohort) { c.Patients[1].Visits = c.Patients[1].Visits[:2] },
		"metric unit":    func(c *Cohort) { c.Metrics[0].Unit = "g/dL" },
		"label set":      func(c *Cohort) { c.Labels = c.Labels[:2] },
		"field boundary": func(c *Cohort) { c.Patients[0].ID, c.Patients[0].Label = "p1n", "ormal" },
		"response moved": func(c *Cohort) {
			c.Patients[0].Response, c.Patients[1].Response = c.Patients[1].Response, c.Patients[0].Response
		},
		"dropped patient": func(c *Cohort) { c.Patients = c.Patients[:3] },
	}
	for name, change := range changes {
		c := smallCohort()
		change(c)
		assert.NotEqual(t, base, c.Digest(), name)
	}
}

func TestDigestTreatsEveryNaNAsMissing(t *testing.T) {
	c := smallCohort()
	base := c.Digest()
	c.Patients[0].Visits[1].Values[1] = math.Float64frombits(0x7ff8dead00000001)
	require.True(t, IsMissing(c.Patients[0].Visits[1].Values[1]))
	assert.Equal(t, base, c.Digest())
}

// The digest is stored in LM manifests and keys the experiment's saved
// runs, so its encoding is a file format: this value, computed before the
// field writer moved to internal/fieldhash, must not change.
func TestDigestFormatIsStable(t *testing.T) {
	assert.Equal(t, "8720917c04e27faeb8440ecdb7ccfb1887ab3491b13c461c7a170bd39ad12ad0", smallCohort().Digest())
}
