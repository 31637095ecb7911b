package pmlm_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

// reversed returns the catalogue in reverse order and the patient with
// each visit's values reversed to follow it: the same data, described
// the other way round.
func reversed(metrics []cohort.Metric, pt *cohort.Patient) ([]cohort.Metric, *cohort.Patient) {
	rm := slices.Clone(metrics)
	slices.Reverse(rm)
	rp := *pt
	rp.Visits = nil
	for _, v := range pt.Visits {
		vals := slices.Clone(v.Values)
		slices.Reverse(vals)
		rp.Visits = append(rp.Visits, cohort.Visit{Date: v.Date, Values: vals})
	}
	return rm, &rp
}

// TestRespondMatchesMetricsByName answers test patients described with a
// reversed catalogue: with the catalogue given, the answers are the same
// as with the model's order; without it, the values are refused (out of
// range), never answered differently.
func TestRespondMatchesMetricsByName(t *testing.T) {
	p, c := trainedOrFail(t)
	ctx := context.Background()
	assert.Equal(t, c.Metrics, p.Catalogue())
	_, _, test := c.Split(cohort.DefaultSplit())
	require.NotEmpty(t, test)
	refused := 0
	defer func() { assert.Positive(t, refused, "reversed values fit no patient's ranges") }()
	for _, pt := range test[:min(8, len(test))] {
		want, err := p.Respond(ctx, pt, pmlm.RespondOptions{})
		require.NoError(t, err)
		rm, rp := reversed(c.Metrics, pt)
		got, err := p.Respond(ctx, rp, pmlm.RespondOptions{Metrics: rm})
		require.NoError(t, err)
		assert.Equal(t, noLatency(want), noLatency(got), pt.ID)

		// Positional values in the wrong order: a refusal or the same
		// answer (a patient whose reversed values all fit), never another.
		wrong, err := p.Respond(ctx, rp, pmlm.RespondOptions{})
		if err != nil {
			refused++
		}
		if err == nil {
			assert.Equal(t, noLatency(want), noLatency(wrong))
		} else {
			assert.ErrorIs(t, err, pmlm.ErrPatient)
		}
	}
}

func TestConformRejectsAndLenientSkips(t *testing.T) {
	p, c := trainedOrFail(t)
	ctx := context.Background()
	_, _, test := c.Split(cohort.DefaultSplit())
	base := test[0]
	hgb := slices.IndexFunc(c.Metrics, func(m cohort.Metric) bool { return m.Name == "HGB" })
	require.GreaterOrEqual(t, hgb, 0)

	clone := func() *cohort.Patient {
		cp := *base
		cp.Visits = nil
		for _, v := range base.Visits {
			cp.Visits = append(cp.Visits, cohort.Visit{Date: v.Date, Values: slices.Clone(v.Values)})
		}
		return &cp
	}
	problems := func(err error) []pmlm.Problem {
		var pe *pmlm.PatientError
		require.True(t, errors.As(err, &pe), "%v", err)
		return pe.Problems
	}

	t.Run("out of range", func(t *testing.T) {
		pt := clone()
		pt.Visits[0].Values[hgb] = 1e6
		_, err := p.Respond(ctx, pt, pmlm.RespondOptions{SkipFinal: true})
		require.ErrorIs(t, err, pmlm.ErrPatient)
		assert.ErrorContains(t, err, "HGB")
		assert.Equal(t, []pmlm.Problem{{Visit: 0, Metric: "HGB", Message: "value 1e+06 outside the physical range [30, 200] g/L"}}, problems(err))
		if len(pt.Visits) > 1 {
			a, err := p.Respond(ctx, pt, pmlm.RespondOptions{SkipFinal: true, Lenient: true})
			require.NoError(t, err)
			require.Len(t, a.Problems, 1)
			assert.Equal(t, "HGB", a.Problems[0].Metric)
			assert.Contains(t, a.Problems[0].Message, "visit skipped")
		}
	})
	t.Run("infinite", func(t *testing.T) {
		pt := clone()
		pt.Visits[0].Values[hgb] = posInf()
		_, err := p.CoarsePrompt(ctx, pt)
		require.ErrorIs(t, err, pmlm.ErrPatient)
		assert.ErrorContains(t, err, "HGB: value is not finite")
	})
	t.Run("too many visits", func(t *testing.T) {
		pt := clone()
		for len(pt.Visits) <= p.MaxVisits() {
			v := pt.Visits[len(pt.Visits)-1]
			pt.Visits = append(pt.Visits, cohort.Visit{Date: v.Date.Add(24 * time.Hour), Values: slices.Clone(v.Values)})
		}
		_, err := p.Respond(ctx, pt, pmlm.RespondOptions{SkipFinal: true})
		require.ErrorIs(t, err, pmlm.ErrPatient)
		assert.ErrorContains(t, err, "more than the model's maximum")
		got, probs, err := p.Conform(pt, pmlm.ConformOptions{Lenient: true})
		require.NoError(t, err)
		assert.Len(t, got.Visits, p.MaxVisits())
		assert.Equal(t, pt.Visits[len(pt.Visits)-1].Date, got.Visits[len(got.Visits)-1].Date, "the latest visits are kept")
		assert.Len(t, probs, 1)
	})
	t.Run("unknown and missing metrics", func(t *testing.T) {
		metrics := slices.Clone(c.Metrics)
		metrics[hgb].Name = "HGBX"
		_, err := p.Respond(ctx, base, pmlm.RespondOptions{SkipFinal: true, Metrics: metrics})
		require.ErrorIs(t, err, pmlm.ErrPatient)
		assert.ElementsMatch(t, []pmlm.Problem{
			{Visit: -1, Metric: "HGBX", Message: "metric unknown to the model"},
			{Visit: -1, Metric: "HGB", Message: "metric of the model missing"},
		}, problems(err))
		got, probs, err := p.Conform(base, pmlm.ConformOptions{Metrics: metrics, Lenient: true})
		require.NoError(t, err)
		assert.Len(t, probs, 2)
		for _, v := range got.Visits {
			assert.True(t, cohort.IsMissing(v.Values[hgb]))
		}
	})
	t.Run("wrong number of values", func(t *testing.T) {
		pt := clone()
		pt.Visits[0].Values = pt.Visits[0].Values[:3]
		_, err := p.Respond(ctx, pt, pmlm.RespondOptions{SkipFinal: true, Lenient: true})
		require.ErrorIs(t, err, pmlm.ErrPatient)
		assert.ErrorContains(t, err, "visit 0: 3 values for a catalogue of")
	})
	t.Run("no visits", func(t *testing.T) {
		pt := clone()
		pt.Visits = nil
		_, err := p.Respond(ctx, pt, pmlm.RespondOptions{})
		assert.ErrorIs(t, err, pmlm.ErrNoVisits)
	})
}

func posInf() float64 { return 1 / zero }

var zero = 0.0

// noLatency returns a copy of a without the responder's timing.
func noLatency(a *pmlm.Answer) *pmlm.Answer {
	c := *a
	c.Response.Latency = 0
	return &c
}
