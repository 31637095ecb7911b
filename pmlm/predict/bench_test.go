package predict

import (
	"context"
	"math/rand/v2"
	"testing"
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

// benchmarkTransform reports the MiniRocket transform time per series of
// the given shape (fitted with that reference length, 9,996 features), with
// one worker, so that ns/op is the single-core cost of one series.
func benchmarkTransform(b *testing.B, length, channels int) {
	rng := rand.New(rand.NewPCG(1, 2))
	train := randomSeries(rng, 64, length, channels)
	m, err := FitMiniRocket(context.Background(), train, MiniRocketConfig{Seed: 1, Workers: 1})
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

// JapaneseVowels: 12 channels, at most 29 timesteps.
func BenchmarkMiniRocketTransformJapaneseVowels(b *testing.B) { benchmarkTransform(b, 29, 12) }

// The cohort's longest patient: 45 visits of 35 metrics.
func BenchmarkMiniRocketTransformCohort45x35(b *testing.B) { benchmarkTransform(b, 45, 35) }

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
