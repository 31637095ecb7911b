package predict

import (
	"bytes"
	"context"
	"encoding/gob"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMultiRocketJapaneseVowelsConformance is MultiRocket's conformance
// check on the UEA set JapaneseVowels: at least 0.97 test accuracy for each
// seed (over seeds 1–10 `pmlm ts-bench --predictor multirocket` measured
// 0.9849 ± 0.0044, min 0.9784; see BENCHMARKS.md).
func TestMultiRocketJapaneseVowelsConformance(t *testing.T) {
	train := loadTS(t, "JapaneseVowels_TRAIN.ts")
	test := loadTS(t, "JapaneseVowels_TEST.ts")
	ctx := context.Background()
	for _, seed := range []uint64{1, 2} {
		m := &MultiRocketClassifier{Config: MultiRocketConfig{Seed: seed}}
		require.NoError(t, m.Fit(ctx, train.Series, train.LabelIndices(), len(train.Classes)))
		got, err := PredictAll(ctx, m, test.Series)
		require.NoError(t, err)
		acc := accuracy(got, test.LabelIndices())
		t.Logf("seed %d: JapaneseVowels test accuracy %.4f (alpha %.4g, %d features)", seed, acc, m.Ridge().Alpha, m.Transform().NumFeatures())
		assert.GreaterOrEqual(t, acc, 0.97, "seed %d", seed)
		// 6,216 kernel-bias pairs per representation, 4 poolings, 2 representations.
		assert.Equal(t, 49_728, m.Transform().NumFeatures())
	}
}

// directConvolution evaluates kernel k dilated by d over the sum of the
// channels chans of x ([channel][time]) with zero padding, term by term.
func directConvolution(x [][]float64, chans []int, d, k int) []float64 {
	out := make([]float64, len(x[0]))
	for t := range out {
		for _, c := range chans {
			for j := 0; j < kernelLength; j++ {
				w := -1.0
				for _, big := range kernelIndices[k] {
					if j == big {
						w = 2
					}
				}
				if i := t + (j-kernelLength/2)*d; i >= 0 && i < len(x[c]) {
					out[t] += w * x[c][i]
				}
			}
		}
	}
	return out
}

// longestRun is the length of the longest run of values above b, counted
// from the run boundaries.
func longestRun(c []float64, b float64) int {
	best, start := 0, -1
	for t := 0; t <= len(c); t++ {
		if t < len(c) && c[t] > b {
			if start < 0 {
				start = t
			}
			continue
		}
		if start >= 0 {
			best = max(best, t-start)
			start = -1
		}
	}
	return best
}

// TestMultiRocketFeaturesMatchDefinitions recomputes every feature of a
// fitted transform from a direct convolution and the paper's definitions of
// the four poolings, for the series and its first difference.
func TestMultiRocketFeaturesMatchDefinitions(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	series := randomSeries(rng, 12, 31, 3)
	series[0] = series[0][:10] // a shortest series: its difference is 9 long
	m, err := FitMultiRocket(context.Background(), series, MultiRocketConfig{NumFeatures: 8 * 84 * 4, Seed: 3, Workers: 2})
	require.NoError(t, err)
	require.Greater(t, len(m.Base.Dilations), 1, "both crop rules and a dilation > 1 are exercised")
	got, err := m.Transform(context.Background(), series[:2])
	require.NoError(t, err)
	for i, s := range series[:2] {
		x, err := channelMajorMin([][][]float64{s}, 3, multiRocketMinLength, ErrTooShortForMultiRocket)
		require.NoError(t, err)
		var want []float64
		for _, rep := range []struct {
			r *MiniRocket
			x [][]float64
		}{{m.Base, x[0]}, {m.Diff, firstDifference(x[0])}} {
			r, n := rep.r, len(rep.x[0])
			var ppv, mpv, mipv, lspv []float64
			comb, chanStart, f := 0, 0, 0
			for di, d := range r.Dilations {
				padding := 4 * d
				for k := 0; k < numKernels; k++ {
					chans := r.ChannelIndices[chanStart : chanStart+r.ChannelsPerCombination[comb]]
					c := directConvolution(rep.x, chans, d, k)
					if (di+k)%2 == 1 && n > 2*padding {
						c = c[padding : n-padding]
					}
					for range r.FeaturesPerDilation[di] {
						b := r.Biases[f]
						pos, sum, idx := 0, 0.0, 0
						for t, v := range c {
							if v > b {
								pos++
								sum += v - b
								idx += t
							}
						}
						ppv = append(ppv, float64(pos)/float64(len(c)))
						if pos == 0 {
							mpv, mipv = append(mpv, 0), append(mipv, -1)
						} else {
							mpv, mipv = append(mpv, sum/float64(pos)), append(mipv, float64(idx)/float64(pos))
						}
						lspv = append(lspv, float64(longestRun(c, b)))
						f++
					}
					chanStart += len(chans)
					comb++
				}
			}
			want = append(want, ppv...)
			want = append(want, mpv...)
			want = append(want, mipv...)
			want = append(want, lspv...)
		}
		require.Len(t, got[i], len(want))
		for j := range want {
			require.InDelta(t, want[j], got[i][j], 1e-9, "series %d feature %d", i, j)
		}
	}
	// The PPV block of the series is MiniRocket's transform with the same
	// kernels.
	mini, err := m.Base.Transform(context.Background(), series[:1])
	require.NoError(t, err)
	assert.Equal(t, mini[0], got[0][:len(m.Base.Biases)])
}

// levelRunSeries makes variable-length series of 2 channels whose class
// decides how long channel 0 stays raised: a signal in the level and the
// duration of a run, which PPV alone sees only through its share.
func levelRunSeries(rng *rand.Rand, n int) ([][][]float64, []int) {
	series := make([][][]float64, n)
	labels := make([]int, n)
	for i := range series {
		labels[i] = i % 2
		s := make([][]float64, 6+rng.IntN(20))
		run := 2 + 3*labels[i]
		start := rng.IntN(len(s))
		for t := range s {
			s[t] = []float64{rng.NormFloat64() * 0.5, rng.NormFloat64()}
			if t >= start && t < start+run {
				s[t][0] += 3
			}
			if rng.Float64() < 0.1 {
				s[t][1] = math.NaN()
			}
		}
		series[i] = s
	}
	return series, labels
}

// TestMultiRocketClassifierLearnsAndRoundTrips checks that the classifier
// learns a level-and-duration signal from short, incomplete series, that a
// loaded copy predicts exactly as the original, and that damaged files are
// refused.
func TestMultiRocketClassifierLearnsAndRoundTrips(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	train, trainY := levelRunSeries(rng, 120)
	test, testY := levelRunSeries(rng, 80)
	ctx := context.Background()
	m := &MultiRocketClassifier{Config: MultiRocketConfig{NumFeatures: 4000, Seed: 5}}
	var buf bytes.Buffer
	require.ErrorIs(t, m.Save(&buf), ErrNotFitted)
	require.NoError(t, m.Fit(ctx, train, trainY, 2))
	assert.Equal(t, 2, m.NumClasses())
	assert.Equal(t, 2, m.NumChannels())
	want, err := m.PredictBatch(ctx, test)
	require.NoError(t, err)
	labels := make([]int, len(want))
	for i, p := range want {
		labels[i] = p.Label
		require.InDelta(t, 1, sum(p.Probs), 1e-9)
	}
	acc := accuracy(labels, testY)
	t.Logf("test accuracy %.3f", acc)
	assert.GreaterOrEqual(t, acc, 0.8)

	require.NoError(t, m.Save(&buf))
	got, err := LoadMultiRocket(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	assert.Equal(t, KindMultiRocket, got.Kind())
	have, err := got.PredictBatch(ctx, test)
	require.NoError(t, err)
	assert.Equal(t, want, have)
	one, err := got.Predict(ctx, test[0])
	require.NoError(t, err)
	assert.Equal(t, want[0], one)

	_, err = LoadMultiRocket(bytes.NewReader(buf.Bytes()[:buf.Len()/2]))
	require.Error(t, err)
	_, err = LoadMultiRocket(bytes.NewReader([]byte("garbage")))
	require.Error(t, err)
	// Decodable but inconsistent: a bias missing from the difference's
	// kernels, a channel index out of range, no difference kernels.
	for name, damage := range map[string]func(mm *multiRocketModel){
		"difference kernels: inconsistent feature layout": func(mm *multiRocketModel) { mm.Rocket.Diff.Biases = mm.Rocket.Diff.Biases[1:] },
		"series kernels: channel index out of range":      func(mm *multiRocketModel) { mm.Rocket.Base.ChannelIndices[0] = 7 },
		"incomplete model":   func(mm *multiRocketModel) { mm.Rocket.Diff = nil },
		"inconsistent ridge": func(mm *multiRocketModel) { mm.Ridge.FeatureMean = mm.Ridge.FeatureMean[1:] },
	} {
		var mm multiRocketModel
		require.NoError(t, gob.NewDecoder(bytes.NewReader(buf.Bytes())).Decode(&mm))
		damage(&mm)
		var bad bytes.Buffer
		require.NoError(t, gob.NewEncoder(&bad).Encode(mm))
		_, err := LoadMultiRocket(&bad)
		require.ErrorContains(t, err, name)
	}
}

func TestMultiRocketErrors(t *testing.T) {
	ctx := context.Background()
	var m MultiRocketClassifier
	_, err := m.Predict(ctx, [][]float64{{1}})
	assert.ErrorIs(t, err, ErrNotFitted)
	assert.ErrorIs(t, m.Fit(ctx, nil, nil, 2), ErrNoSeries)
	assert.Error(t, m.Fit(ctx, [][][]float64{{{1}}, {{1}}}, []int{0, 2}, 2))
	assert.Error(t, m.Fit(ctx, [][][]float64{{{1}}, {{1, 2}}}, []int{0, 1}, 2))

	rng := rand.New(rand.NewPCG(1, 1))
	_, err = FitMultiRocket(ctx, randomSeries(rng, 3, 9, 2), MultiRocketConfig{NumFeatures: 1000})
	require.ErrorIs(t, err, ErrTooShortForMultiRocket)
	_, err = FitMultiRocket(ctx, randomSeries(rng, 3, 12, 2), MultiRocketConfig{NumFeatures: 500})
	require.ErrorContains(t, err, "NumFeatures 500 below 672")
	fitted, err := FitMultiRocket(ctx, randomSeries(rng, 3, 12, 2), MultiRocketConfig{NumFeatures: 1000})
	require.NoError(t, err)
	_, err = fitted.Transform(ctx, randomSeries(rng, 1, 12, 3))
	require.ErrorContains(t, err, "3 channels, want 2")

	// The classifier pads short series, and refuses a wrong channel count.
	train, y := twoClassSeries(rng, 20, 2)
	m.Config.NumFeatures = 1000
	require.NoError(t, m.Fit(ctx, train, y, 2))
	_, err = m.Predict(ctx, [][]float64{{1, 2}})
	require.NoError(t, err)
	_, err = m.Predict(ctx, [][]float64{{1, 2, 3}})
	assert.Error(t, err)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	assert.ErrorIs(t, m.Fit(cctx, train, y, 2), context.Canceled)
}
