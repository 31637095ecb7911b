package predict

import (
	"bytes"
	"context"
	"encoding/gob"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ridgeProblem makes n examples of p correlated features (a shared factor
// plus noise) whose class in [0, k) shifts some features.
func ridgeProblem(seed uint64, n, p, k int) ([][]float64, []int) {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	x := make([][]float64, n)
	y := make([]int, n)
	for i := range x {
		y[i] = rng.IntN(k)
		f := rng.NormFloat64()
		x[i] = make([]float64, p)
		for j := range x[i] {
			x[i][j] = 3 + 0.5*f + rng.NormFloat64() + 0.7*float64((y[i]+j)%k)
		}
	}
	return x, y
}

func TestRidgeIterativeMatchesExact(t *testing.T) {
	// At a single alpha the held-out search is moot and the final fit must
	// be the exact ridge solution, in both n < p and n > p shapes.
	ctx := context.Background()
	cfg := RidgeConfig{Tolerance: 1e-12, MaxIterations: 2000, Seed: 3}
	for _, shape := range [][2]int{{30, 80}, {120, 15}} {
		x, y := ridgeProblem(5, shape[0], shape[1], 3)
		for _, alpha := range []float64{0.01, 1, 100} {
			exact, err := FitRidgeCV(ctx, x, y, 3, []float64{alpha})
			require.NoError(t, err)
			iter, err := FitRidgeIterative(ctx, x, y, 3, []float64{alpha}, cfg)
			require.NoError(t, err)
			assert.Equal(t, SolverExact, exact.Solver)
			assert.Equal(t, SolverIterative, iter.Solver)
			assert.Positive(t, iter.Iterations)
			assert.LessOrEqual(t, iter.Residual, 1e-12)
			assert.Equal(t, exact.FeatureMean, iter.FeatureMean)
			assert.Equal(t, exact.FeatureScale, iter.FeatureScale)
			assert.InDeltaSlice(t, exact.Intercepts, iter.Intercepts, 1e-12)
			for c := range exact.Weights {
				assert.InDeltaSlice(t, exact.Weights[c], iter.Weights[c], 1e-8, "shape %v alpha %v class %d", shape, alpha, c)
			}
			for _, row := range x[:10] {
				assert.InDeltaSlice(t, exact.Decision(row), iter.Decision(row), 1e-8)
			}
		}
	}
}

func TestRidgeMultiShiftMatchesExact(t *testing.T) {
	// One multi-shift solve gives every alpha's exact solution.
	ctx := context.Background()
	x, y := ridgeProblem(9, 40, 60, 4)
	shifts := []float64{0.001, 0.1, 3, 50, 1000}
	sys := newRidgeSystem(x, y, 4, nil, 2)
	w, iters, residual, err := sys.solve(ctx, shifts, nil, 1e-12, 2000)
	require.NoError(t, err)
	assert.Positive(t, iters)
	assert.LessOrEqual(t, residual, 1e-12)
	for s, alpha := range shifts {
		exact, err := FitRidgeCV(ctx, x, y, 4, []float64{alpha})
		require.NoError(t, err)
		for c := range exact.Weights {
			assert.InDeltaSlice(t, exact.Weights[c], w[s][c], 1e-7, "alpha %v class %d", alpha, c)
		}
	}
}

func TestRidgeIterativeChoiceIsDeterministic(t *testing.T) {
	ctx := context.Background()
	x, y := ridgeProblem(13, 200, 50, 3)
	fit := func(seed uint64, workers int) *Ridge {
		r, err := FitRidgeIterative(ctx, x, y, 3, nil, RidgeConfig{Seed: seed, Workers: workers})
		require.NoError(t, err)
		return r
	}
	a := fit(1, 1)
	assert.Equal(t, a, fit(1, 1))
	// The passes sum in fixed chunks, so the workers do not change a bit.
	assert.Equal(t, a, fit(1, 3))
	assert.Len(t, a.HoldOutError, len(DefaultAlphas()))
	assert.Empty(t, a.LOOError)
	assert.Contains(t, a.Alphas, a.Alpha)
	for i, e := range a.HoldOutError {
		assert.GreaterOrEqual(t, e, a.HoldOutError[indexOf(a.Alphas, a.Alpha)], "alpha %v", a.Alphas[i])
	}
	assert.NotEqual(t, a.HoldOutError, fit(2, 1).HoldOutError, "another seed holds out other examples")
}

func indexOf(s []float64, v float64) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func TestStratifiedHoldOut(t *testing.T) {
	labels := make([]int, 0, 103)
	for i := 0; i < 100; i++ {
		labels = append(labels, i%2)
	}
	labels = append(labels, 2, 2, 3) // class 2: two examples, class 3: one
	train, held := stratifiedHoldOut(labels, 5, 0.2, 7)
	assert.Len(t, train, 103-10-10-0-0)
	assert.Len(t, held, 20)
	count := map[int]int{}
	for _, i := range held {
		count[labels[i]]++
	}
	assert.Equal(t, map[int]int{0: 10, 1: 10}, count, "a class of one or two keeps its examples for training")
	seen := map[int]bool{}
	for _, i := range append(append([]int{}, train...), held...) {
		assert.False(t, seen[i])
		seen[i] = true
	}
	assert.Len(t, seen, len(labels))
}

func TestRidgeIterativeErrors(t *testing.T) {
	ctx := context.Background()
	x, y := ridgeProblem(1, 20, 5, 2)
	for name, tc := range map[string]struct {
		x      [][]float64
		y      []int
		k      int
		alphas []float64
		cfg    RidgeConfig
		want   string
	}{
		"one example":      {x[:1], y[:1], 2, nil, RidgeConfig{}, "at least 2 examples"},
		"labels count":     {x, y[:5], 2, nil, RidgeConfig{}, "5 labels for 20 examples"},
		"one class":        {x, y, 1, nil, RidgeConfig{}, "1 classes"},
		"ragged":           {append(append([][]float64{}, x[:3]...), []float64{1}), y[:4], 2, nil, RidgeConfig{}, "example 3 has 1"},
		"label range":      {x[:2], []int{0, 5}, 2, nil, RidgeConfig{}, "label 5 of example 1"},
		"alpha":            {x, y, 2, []float64{1, 0}, RidgeConfig{}, "alpha 0"},
		"hold-out":         {x, y, 2, nil, RidgeConfig{HoldOut: 0.7}, "hold-out fraction 0.7"},
		"tolerance":        {x, y, 2, nil, RidgeConfig{Tolerance: 2}, "tolerance 2"},
		"iterations":       {x, y, 2, nil, RidgeConfig{MaxIterations: -1}, "-1 iterations"},
		"nothing held out": {x[:2], []int{0, 1}, 2, nil, RidgeConfig{}, "too few to hold out"},
	} {
		_, err := FitRidgeIterative(ctx, tc.x, tc.y, tc.k, tc.alphas, tc.cfg)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), tc.want, name)
	}
}

