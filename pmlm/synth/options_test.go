package synth

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

// sameCohort compares two cohorts value by value (NaN equals NaN).
func sameCohort(a, b *cohort.Cohort) bool {
	if len(a.Patients) != len(b.Patients) {
		return false
	}
	for i := range a.Patients {
		p, q := &a.Patients[i], &b.Patients[i]
		if p.ID != q.ID || p.Label != q.Label || p.Response != q.Response || !p.IndexDate.Equal(q.IndexDate) ||
			len(p.Visits) != len(q.Visits) {
			return false
		}
		for k := range p.Visits {
			if !p.Visits[k].Date.Equal(q.Visits[k].Date) {
				return false
			}
			for m, x := range p.Visits[k].Values {
				if math.Float64bits(x) != math.Float64bits(q.Visits[k].Values[m]) {
					return false
				}
			}
		}
	}
	return true
}

func TestDeterministic(t *testing.T) {
	gen := func(seed uint64) *cohort.Cohort {
		c, err := Generate(Options{Seed: seed, Patients: 120})
		require.NoError(t, err)
		return c
	}
	a, b, other := gen(5), gen(5), gen(6)
	assert.True(t, sameCohort(a, b), "same seed, same cohort")
	assert.False(t, sameCohort(a, other), "different seed, different cohort")
}

func TestSmallCohort(t *testing.T) {
	c, facts, err := GenerateDetailed(Options{Seed: 11, Patients: 120})
	require.NoError(t, err)
	require.Len(t, c.Patients, 120)
	assert.Len(t, facts, 120)
	assert.Equal(t, int(math.Round(120*38817.0/2373)), c.NumVisits())
	assert.Equal(t, 45, c.MaxVisits())

	counts := map[string]int{}
	for _, p := range c.Patients {
		counts[p.Label]++
	}
	// Proportional to the spec's counts: normal 941/2373 of 120 ≈ 47.6.
	assert.InDelta(t, 48, counts[cohort.LabelNormal], 1)
	assert.InDelta(t, 24, counts[cohort.LabelUterineScar], 1)
	assert.InDelta(t, 5, counts[cohort.LabelThalassemia], 1)
	train, val, test := c.Split(cohort.DefaultSplit())
	assert.NotEmpty(t, train)
	assert.NotEmpty(t, val)
	assert.NotEmpty(t, test)
}

func TestLabelCountsScale(t *testing.T) {
	for _, n := range []int{1, 2, 12, 50, 500, 2373, 10000} {
		counts := labelCounts(n, defaultThalassemiaShare)
		sum := 0
		for l, k := range counts {
			sum += k
			exact := float64(n) * float64(labelSpecs[l].count) / 2373
			assert.InDelta(t, exact, float64(k), 1.01, "n=%d label %s", n, labelSpecs[l].name)
		}
		assert.Equal(t, n, sum, "n=%d", n)
	}
}

func TestThalassemiaRegionKnob(t *testing.T) {
	opts := DefaultOptions()
	opts.Patients, opts.Visits, opts.ThalassemiaShare = 400, 0, 0.15
	c, err := Generate(opts)
	require.NoError(t, err)
	n := len(byLabel(c, cohort.LabelThalassemia))
	assert.Equal(t, 60, n)
	// The others keep their order: normal is still the largest class.
	assert.Greater(t, len(byLabel(c, cohort.LabelNormal)), len(byLabel(c, cohort.LabelUterineScar)))
}

func TestInformativeMissingnessKnob(t *testing.T) {
	liverShare := func(mult float64) float64 {
		opts := Options{Seed: 3, Patients: 1000, InformativeMissingness: mult, ThalassemiaShare: 0.01}
		c, facts, err := GenerateDetailed(opts)
		require.NoError(t, err)
		var n, liver float64
		for i, p := range c.Patients {
			if p.Label != cohort.LabelGestationalHyper && !facts[i].ICP {
				continue
			}
			for k, v := range p.Visits {
				if facts[i].Setting[k] == Outpatient {
					n++
					if !cohort.IsMissing(v.Values[mALB]) {
						liver++
					}
				}
			}
		}
		return liver / n
	}
	off, on := liverShare(1), liverShare(2)
	assert.Greater(t, on, off*1.4, "knob raises the liver-panel rate (%.2f → %.2f)", off, on)
}

