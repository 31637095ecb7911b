package experiment

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/pmlm"
)

func TestBootstrapMeanBracketsAKnownMean(t *testing.T) {
	// 400 values with mean exactly 1 and sample std about 2: the interval
	// is about ±1.96·2/√400 = ±0.2 around 1.
	rng := rand.New(rand.NewPCG(1, 2))
	vals := make([]float64, 400)
	var sum float64
	for i := range vals {
		vals[i] = 2 * rng.NormFloat64()
		sum += vals[i]
	}
	for i := range vals {
		vals[i] += 1 - sum/400
	}
	iv, err := BootstrapMean(vals, BootstrapOptions{Seed: 1})
	require.NoError(t, err)
	assert.Less(t, iv.Low, 1.0)
	assert.Greater(t, iv.High, 1.0)
	assert.InDelta(t, 0.4, iv.High-iv.Low, 0.08, "width ≈ 2·1.96·σ/√n")
	again, err := BootstrapMean(vals, BootstrapOptions{Seed: 1})
	require.NoError(t, err)
	assert.Equal(t, iv, again, "seeded")

	constant, err := BootstrapMean([]float64{3, 3, 3}, BootstrapOptions{})
	require.NoError(t, err)
	assert.Equal(t, Interval{3, 3}, constant)

	_, err = BootstrapMean(nil, BootstrapOptions{})
	require.ErrorIs(t, err, ErrConfig)
	_, err = BootstrapMean(vals, BootstrapOptions{Resamples: 5})
	require.ErrorIs(t, err, ErrConfig)
	_, err = BootstrapMean(vals, BootstrapOptions{Level: 1.5})
	require.ErrorIs(t, err, ErrConfig)
}

func TestBootstrapMeanCoverage(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("coverage: 300 intervals")
	}
	// Samples of 60 from N(0.5, 1): the 95 % percentile interval should
	// cover 0.5 about 95 % of the time (a little less for this n).
	rng := rand.New(rand.NewPCG(7, 7))
	const trials = 300
	covered := 0
	for trial := range trials {
		vals := make([]float64, 60)
		for i := range vals {
			vals[i] = 0.5 + rng.NormFloat64()
		}
		iv, err := BootstrapMean(vals, BootstrapOptions{Resamples: 1000, Seed: uint64(trial)})
		require.NoError(t, err)
		if iv.Low <= 0.5 && 0.5 <= iv.High {
			covered++
		}
	}
	share := float64(covered) / trials
	assert.Greater(t, share, 0.89)
	assert.Less(t, share, 0.99)
}

// scoresOf returns per-patient scores with BERTScore-F1 and ROUGE from f
// and BLEU statistics of a sentence of 10 words, m of them matching in
// every order.
func scoresOf(n int, f func(i int) float64, m int) []pmlm.PatientScore {
	out := make([]pmlm.PatientScore, n)
	for i := range out {
		v := f(i)
		out[i] = pmlm.PatientScore{ROUGE1: v, ROUGE2: v, ROUGEL: v, BERTScoreP: v, BERTScoreR: v, BERTScoreF: v,
			BLEU: pmlm.BLEUStats{Counts: []int{m, max(m-1, 0), max(m-2, 0), max(m-3, 0)}, Totals: []int{10, 9, 8, 7}, SysLen: 10, RefLen: 10}}
	}
	return out
}

func TestPairedDifference(t *testing.T) {
	const n = 200
	rng := rand.New(rand.NewPCG(3, 4))
	noise := make([]float64, n)
	for i := range noise {
		noise[i] = rng.NormFloat64()
	}
	// Two seeds; b is a shifted by +2 for every patient plus noise that
	// differs between patients, not seeds.
	a := [][]pmlm.PatientScore{scoresOf(n, func(i int) float64 { return 50 }, 5), scoresOf(n, func(i int) float64 { return 51 }, 5)}
	b := [][]pmlm.PatientScore{scoresOf(n, func(i int) float64 { return 52 + noise[i] }, 7), scoresOf(n, func(i int) float64 { return 53 + noise[i] }, 7)}
	var mean float64
	for _, x := range noise {
		mean += x / n
	}
	st, err := pairedDifference(b, a, BootstrapOptions{Seed: 1})
	require.NoError(t, err)
	require.Len(t, st, len(metricColumns))
	for c := 1; c < len(st); c++ {
		assert.InDelta(t, 2+mean, st[c].Mean, 1e-9, metricColumns[c])
		assert.Equal(t, 2, st[c].N)
		assert.Zero(t, st[c].Std, "the same shift in both seeds")
		assert.Equal(t, 2, st[c].Positive)
		require.NotNil(t, st[c].CI)
		assert.Less(t, st[c].CI.Low, 2+mean)
		assert.Greater(t, st[c].CI.High, 2+mean)
		assert.InDelta(t, 1.96/math.Sqrt(n), (st[c].CI.High-st[c].CI.Low)/2, 0.03, "half width ≈ 1.96·σ/√n")
	}
	// BLEU: every patient has the same statistics, so every resample has
	// the same corpus BLEU and the interval is a point.
	bleuA := pmlm.AggregateScores(a[0]).BLEU4
	bleuB := pmlm.AggregateScores(b[0]).BLEU4
	assert.Greater(t, bleuB, bleuA)
	assert.InDelta(t, bleuB-bleuA, st[0].Mean, 1e-9)
	assert.InDelta(t, st[0].Mean, st[0].CI.Low, 1e-9)
	assert.InDelta(t, st[0].Mean, st[0].CI.High, 1e-9)

	_, err = pairedDifference(a, b[:1], BootstrapOptions{})
	require.Error(t, err)
	_, err = pairedDifference(a, [][]pmlm.PatientScore{a[0], a[1][:3]}, BootstrapOptions{})
	require.Error(t, err)
}