func TestRidgeIterativeCancelled(t *testing.T) {
	x, y := ridgeProblem(1, 50, 20, 2)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := FitRidgeIterative(ctx, x, y, 2, nil, RidgeConfig{})
	assert.ErrorIs(t, err, context.Canceled)
	// A cancellation during the iterations stops them too: solve checks
	// before the right-hand side and before every iteration.
	sys := newRidgeSystem(x, y, 2, nil, 1)
	_, iters, _, err := sys.solve(&cancelAfter{Context: context.Background(), checks: 4}, []float64{1e-3}, nil, 1e-14, 1000)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 2, iters)
}

// cancelAfter is a context whose Err reports cancellation from its checks-th
// call on.
type cancelAfter struct {
	context.Context
	checks, calls int
}

func (c *cancelAfter) Err() error {
	if c.calls++; c.calls >= c.checks {
		return context.Canceled
	}
	return nil
}

func TestFitRidgeThreshold(t *testing.T) {
	ctx := context.Background()
	x, y := ridgeProblem(2, 40, 10, 2)
	r, err := FitRidge(ctx, x, y, 2, nil, RidgeConfig{})
	require.NoError(t, err)
	assert.Equal(t, SolverExact, r.Solver, "40 examples are below the default threshold")
	r, err = FitRidge(ctx, x, y, 2, nil, RidgeConfig{IterativeAbove: 39})
	require.NoError(t, err)
	assert.Equal(t, SolverIterative, r.Solver)
	r, err = FitRidge(ctx, x, y, 2, nil, RidgeConfig{IterativeAbove: 40})
	require.NoError(t, err)
	assert.Equal(t, SolverExact, r.Solver, "the threshold is inclusive")
}

