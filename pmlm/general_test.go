package pmlm_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/prompt"
)

func TestLabSeries(t *testing.T) {
	metrics := []cohort.Metric{{Name: "HGB", Unit: "g/L", Min: 30, Max: 200}, {Name: "pH", Min: 4.5, Max: 9}}
	day := func(d int) time.Time { return time.Date(2021, 3, 1+d, 0, 0, 0, 0, time.UTC) }
	p := &cohort.Patient{ID: "P-SECRET", Visits: []cohort.Visit{
		{Date: day(0), Values: []float64{120, cohort.Missing()}},
		{Date: day(14), Values: []float64{112, 6.5}},
	}}
	s := pmlm.LabSeries(metrics, p)
	require.Len(t, s, 2)
	assert.Equal(t, prompt.Series{Name: "HGB", Unit: "g/L", Days: []float64{0, 14}, Values: []float64{120, 112}}, s[0])
	assert.True(t, cohort.IsMissing(s[1].Values[0]))

	g, err := pmlm.GeneralPrompt(metrics, p, prompt.HistoryOptions{})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(g, prompt.TaskOnly()))
	assert.Contains(t, g, "HGB 120 → 112 g/L (falling; 2 values)")
	assert.Contains(t, g, "pH 6.5 (1 value)")
	assert.NotContains(t, g, "P-SECRET", "no identifier")
}

func TestGeneralPromptOnSyntheticCohort(t *testing.T) {
	c, err := smallCohort()
	require.NoError(t, err)
	for _, p := range c.Patients[:20] {
		g, err := pmlm.GeneralPrompt(c.Metrics, &p, prompt.HistoryOptions{})
		require.NoError(t, err)
		short, err := pmlm.GeneralPrompt(c.Metrics, &p, prompt.HistoryOptions{Only: pmlm.KeyObstetricIndicators(), Brief: true})
		require.NoError(t, err, "every key indicator is in the catalogue")
		assert.Less(t, len(strings.Fields(short)), len(strings.Fields(g))/3)
		assert.NotContains(t, g, p.ID)
		words := len(strings.Fields(g))
		assert.Less(t, words, 600, "a few hundred words, not every value")
		assert.Greater(t, words, 30)
	}
}
