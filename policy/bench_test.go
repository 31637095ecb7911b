package policy

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
)

// Sizes of the paper's setting with the embedded 100-d word vectors and the
// 128-d patient encoding.
const benchWords, benchDW, benchDP = 100, 100, 128

func benchSetup(b *testing.B) (*MLP, *staticText, string, mat.Tensor) {
	b.Helper()
	m, err := New(DefaultConfig(benchDW, benchDP), 1)
	if err != nil {
		b.Fatal(err)
	}
	words := make([]string, benchWords)
	for i := range words {
		words[i] = fmt.Sprintf("w%d", i)
	}
	text := randomVectors(words, benchDW, 1)
	xs := make([]float32, benchDP)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range xs {
		xs[i] = float32(rng.NormFloat64())
	}
	return m, text, strings.Join(words, " "), column(xs...)
}

// BenchmarkPolicyStep scores one 100-word state (d_w=100, d_p=128) in the
// batched graph, with dropout, and builds the log-probability of one word.
func BenchmarkPolicyStep(b *testing.B) {
	m, _, _, x := benchSetup(b)
	words := randomWords(benchWords, benchDW, rand.New(rand.NewPCG(2, 2)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		z, err := m.Logits(words, x, true)
		if err != nil {
			b.Fatal(err)
		}
		lp := ag.Sub(ag.At(z, 3, 0), ag.LogSumExp(z))
		lp.Value()
	}
}

// BenchmarkPolicyStepBackward adds the backward pass of that step.
func BenchmarkPolicyStepBackward(b *testing.B) {
	m, _, _, x := benchSetup(b)
	words := randomWords(benchWords, benchDW, rand.New(rand.NewPCG(2, 2)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		z, err := m.Logits(words, x, true)
		if err != nil {
			b.Fatal(err)
		}
		if err := ag.Backward(ag.Sub(ag.At(z, 3, 0), ag.LogSumExp(z))); err != nil {
			b.Fatal(err)
		}
		zeroGrads(m.Params())
	}
}

// BenchmarkEpisode plays one training episode (n=10 deletions, sampled,
// dropout on) from a 100-word prompt with a static TextEncoder, and
// reports the TextEncoder's and the policy's share.
func BenchmarkEpisode(b *testing.B) {
	m, text, s0, x := benchSetup(b)
	rng := rand.New(rand.NewPCG(3, 3))
	var enc, pol time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ep, err := Run(context.Background(), m, text, s0, x, Options{Steps: DefaultSteps, Train: true}, rng)
		if err != nil {
			b.Fatal(err)
		}
		enc += ep.EncodeTime
		pol += ep.PolicyTime
	}
	b.ReportMetric(float64(enc.Microseconds())/1e3/float64(b.N), "encode-ms/op")
	b.ReportMetric(float64(pol.Microseconds())/1e3/float64(b.N), "policy-ms/op")
}

// BenchmarkRefine is greedy inference (n=10, no dropout) on a 100-word prompt.
func BenchmarkRefine(b *testing.B) {
	m, text, s0, x := benchSetup(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Refine(context.Background(), m, text, s0, x, DefaultSteps); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTrainStep runs one optimizer step of the Trainer: a mini-batch
// of 8 episodes (n=10, 100-word prompts) with a cheap reward, the
// backward passes and the Adam update, and reports the breakdown (episode
// parts summed over the batch's concurrent episodes). "tape" is the MLP's
// graph-free training pass (the trainer's path for an MLP), "graph" the
// same network trained through spago's graph (the path of other policies).
func BenchmarkTrainStep(b *testing.B) {
	for _, path := range []string{"tape", "graph"} {
		b.Run(path, func(b *testing.B) {
			m, text, s0, x := benchSetup(b)
			var p Policy = m
			if path == "graph" {
				p = graphOnly{m}
			}
			cases := &benchCases{prompt: s0, x: x.Data().F32(), n: 8}
			tr, err := NewTrainer(TrainerConfig{
				Policy: p, Text: text, Cases: cases, BatchSize: 8,
				Reward: func(_ context.Context, _ int, final string) (float64, error) {
					return float64(len(final)%7) / 7, nil
				},
			})
			if err != nil {
				b.Fatal(err)
			}
			idx := []int{0, 1, 2, 3, 4, 5, 6, 7}
			var tm Timing
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_, st, err := tr.step(context.Background(), idx)
				if err != nil {
					b.Fatal(err)
				}
				tm.Add(st)
			}
			per := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 / float64(b.N) }
			b.ReportMetric(per(tm.Encode), "encode-ms/op")
			b.ReportMetric(per(tm.Policy), "policy-ms/op")
			b.ReportMetric(per(tm.Backward), "backward-ms/op")
			b.ReportMetric(per(tm.Update), "adam-ms/op")
		})
	}
}

// graphOnly hides the MLP's type from the trainer, which then trains it
// through its spago graph.
type graphOnly struct{ *MLP }

type benchCases struct {
	prompt string
	x      []float32
	n      int
}

func (c *benchCases) Len() int          { return c.n }
func (c *benchCases) Prompt(int) string { return c.prompt }
func (c *benchCases) Patient(context.Context, int, bool) (mat.Tensor, error) {
	x := column(append([]float32(nil), c.x...)...)
	x.SetRequiresGrad(true) // as if from a patient encoder's graph
	return x, nil
}

// BenchmarkRefineFrozen is BenchmarkRefine through the graph-free
// snapshot (MLP.Freeze, RefineWith).
func BenchmarkRefineFrozen(b *testing.B) {
	m, text, s0, x := benchSetup(b)
	f := m.Freeze()
	xs := x.Data().F32()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := RefineWith(context.Background(), f, text, s0, xs, DefaultSteps); err != nil {
			b.Fatal(err)
		}
	}
}
