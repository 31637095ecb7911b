package predict

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/pmlm-go/pmlm/internal/cputime"
)

func randomSeries(rng *rand.Rand, n, length, channels int) [][][]float64 {
	out := make([][][]float64, n)
	for i := range out {
		s := make([][]float64, length)
		for t := range s {
			s[t] = make([]float64, channels)
			for c := range s[t] {
				s[t][c] = rng.NormFloat64()
			}
		}
		out[i] = s
	}
	return out
}

// benchmarkTransform reports the transform time per series of the given
// shape (fitted by fit with that reference length, default feature count),
// with one worker, so that ns/op is the single-core cost of one series.
func benchmarkTransform(b *testing.B, length, channels int, fit func([][][]float64) (interface {
	Transform(context.Context, [][][]float64) ([][]float64, error)
}, error)) {
	rng := rand.New(rand.NewPCG(1, 2))
	train := randomSeries(rng, 64, length, channels)
	m, err := fit(train)
	if err != nil {
		b.Fatal(err)
	}
	batch := train[:1]
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Transform(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
}

func fitMini(train [][][]float64) (interface {
	Transform(context.Context, [][][]float64) ([][]float64, error)
}, error) {
	return FitMiniRocket(context.Background(), train, MiniRocketConfig{Seed: 1, Workers: 1})
}

func fitMulti(train [][][]float64) (interface {
	Transform(context.Context, [][][]float64) ([][]float64, error)
}, error) {
	return FitMultiRocket(context.Background(), train, MultiRocketConfig{Seed: 1, Workers: 1})
}

// JapaneseVowels: 12 channels, at most 29 timesteps.
func BenchmarkMiniRocketTransformJapaneseVowels(b *testing.B) { benchmarkTransform(b, 29, 12, fitMini) }

// The cohort's longest patient: 45 visits of 35 metrics.
func BenchmarkMiniRocketTransformCohort45x35(b *testing.B) { benchmarkTransform(b, 45, 35, fitMini) }

// MultiRocket's transform (49,728 features) of the same shapes.
func BenchmarkMultiRocketTransformJapaneseVowels(b *testing.B) {
	benchmarkTransform(b, 29, 12, fitMulti)
}

func BenchmarkMultiRocketTransformCohort45x35(b *testing.B) { benchmarkTransform(b, 45, 35, fitMulti) }

// rocketClassifiers are the ROCKET-family predictors the fit and predict
// benchmarks compare, with one transform worker.
var rocketClassifiers = []struct {
	name string
	make func() Predictor
}{
	{"minirocket", func() Predictor { return &MiniRocketClassifier{Config: MiniRocketConfig{Seed: 1, Workers: 1}} }},
	{"multirocket", func() Predictor { return &MultiRocketClassifier{Config: MultiRocketConfig{Seed: 1, Workers: 1}} }},
}

// jvShaped returns 270 random series shaped as JapaneseVowels' training
// set (29 timesteps of 12 channels) with 9 classes.
func jvShaped() ([][][]float64, []int) {
	rng := rand.New(rand.NewPCG(5, 6))
	x := randomSeries(rng, 270, 29, 12)
	y := make([]int, len(x))
	for i := range y {
		y[i] = i % 9
	}
	return x, y
}

// BenchmarkRocketFit fits each ROCKET-family classifier (transform and
// ridge with leave-one-out alpha) on 270 JapaneseVowels-shaped series.
func BenchmarkRocketFit(b *testing.B) {
	x, y := jvShaped()
	for _, c := range rocketClassifiers {
		b.Run(c.name, func(b *testing.B) {
			cpu0, cpuOK := cputime.Process()
			for b.Loop() {
				if err := c.make().Fit(context.Background(), x, y, 9); err != nil {
					b.Fatal(err)
				}
			}
			if cpu1, _ := cputime.Process(); cpuOK {
				b.ReportMetric((cpu1-cpu0).Seconds()/float64(b.N), "cpu-s/op")
			}
		})
	}
}

// BenchmarkRocketPredict predicts one series with each fitted ROCKET-family
// classifier.
func BenchmarkRocketPredict(b *testing.B) {
	x, y := jvShaped()
	for _, c := range rocketClassifiers {
		b.Run(c.name, func(b *testing.B) {
			p := c.make()
			if err := p.Fit(context.Background(), x, y, 9); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := p.Predict(context.Background(), x[0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMiniRocketTransformParallel transforms 256 cohort-sized series on
// GOMAXPROCS workers; ns/op is per batch of 256.
func BenchmarkMiniRocketTransformParallel(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	series := randomSeries(rng, 256, 45, 35)
	m, err := FitMiniRocket(context.Background(), series, MiniRocketConfig{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Transform(context.Background(), series); err != nil {
			b.Fatal(err)
		}
	}
}

// gbdtData makes n summary-like examples of p features (a tenth missing)
// and k classes, the label shifting the first few features.
func gbdtData(n, p, k int) ([][]float64, []int) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([][]float64, n)
	y := make([]int, n)
	for i := range x {
		y[i] = rng.IntN(k)
		x[i] = make([]float64, p)
		for j := range x[i] {
			x[i][j] = rng.NormFloat64()
			if j < 5 {
				x[i][j] += 0.5 * float64(y[i]%3)
			}
			if rng.IntN(10) == 0 {
				x[i][j] = math.NaN()
			}
		}
	}
	return x, y
}

// BenchmarkGBDTFit fits 20 rounds (no early stopping) on 1,000 examples of
// 217 features (the default cohort's 35 channels × 6 statistics + 1) and
// 12 classes, with one worker.
func BenchmarkGBDTFit(b *testing.B) {
	x, y := gbdtData(1000, 217, 12)
	b.ReportAllocs()
	cpu0, cpuOK := cputime.Process()
	for b.Loop() {
		if _, err := FitGBDT(context.Background(), x, y, 12, GBDTConfig{Rounds: 20, ValidationShare: -1, Seed: 1, Workers: 1}); err != nil {
			b.Fatal(err)
		}
	}
	if cpu1, _ := cputime.Process(); cpuOK {
		b.ReportMetric((cpu1-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	}
}

// BenchmarkGBDTPredict scores one example with a 50-round, 12-class model.
func BenchmarkGBDTPredict(b *testing.B) {
	x, y := gbdtData(1000, 217, 12)
	g, err := FitGBDT(context.Background(), x, y, 12, GBDTConfig{Rounds: 50, ValidationShare: -1, Seed: 1, Workers: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		g.Decision(x[0])
	}
}
