package predict

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ueaDir is the UEA test data, in the shared/ folder beside the repository.
const ueaDir = "../../../shared/testdata/uea"

func loadTS(t testing.TB, name string) *TSData {
	t.Helper()
	path := filepath.Join(ueaDir, name)
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		t.Skipf("UEA data not found at %s (expected the shared/ folder beside the repository)", path)
	}
	require.NoError(t, err)
	defer f.Close()
	d, err := ReadTS(f, name)
	require.NoError(t, err)
	return d
}

func accuracy(pred, want []int) float64 {
	ok := 0
	for i := range pred {
		if pred[i] == want[i] {
			ok++
		}
	}
	return float64(ok) / float64(len(pred))
}

// TestJapaneseVowelsConformance is the conformance test of the reference
// implementations: MiniRocket + RidgeClassifierCV reaches at least 0.97
// test accuracy on JapaneseVowels.
func TestJapaneseVowelsConformance(t *testing.T) {
	train := loadTS(t, "JapaneseVowels_TRAIN.ts")
	test := loadTS(t, "JapaneseVowels_TEST.ts")
	require.Len(t, train.Series, 270)
	require.Len(t, test.Series, 370)
	require.Equal(t, 12, train.Dimensions)
	require.Equal(t, train.Classes, test.Classes)

	ctx := context.Background()
	for _, seed := range []uint64{1, 2} {
		m := &MiniRocketClassifier{Config: MiniRocketConfig{Seed: seed}}
		require.NoError(t, m.Fit(ctx, train.Series, train.LabelIndices(), len(train.Classes)))
		preds, err := m.PredictBatch(ctx, test.Series)
		require.NoError(t, err)
		labels := make([]int, len(preds))
		for i, p := range preds {
			labels[i] = p.Label
			require.InDelta(t, 1, sum(p.Probs), 1e-9)
		}
		acc := accuracy(labels, test.LabelIndices())
		t.Logf("seed %d: JapaneseVowels test accuracy %.4f (alpha %.4g, %d features)", seed, acc, m.Alpha(), m.rocket.NumFeatures())
		assert.GreaterOrEqual(t, acc, 0.97, "seed %d", seed)
		assert.Equal(t, 9996, m.rocket.NumFeatures())
	}
}

func sum(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s
}

func TestFitDilationsMatchesReference(t *testing.T) {
	// Values of sktime's _fit_dilations(29, 10000, 32) and (9, 10000, 32).
	d, n := fitDilations(29, 10000, 32)
	assert.Equal(t, []int{1, 2, 3}, d)
	total := 0
	for _, v := range n {
		total += v
	}
	assert.Equal(t, 119, total)
	d, n = fitDilations(9, 10000, 32)
	assert.Equal(t, []int{1}, d)
	assert.Equal(t, []int{119}, n)
	d, _ = fitDilations(1000, 10000, 32)
	assert.Len(t, d, 32-countDuplicates(1000))
	assert.Equal(t, 1, d[0])
	assert.LessOrEqual(t, d[len(d)-1], (1000-1)/8)
}

// countDuplicates counts the repeated integer dilations of the log grid.
func countDuplicates(refLen int) int {
	seen := map[int]bool{}
	dup := 0
	e := math.Log2(float64(refLen-1) / 8)
	for i := 0; i < 32; i++ {
		v := int(math.Pow(2, e*float64(i)/31))
		if seen[v] {
			dup++
		}
		seen[v] = true
	}
	return dup
}

func TestQuantileLevels(t *testing.T) {
	q := quantileLevels(3)
	assert.InDelta(t, 0.6180339887, q[0], 1e-9)
	assert.InDelta(t, 0.2360679775, q[1], 1e-9)
	assert.InDelta(t, 0.8541019662, q[2], 1e-9)
}

// TestConvolveMatchesDirect checks the summed-channel convolution against a
// direct per-channel evaluation of the kernel with zero padding.
func TestConvolveMatchesDirect(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([][]float64, 3)
	for c := range x {
		x[c] = make([]float64, 23)
		for i := range x[c] {
			x[c][i] = rng.NormFloat64()
		}
	}
	var b convBuffers
	for _, d := range []int{1, 2, 5} {
		for _, k := range []int{0, 17, 83} {
			got := append([]float64(nil), b.convolve(x, []int{0, 2}, d, k)...)
			for tt := range got {
				want := 0.0
				for _, c := range []int{0, 2} {
					for j := 0; j < 9; j++ {
						w := -1.0
						for _, big := range kernelIndices[k] {
							if j == big {
								w = 2
							}
						}
						if i := tt + (j-4)*d; i >= 0 && i < len(x[c]) {
							want += w * x[c][i]
						}
					}
				}
				require.InDelta(t, want, got[tt], 1e-12, "d=%d k=%d t=%d", d, k, tt)
			}
		}
	}
}

