package predict

import (
	"bytes"
	"context"
	"encoding/gob"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/pmlm-go/pmlm/internal/stats"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// levelSeries makes series whose label is carried by the level of channel
// 1 (class c has mean 2c) while channel 0 is noise and channel 2 is
// missing half of the time; lengths vary from 3 to 12.
func levelSeries(rng *rand.Rand, n, classes int) ([][][]float64, []int) {
	series := make([][][]float64, n)
	labels := make([]int, n)
	for i := range series {
		c := i % classes
		labels[i] = c
		s := make([][]float64, 3+rng.IntN(10))
		for t := range s {
			s[t] = []float64{rng.NormFloat64(), 2*float64(c) + 0.5*rng.NormFloat64(), math.NaN()}
			if rng.IntN(2) == 0 {
				s[t][2] = rng.NormFloat64()
			}
		}
		series[i] = s
	}
	return series, labels
}

func accuracyOf(t *testing.T, p Predictor, series [][][]float64, labels []int) float64 {
	t.Helper()
	pred, err := PredictAll(context.Background(), p, series)
	require.NoError(t, err)
	return accuracy(pred, labels)
}

// TestGBDTLearnsLevels checks that the boosted trees read a level that the
// label depends on, from held-out series, and that the importances name the
// channel that carries it.
func TestGBDTLearnsLevels(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	train, trainY := levelSeries(rng, 300, 3)
	test, testY := levelSeries(rng, 150, 3)
	m := &GBDTClassifier{Config: GBDTConfig{Seed: 1}, Channels: []string{"noise", "level", "sparse"}}
	require.NoError(t, m.Fit(context.Background(), train, trainY, 3))
	assert.Greater(t, accuracyOf(t, m, test, testY), 0.95)
	imp := m.FeatureImportances()
	require.Len(t, imp, 3*len(DefaultSummaryStats())+1)
	assert.Contains(t, imp[0].Feature, "level.")
	total := 0.0
	for _, f := range imp {
		total += f.Share
	}
	assert.InDelta(t, 1, total, 1e-9)
	assert.Positive(t, m.Model().BestRounds)
	assert.NotEmpty(t, m.Model().ValidLoss, "early stopping records the held-out loss")
}

// TestGBDTNoSignal checks that on labels independent of the series the
// trees stay near the class prior: early stopping ends boosting early.
func TestGBDTNoSignal(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	series, _ := levelSeries(rng, 300, 3)
	labels := make([]int, len(series))
	for i := range labels {
		labels[i] = rng.IntN(3)
	}
	m := &GBDTClassifier{Config: GBDTConfig{Seed: 1, Rounds: 400}}
	require.NoError(t, m.Fit(context.Background(), series, labels, 3))
	assert.Less(t, m.Model().BestRounds, 200)
}

// TestGBDTSeeded checks that one seed gives one model and that the fit
// does not depend on the number of workers.
func TestGBDTSeeded(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	series, labels := levelSeries(rng, 120, 3)
	fit := func(seed uint64, workers int) *GBDT {
		m := &GBDTClassifier{Config: GBDTConfig{Seed: seed, Rounds: 30, Workers: workers}}
		require.NoError(t, m.Fit(context.Background(), series, labels, 3))
		return m.Model()
	}
	a := fit(7, 1)
	assert.Equal(t, a, fit(7, 3))
	assert.NotEqual(t, a.Trees, fit(8, 1).Trees)
}

// TestGBDTMissingSide checks that a split can send missing values to
// either side: the label is 1 exactly when feature 0 is missing.
func TestGBDTMissingSide(t *testing.T) {
	var x [][]float64
	var y []int
	for i := range 200 {
		v := float64(i % 17)
		if i%2 == 1 {
			v = math.NaN()
		}
		x = append(x, []float64{v})
		y = append(y, i%2)
	}
	g, err := FitGBDT(context.Background(), x, y, 2, GBDTConfig{Seed: 1, Rounds: 50, ValidationShare: -1, FeatureFraction: 1})
	require.NoError(t, err)
	assert.Equal(t, 50, g.BestRounds)
	for _, v := range []float64{math.NaN(), 0, 5, 16, 100} {
		want := 0
		if math.IsNaN(v) {
			want = 1
		}
		s := g.Decision([]float64{v})
		assert.Equal(t, want, stats.Argmax(s), "x=%v scores %v", v, s)
	}
}

func TestGBDTBadInput(t *testing.T) {
	ctx := context.Background()
	_, err := FitGBDT(ctx, [][]float64{{1}, {math.Inf(1)}}, []int{0, 1}, 2, GBDTConfig{})
	require.ErrorContains(t, err, "example 1, feature 0: infinite")
	_, err = FitGBDT(ctx, [][]float64{{1}, {2, 3}}, []int{0, 1}, 2, GBDTConfig{})
	require.ErrorContains(t, err, "example 1 has 2 features")
	_, err = FitGBDT(ctx, [][]float64{{1}, {2}}, []int{0, 2}, 2, GBDTConfig{})
	require.ErrorContains(t, err, "label 2 of example 1")
	_, err = FitGBDT(ctx, [][]float64{{1}, {2}}, []int{0, 1}, 2, GBDTConfig{Bins: 300})
	require.ErrorContains(t, err, "300 bins")
	m := &GBDTClassifier{}
	_, err = m.Predict(ctx, [][]float64{{1}})
	require.ErrorIs(t, err, ErrNotFitted)
	require.Error(t, m.Fit(ctx, [][][]float64{{{1, 2}}, {{1}}}, []int{0, 1}, 2))
}

// TestGBDTSaveLoad checks that a loaded model predicts exactly as the
// original and that damaged files are refused.
func TestGBDTSaveLoad(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	series, labels := levelSeries(rng, 90, 3)
	m := &GBDTClassifier{Config: GBDTConfig{Seed: 2, Rounds: 20}}
	var buf bytes.Buffer
	require.ErrorIs(t, m.Save(&buf), ErrNotFitted)
	require.NoError(t, m.Fit(context.Background(), series, labels, 3))
	require.NoError(t, m.Save(&buf))
	got, err := LoadGBDT(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	assert.Equal(t, KindGBDT, got.Kind())
	want, err := m.PredictBatch(context.Background(), series)
	require.NoError(t, err)
	have, err := got.PredictBatch(context.Background(), series)
	require.NoError(t, err)
	assert.Equal(t, want, have)

	_, err = LoadGBDT(bytes.NewReader(buf.Bytes()[:buf.Len()/2]))
	require.Error(t, err)
	// A tree whose child points back at its parent would loop forever.
	var gm gbdtModel
	require.NoError(t, gob.NewDecoder(bytes.NewReader(buf.Bytes())).Decode(&gm))
	tr := &gm.Model.Trees[0][0]
	require.Positive(t, tr.Feature[0]+1, "the first tree splits")
	tr.Left[0] = 0
	var bad bytes.Buffer
	require.NoError(t, gob.NewEncoder(&bad).Encode(gm))
	_, err = LoadGBDT(&bad)
	require.ErrorContains(t, err, "bad split")
}

func TestSummaryFeatures(t *testing.T) {
	nan := math.NaN()
	s := [][]float64{{1, nan}, {nan, nan}, {3, 5}, {5, nan}}
	f, err := SummaryFeatures(s, 2, DefaultSummaryStats())
	require.NoError(t, err)
	names := SummaryFeatureNames([]string{"a", "b"}, 2, DefaultSummaryStats())
	got := map[string]float64{}
	for i, n := range names {
		got[n] = f[i]
	}
	assert.Equal(t, 5.0, got["a.last"])
	assert.Equal(t, 3.0, got["a.mean"])
	assert.Equal(t, 1.0, got["a.min"])
	assert.Equal(t, 5.0, got["a.max"])
	assert.InDelta(t, 9.0/7, got["a.slope"], 1e-12) // least squares through (0,1),(2,3),(3,5)
	assert.Equal(t, 0.75, got["a.observed"])
	assert.Equal(t, 5.0, got["b.last"])
	assert.True(t, math.IsNaN(got["b.slope"]), "one observation has no slope")
	assert.Equal(t, 0.25, got["b.observed"])
	assert.Equal(t, 4.0, got["visits"])
	_, err = SummaryFeatures([][]float64{{1, 2}, {1}}, 2, DefaultSummaryStats())
	require.ErrorContains(t, err, "timestep 1")
}
