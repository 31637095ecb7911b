package cohort

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func date(s string) time.Time {
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestDefaultSplitBoundaries(t *testing.T) {
	b := DefaultSplit()
	require.NoError(t, b.Validate())
	assert.Equal(t, SplitTrain, b.Of(date("2020-11-03")))
	assert.Equal(t, SplitTrain, b.Of(date("2021-12-31")))
	assert.Equal(t, SplitTrain, b.Of(time.Date(2021, 12, 31, 23, 59, 0, 0, time.UTC)), "the bound is a whole day")
	assert.Equal(t, SplitValidation, b.Of(date("2022-01-01")))
	assert.Equal(t, SplitValidation, b.Of(date("2022-06-30")))
	assert.Equal(t, SplitTest, b.Of(date("2022-07-01")))
	assert.Equal(t, "validation", SplitValidation.String())
}

func TestSplitPartitionsPatients(t *testing.T) {
	c := NewObstetricCohort()
	for i, d := range []string{"2021-05-01", "2022-03-01", "2022-09-01", "2020-12-01"} {
		c.Patients = append(c.Patients, Patient{ID: string(rune('a' + i)), IndexDate: date(d)})
	}
	train, val, test := c.Split(DefaultSplit())
	require.Len(t, train, 2)
	require.Len(t, val, 1)
	require.Len(t, test, 1)
	assert.Equal(t, "a", train[0].ID)
	assert.Equal(t, "d", train[1].ID)
	assert.Equal(t, "b", val[0].ID)
	assert.Equal(t, "c", test[0].ID)

	bad := SplitBoundaries{TrainEnd: date("2022-01-01"), ValidationEnd: date("2021-01-01")}
	assert.Error(t, bad.Validate())
}

func TestObstetricCatalogue(t *testing.T) {
	c := NewObstetricCohort()
	assert.Len(t, c.Metrics, 35)
	assert.Len(t, c.Labels, 12)
	seen := map[string]bool{}
	for _, m := range c.Metrics {
		assert.False(t, seen[m.Name], "duplicate metric %s", m.Name)
		seen[m.Name] = true
		assert.Less(t, m.Min, m.Max, m.Name)
	}
	assert.Equal(t, 32, c.MetricIndex("HGB"))
	assert.Equal(t, -1, c.MetricIndex("nope"))
	assert.Equal(t, 5, c.LabelIndex(LabelThalassemia))
	assert.True(t, IsMissing(Missing()))
	assert.False(t, IsMissing(0))
}