// twoClassSeries makes variable-length series of nc channels whose class
// shifts the mean of channel 0, with some values missing.
func twoClassSeries(rng *rand.Rand, n, nc int) ([][][]float64, []int) {
	series := make([][][]float64, n)
	labels := make([]int, n)
	for i := range series {
		labels[i] = i % 2
		s := make([][]float64, 4+rng.IntN(20))
		for t := range s {
			row := make([]float64, nc)
			for c := range row {
				row[c] = 10 + rng.NormFloat64()
				if c == 0 {
					row[c] += 1.5 * float64(labels[i])
				}
				if rng.Float64() < 0.1 {
					row[c] = math.NaN()
				}
			}
			s[t] = row
		}
		series[i] = s
	}
	return series, labels
}

func TestMiniRocketClassifierLearnsAndRoundTrips(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	train, trainY := twoClassSeries(rng, 120, 3)
	test, testY := twoClassSeries(rng, 80, 3)
	ctx := context.Background()
	m := &MiniRocketClassifier{Config: MiniRocketConfig{NumFeatures: 2000, Seed: 5}}
	require.NoError(t, m.Fit(ctx, train, trainY, 2))
	got, err := PredictAll(ctx, m, test)
	require.NoError(t, err)
	acc := accuracy(got, testY)
	assert.GreaterOrEqual(t, acc, 0.8)

	var buf bytes.Buffer
	require.NoError(t, m.Save(&buf))
	m2, err := LoadMiniRocket(&buf)
	require.NoError(t, err)
	for _, s := range test[:10] {
		p1, err := m.Predict(ctx, s)
		require.NoError(t, err)
		p2, err := m2.Predict(ctx, s)
		require.NoError(t, err)
		assert.Equal(t, p1, p2)
	}
	_, err = LoadMiniRocket(bytes.NewReader([]byte("garbage")))
	assert.Error(t, err)
}

func TestMiniRocketClassifierErrors(t *testing.T) {
	ctx := context.Background()
	var m MiniRocketClassifier
	_, err := m.Predict(ctx, [][]float64{{1}})
	assert.ErrorIs(t, err, ErrNotFitted)
	assert.ErrorIs(t, m.Fit(ctx, nil, nil, 2), ErrNoSeries)
	assert.Error(t, m.Fit(ctx, [][][]float64{{{1}}, {{1}}}, []int{0, 2}, 2))
	assert.Error(t, m.Fit(ctx, [][][]float64{{{1}}, {{1, 2}}}, []int{0, 1}, 2))
	rng := rand.New(rand.NewPCG(1, 1))
	train, y := twoClassSeries(rng, 20, 2)
	m.Config.NumFeatures = 200
	require.NoError(t, m.Fit(ctx, train, y, 2))
	_, err = m.Predict(ctx, [][]float64{{1, 2, 3}})
	assert.Error(t, err)
	_, err = m.Predict(ctx, nil)
	assert.Error(t, err)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	assert.ErrorIs(t, m.Fit(cctx, train, y, 2), context.Canceled)
}

func TestRidgeMatchesDirectSolve(t *testing.T) {
	// Both the dual (n ≤ p) and the primal (n > p) paths must give the
	// weights of the normal equations on standardized, centered data.
	rng := rand.New(rand.NewPCG(11, 12))
	for _, shape := range [][2]int{{12, 30}, {40, 6}} {
		n, p := shape[0], shape[1]
		x := make([][]float64, n)
		y := make([]int, n)
		for i := range x {
			y[i] = i % 3
			x[i] = make([]float64, p)
			for j := range x[i] {
				x[i][j] = rng.NormFloat64() + float64(y[i]*j%4)
			}
		}
		r, err := FitRidgeCV(context.Background(), x, y, 3, []float64{0.5})
		require.NoError(t, err)
		// Check the gradient of the ridge objective vanishes:
		// Xcᵀ(Xc w - yc) + alpha w = 0 for each class.
		for c := 0; c < 3; c++ {
			for j := 0; j < p; j++ {
				g := r.Alpha * r.Weights[c][j]
				for i := range x {
					pred := 0.0
					for k := 0; k < p; k++ {
						pred += (x[i][k] - r.FeatureMean[k]) / r.FeatureScale[k] * r.Weights[c][k]
					}
					target := -1.0
					if y[i] == c {
						target = 1
					}
					g += (x[i][j] - r.FeatureMean[j]) / r.FeatureScale[j] * (pred - (target - r.Intercepts[c]))
				}
				require.InDelta(t, 0, g, 1e-8, "shape %v class %d feature %d", shape, c, j)
			}
		}
	}
}

