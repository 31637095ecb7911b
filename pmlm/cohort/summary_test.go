package cohort

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSummarize(t *testing.T) {
	c := smallCohort()
	c.Patients = append(c.Patients, Patient{ID: "p5", IndexDate: date("2022-01-01"), Label: "not in the set",
		Visits: []Visit{{Date: date("2021-12-01"), Values: []float64{Missing(), Missing(), 100}}}})
	s := c.Summarize(DefaultSplit())

	assert.Equal(t, 5, s.Patients)
	assert.Equal(t, 8, s.Visits)
	assert.Equal(t, 3, s.MaxVisits)
	assert.Equal(t, 3, s.Metrics)
	assert.Equal(t, 3, s.Labels)
	// p1 2021-06-30 and p4 2020-12-01 train; p2 2022-03-15 and p5 2022-01-01
	// validation; p3 2022-09-01 test.
	assert.Equal(t, [3]int{2, 2, 1}, [3]int{s.Train, s.Validation, s.Test})
	assert.Equal(t, []LabelFrequency{
		{LabelNormal, 2}, {LabelThalassemia, 1}, {LabelGestationalDiabetes, 1}, {"not in the set", 1},
	}, s.LabelCounts)
	// HGB is missing in p2's third visit and p5's visit; MCV in p1's second,
	// p2's third and p5's; PLT in p2's first.
	require.Len(t, s.Missing, 3)
	assert.Equal(t, MetricMissing{Metric: "HGB", Missing: 2, Percent: 25}, s.Missing[0])
	assert.Equal(t, MetricMissing{Metric: "MCV", Missing: 3, Percent: 37.5}, s.Missing[1])
	assert.Equal(t, MetricMissing{Metric: "PLT", Missing: 1, Percent: 12.5}, s.Missing[2])

	var buf bytes.Buffer
	require.NoError(t, s.WriteText(&buf))
	out := buf.String()
	assert.Regexp(t, `(?m)^patients +5$`, out)
	assert.Regexp(t, `(?m)^visits +8$`, out)
	assert.Regexp(t, `(?m)^max visits per patient +3$`, out)
	assert.Regexp(t, `(?m)^validation \(to 2022-06-30\) +2$`, out)
	assert.Regexp(t, `(?m)^thalassemia +1$`, out)
	assert.Regexp(t, `(?m)^MCV +37\.5% +\(3 of 8 visits\)$`, out)
}

func TestSummarizeEmptyCohort(t *testing.T) {
	s := NewObstetricCohort().Summarize(DefaultSplit())
	assert.Equal(t, 0, s.Visits)
	assert.Len(t, s.Missing, 35)
	assert.Zero(t, s.Missing[0].Percent)
	var buf bytes.Buffer
	require.NoError(t, s.WriteText(&buf))
}