func TestOptionErrors(t *testing.T) {
	for _, o := range []Options{
		{Patients: -1},
		{Patients: 10, Visits: 19},   // fewer than 2 per patient
		{Patients: 10, Visits: 451},  // more than 45 per patient
		{Patients: 10, MaxVisits: 1}, // the delivery admission alone needs 2
		{ThalassemiaShare: 0.9},      // beyond the knob's range
		{InformativeMissingness: -1}, // negative rate factor
		{Patients: 10, InformativeMissingness: 3},
	} {
		_, err := Generate(o)
		assert.ErrorIs(t, err, ErrOptions, "%+v", o)
	}
}

func TestTinyCohorts(t *testing.T) {
	for _, n := range []int{1, 2, 3} {
		c, err := Generate(Options{Seed: 1, Patients: n, Visits: 45 + 3*(n-1)})
		require.NoError(t, err, "n=%d", n)
		assert.Len(t, c.Patients, n)
		assert.Equal(t, 45, c.MaxVisits(), "n=%d", n)
		// Default visits: about 16 per patient, too few for one at 45.
		c, err = Generate(Options{Seed: 1, Patients: n})
		require.NoError(t, err, "n=%d", n)
		assert.Equal(t, int(math.Round(float64(n)*38817/2373)), c.NumVisits())
	}
}

// TestNoiseFree checks that the cohorts without noise and gaps are twins
// of the noisy one of the same seed: the same patients, labels, visit dates
// and responses; every value present without gaps, the noisy cohort's gaps
// without noise only; values that differ by the noise alone.
func TestNoiseFree(t *testing.T) {
	opts := DefaultOptions()
	opts.Patients, opts.Visits, opts.Seed = 150, 0, 3
	noisy, err := Generate(opts)
	require.NoError(t, err)
	opts.NoMeasurementNoise, opts.NoMissingValues = true, true
	clean, err := Generate(opts)
	require.NoError(t, err)
	opts.NoMissingValues = false
	quiet, err := Generate(opts)
	require.NoError(t, err)
	opts.NoMeasurementNoise, opts.NoMissingValues = false, true
	full, err := Generate(opts)
	require.NoError(t, err)
	require.Len(t, clean.Patients, len(noisy.Patients))
	missingNoisy, close, observed, changed := 0, 0, 0, 0
	for i := range clean.Patients {
		a := &noisy.Patients[i]
		for _, b := range []*cohort.Patient{&clean.Patients[i], &quiet.Patients[i], &full.Patients[i]} {
			require.Equal(t, a.ID, b.ID)
			require.Equal(t, a.Label, b.Label)
			require.Equal(t, a.IndexDate, b.IndexDate)
			require.Equal(t, a.Response, b.Response, "patient %s: the response is written from the noisy values", a.ID)
			require.Equal(t, len(a.Visits), len(b.Visits))
		}
		for k := range a.Visits {
			require.Equal(t, a.Visits[k].Date, clean.Patients[i].Visits[k].Date)
			for m, w := range a.Visits[k].Values {
				v, q, f := clean.Patients[i].Visits[k].Values[m], quiet.Patients[i].Visits[k].Values[m], full.Patients[i].Visits[k].Values[m]
				require.False(t, math.IsNaN(v), "patient %s, visit %d, metric %d is missing", a.ID, k, m)
				require.False(t, math.IsNaN(f))
				require.Equal(t, math.IsNaN(w), math.IsNaN(q), "without noise only, the gaps are the noisy cohort's")
				if math.IsNaN(w) {
					missingNoisy++
					continue
				}
				assert.Equal(t, w, f, "without gaps only, the observed values are the noisy cohort's")
				assert.Equal(t, v, q, "the noise-free values do not depend on the gaps")
				observed++
				if math.Abs(v-w) <= 0.1*math.Max(math.Abs(w), 1) {
					close++
				}
				if v != w {
					changed++
				}
			}
		}
	}
	assert.Positive(t, missingNoisy)
	require.Positive(t, observed)
	assert.Greater(t, float64(close)/float64(observed), 0.95, "values differ by the noise only")
	assert.Greater(t, float64(changed)/float64(observed), 0.5, "the noise is gone")
}