func TestRidgeLOOMatchesBruteForce(t *testing.T) {
	// The closed-form leave-one-out error equals refitting without each
	// example, when feature scaling is fixed (it is what the formula assumes:
	// scikit-learn's GCV does the same).
	rng := rand.New(rand.NewPCG(21, 22))
	n, p := 15, 4
	x := make([][]float64, n)
	y := make([]int, n)
	for i := range x {
		y[i] = i % 2
		x[i] = make([]float64, p)
		for j := range x[i] {
			x[i][j] = rng.NormFloat64() + float64(y[i])
		}
	}
	alpha := 2.0
	r, err := FitRidgeCV(context.Background(), x, y, 2, []float64{alpha})
	require.NoError(t, err)
	// Brute force in the standardized space of the full fit, with an
	// unregularized intercept: drop example i, refit, predict i.
	z := make([][]float64, n)
	for i := range x {
		z[i] = make([]float64, p)
		for j := range x[i] {
			z[i][j] = (x[i][j] - r.FeatureMean[j]) / r.FeatureScale[j]
		}
	}
	loo := 0.0
	for i := 0; i < n; i++ {
		var zs [][]float64
		var ys []float64
		for k := 0; k < n; k++ {
			if k != i {
				zs = append(zs, z[k])
				ys = append(ys, 2*float64(y[k])-1)
			}
		}
		w, b := solveRidge(zs, ys, alpha)
		pred := b
		for j := range w {
			pred += w[j] * z[i][j]
		}
		e := (2*float64(y[i]) - 1) - pred
		loo += 2 * e * e // both one-vs-all targets have the same error
	}
	assert.InDelta(t, loo/float64(2*n), r.LOOError[0], 1e-9)
}

// solveRidge fits ridge with an unregularized intercept by Gauss-Jordan on
// the normal equations of the centered data.
func solveRidge(z [][]float64, y []float64, alpha float64) ([]float64, float64) {
	n, p := len(z), len(z[0])
	mz := make([]float64, p)
	my := 0.0
	for i := range z {
		for j := range mz {
			mz[j] += z[i][j] / float64(n)
		}
		my += y[i] / float64(n)
	}
	a := make([][]float64, p)
	for j := range a {
		a[j] = make([]float64, p+1)
		for k := 0; k < p; k++ {
			for i := range z {
				a[j][k] += (z[i][j] - mz[j]) * (z[i][k] - mz[k])
			}
		}
		a[j][j] += alpha
		for i := range z {
			a[j][p] += (z[i][j] - mz[j]) * (y[i] - my)
		}
	}
	for c := 0; c < p; c++ {
		for r := 0; r < p; r++ {
			if r != c {
				f := a[r][c] / a[c][c]
				for k := c; k <= p; k++ {
					a[r][k] -= f * a[c][k]
				}
			}
		}
	}
	w := make([]float64, p)
	b := my
	for j := range w {
		w[j] = a[j][p] / a[j][j]
		b -= w[j] * mz[j]
	}
	return w, b
}

func TestScalerImputation(t *testing.T) {
	nan := math.NaN()
	train := [][][]float64{{{1, nan}, {3, nan}}, {{5, 2}}}
	sc, err := FitScaler(train)
	require.NoError(t, err)
	assert.InDelta(t, 3, sc.Mean[0], 1e-12)
	assert.InDelta(t, math.Sqrt(8.0/3), sc.Scale[0], 1e-12)
	assert.Equal(t, 2.0, sc.Mean[1])
	assert.Equal(t, 1.0, sc.Scale[1]) // constant channel
	out, err := sc.Apply([][]float64{{nan, 4}, {3, nan}, {nan, nan}}, 4)
	require.NoError(t, err)
	assert.Equal(t, [][]float64{{0, 2}, {0, 2}, {0, 2}, {0, 0}}, out)
}