func TestRocketClassifiersTakeIterativeRidgeAboveThreshold(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 8))
	train, trainY := twoClassSeries(rng, 120, 3)
	test, testY := twoClassSeries(rng, 80, 3)
	for _, tc := range []struct {
		name string
		make func(RidgeConfig) Predictor
		load func(*bytes.Buffer) (Predictor, error)
	}{
		{"minirocket", func(rc RidgeConfig) Predictor {
			return &MiniRocketClassifier{Config: MiniRocketConfig{NumFeatures: 2000, Seed: 5}, RidgeSolver: rc}
		}, func(b *bytes.Buffer) (Predictor, error) { return LoadMiniRocket(b) }},
		{"multirocket", func(rc RidgeConfig) Predictor {
			return &MultiRocketClassifier{Config: MultiRocketConfig{NumFeatures: 2000, Seed: 5}, RidgeSolver: rc}
		}, func(b *bytes.Buffer) (Predictor, error) { return LoadMultiRocket(b) }},
	} {
		ridgeOf := func(p Predictor) *Ridge {
			return p.(interface{ Ridge() *Ridge }).Ridge()
		}
		exact := tc.make(RidgeConfig{})
		require.NoError(t, exact.Fit(ctx, train, trainY, 2), tc.name)
		assert.Equal(t, SolverExact, ridgeOf(exact).Solver, tc.name)

		m := tc.make(RidgeConfig{IterativeAbove: 100})
		require.NoError(t, m.Fit(ctx, train, trainY, 2), tc.name)
		r := ridgeOf(m)
		assert.Equal(t, SolverIterative, r.Solver, tc.name)
		assert.Positive(t, r.Iterations, tc.name)
		got, err := PredictAll(ctx, m, test)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, accuracy(got, testY), 0.8, tc.name)

		var buf bytes.Buffer
		require.NoError(t, m.(interface{ Save(io.Writer) error }).Save(&buf))
		m2, err := tc.load(&buf)
		require.NoError(t, err, tc.name)
		assert.Equal(t, r, ridgeOf(m2), tc.name)
		got2, err := PredictAll(ctx, m2, test)
		require.NoError(t, err)
		assert.Equal(t, got, got2, tc.name)
	}
}

func TestMiniRocketLoadsModelSavedBeforeRidgeSolver(t *testing.T) {
	// Models saved before Ridge.Solver and RidgeSolver existed carry
	// neither; they load as exact-solver models and predict as before.
	type oldRidge struct {
		Alpha                     float64
		Alphas, LOOError          []float64
		FeatureMean, FeatureScale []float64
		Weights                   [][]float64
		Intercepts                []float64
	}
	type oldModel struct {
		Version int
		Config  MiniRocketConfig
		Alphas  []float64
		Scaler  *Scaler
		Rocket  *MiniRocket
		Ridge   *oldRidge
	}
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	train, y := twoClassSeries(rng, 40, 2)
	m := &MiniRocketClassifier{Config: MiniRocketConfig{NumFeatures: 500, Seed: 2}}
	require.NoError(t, m.Fit(ctx, train, y, 2))
	r := m.Ridge()
	var buf bytes.Buffer
	require.NoError(t, gob.NewEncoder(&buf).Encode(oldModel{
		Version: miniRocketModelVersion, Config: m.Config, Scaler: m.scaler, Rocket: m.rocket,
		Ridge: &oldRidge{r.Alpha, r.Alphas, r.LOOError, r.FeatureMean, r.FeatureScale, r.Weights, r.Intercepts},
	}))
	old, err := LoadMiniRocket(&buf)
	require.NoError(t, err)
	assert.Empty(t, old.Ridge().Solver)
	assert.Equal(t, RidgeConfig{}, old.RidgeSolver)
	want, err := m.Decision(ctx, train)
	require.NoError(t, err)
	got, err := old.Decision(ctx, train)
	require.NoError(t, err)
	assert.Equal(t, want, got)

	r.Solver = "newton"
	buf.Reset()
	require.NoError(t, m.Save(&buf))
	_, err = LoadMiniRocket(&buf)
	assert.ErrorContains(t, err, `unknown ridge solver "newton"`)
}
