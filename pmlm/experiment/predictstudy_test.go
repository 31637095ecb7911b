package experiment_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/experiment"
	"github.com/pmlm-go/pmlm/pmlm/predict"
	"github.com/pmlm-go/pmlm/pmlm/synth"
)

func TestComparePredictors(t *testing.T) {
	c, err := smallCohort()
	require.NoError(t, err)
	gbdt := func(seed uint64) (predict.Predictor, error) {
		return &predict.GBDTClassifier{Config: predict.GBDTConfig{Seed: seed, Rounds: 20}}, nil
	}
	val, st, err := experiment.ComparePredictors(context.Background(), c, cohort.DefaultSplit(), []string{"gbdt"},
		[]experiment.PredictorFactory{gbdt}, experiment.StudyOptions{Seeds: []uint64{1, 2}, Unlearnable: synth.UnlearnableLabels()})
	require.NoError(t, err)
	require.Len(t, st.Rows, 3)
	majority, ceiling, g := st.Rows[0], st.Rows[1], st.Rows[2]
	assert.True(t, majority.Reference)
	assert.True(t, ceiling.Reference)
	assert.False(t, g.Reference)
	assert.Equal(t, "gbdt", g.Name)
	assert.Equal(t, 2, g.MicroF1.N)
	require.Len(t, g.Pred, 2)
	assert.Len(t, g.Pred[0], len(st.Truth))
	assert.Len(t, g.PerLabelF1, len(c.Labels))
	assert.GreaterOrEqual(t, ceiling.MicroF1.Mean, majority.MicroF1.Mean)
	assert.Zero(t, ceiling.MicroF1.Std, "a reference row does not depend on the seed")

	// The ceiling is never wrong on a learnable label, so it is ahead of
	// the majority answer whenever the test split holds one.
	mi, ma, err := st.PairedF1(1, 0, experiment.BootstrapOptions{Seed: 1, Resamples: 200})
	require.NoError(t, err)
	assert.Equal(t, ceiling.MicroF1.Mean-majority.MicroF1.Mean, mi.Mean)
	require.NotNil(t, mi.CI)
	assert.LessOrEqual(t, mi.CI.Low, mi.Mean)
	assert.GreaterOrEqual(t, mi.CI.High, mi.Mean)
	assert.GreaterOrEqual(t, mi.CI.Low, 0.0)
	assert.InDelta(t, ceiling.MacroF1.Mean-majority.MacroF1.Mean, ma.Mean, 1e-9)

	// A row against itself differs by nothing.
	mi, ma, err = st.PairedF1(2, 2, experiment.BootstrapOptions{Seed: 1, Resamples: 50})
	require.NoError(t, err)
	assert.Zero(t, mi.Mean)
	assert.Equal(t, experiment.Interval{}, *mi.CI)
	assert.Equal(t, experiment.Interval{}, *ma.CI)

	_, valP, testP := c.Split(cohort.DefaultSplit())
	labelsOf := func(ps []*cohort.Patient) []int {
		var out []int
		for _, p := range ps {
			out = append(out, c.LabelIndex(p.Label))
		}
		return out
	}
	assert.Equal(t, labelsOf(testP), st.Truth)
	assert.Equal(t, "test", st.Split)
	require.NotNil(t, val)
	assert.Equal(t, "validation", val.Split)
	assert.Equal(t, labelsOf(valP), val.Truth)
	require.NotEqual(t, labelsOf(valP), labelsOf(testP), "the check above tells the splits apart")
	require.Len(t, val.Rows, 3)
	assert.Equal(t, "gbdt", val.Rows[2].Name)

	_, _, err = experiment.ComparePredictors(context.Background(), c, cohort.DefaultSplit(), nil, nil,
		experiment.StudyOptions{Unlearnable: []string{"no such label"}})
	require.ErrorContains(t, err, `"no such label"`)
}

// TestTwinReference compares a predictor with its own fit on the synthetic
// cohort's noise-free twin, patient by patient, and refuses a cohort that
// is not a twin.
func TestTwinReference(t *testing.T) {
	opts := synth.DefaultOptions()
	opts.Patients, opts.Visits, opts.Seed = 300, 0, 4
	noisy, err := synth.Generate(opts)
	require.NoError(t, err)
	opts.NoMeasurementNoise, opts.NoMissingValues = true, true
	clean, err := synth.Generate(opts)
	require.NoError(t, err)
	gbdt := func(seed uint64) (predict.Predictor, error) {
		return &predict.GBDTClassifier{Config: predict.GBDTConfig{Seed: seed, Rounds: 20}}, nil
	}
	study := func(c *cohort.Cohort) *experiment.PredictorStudy {
		_, st, err := experiment.ComparePredictors(context.Background(), c, cohort.DefaultSplit(), []string{"gbdt"},
			[]experiment.PredictorFactory{gbdt}, experiment.StudyOptions{Seeds: []uint64{1, 2}})
		require.NoError(t, err)
		return st
	}
	st, twin := study(noisy), study(clean)
	require.NoError(t, st.AddTwinReference(twin, 1, "noise-free learner (gbdt)"))
	require.Len(t, st.Rows, 3)
	ref := st.Rows[2]
	assert.True(t, ref.Reference)
	assert.Equal(t, "noise-free learner (gbdt)", ref.Name)
	assert.Equal(t, twin.Rows[1].MicroF1, ref.MicroF1)
	mi, _, err := st.PairedF1(1, 2, experiment.BootstrapOptions{Seed: 1, Resamples: 100})
	require.NoError(t, err)
	assert.InDelta(t, st.Rows[1].MicroF1.Mean-ref.MicroF1.Mean, mi.Mean, 1e-9)

	// Another seed of the generator is not a twin: other patients' labels.
	opts.Seed = 5
	other, err := synth.Generate(opts)
	require.NoError(t, err)
	st = study(noisy)
	err = st.AddTwinReference(study(other), 1, "x")
	require.ErrorIs(t, err, experiment.ErrConfig)
	assert.Contains(t, err.Error(), "twin cohort")
	require.ErrorIs(t, st.AddTwinReference(twin, 7, "x"), experiment.ErrConfig)
}
