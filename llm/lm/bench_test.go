package lm

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/internal/cputime"
)

// benchModel is a default-shaped model over a vocabulary of about 1,500
// pieces (the general responder trained on the default synthetic cohort
// has 1,525) with random weights.
func benchModel(b *testing.B) *Model {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	var texts []string
	for range 30 {
		var sb strings.Builder
		for range 50 {
			fmt.Fprintf(&sb, "w%c%c%c ", 'a'+rng.IntN(26), 'a'+rng.IntN(26), 'a'+rng.IntN(26))
		}
		texts = append(texts, sb.String())
	}
	v, err := NewVocabulary(texts, 1)
	require.NoError(b, err)
	b.Logf("vocabulary of %d pieces", v.Size())
	m, err := New(DefaultConfig(), v, 1)
	require.NoError(b, err)
	return m
}

// BenchmarkTrainTokens measures training throughput: one optimizer step
// over 16 sequences of 60 prompt and 200 reply tokens (the general
// corpus's typical shape), all workers.
func BenchmarkTrainTokens(b *testing.B) {
	m := benchModel(b)
	rng := rand.New(rand.NewPCG(3, 4))
	var ex []Example
	for range 16 {
		ex = append(ex, Example{Prompt: randomText(m, rng, 60), Reply: randomText(m, rng, 200)})
	}
	opt := TrainOptions{Epochs: 1, BatchSize: 16}
	cpu0, cpuOK := cputime.Process()
	b.ResetTimer()
	tokens := 0
	for range b.N {
		rep, err := Train(context.Background(), m, ex, opt)
		require.NoError(b, err)
		tokens += rep.Tokens
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
	if cpu1, ok := cputime.Process(); ok && cpuOK {
		// Tokens per second of CPU time, all threads: what other jobs on
		// the machine disturb less.
		b.ReportMetric(float64(tokens)/(cpu1-cpu0).Seconds(), "tokens/cpu-s")
	}
}

// BenchmarkAnswer measures the latency of one answer: a 100-token prompt
// read, then 220 tokens written one at a time (the length of a synthetic
// doctor's reply).
func BenchmarkAnswer(b *testing.B) {
	m := benchModel(b)
	rng := rand.New(rand.NewPCG(5, 6))
	prompt := m.promptIDs(randomText(m, rng, 100))
	cpu0, cpuOK := cputime.Process()
	b.ResetTimer()
	for range b.N {
		d := m.getDecoder()
		logits := d.forward(prompt)
		for range 220 {
			logits = d.forward([]int{argmax(logits)})
		}
		m.putDecoder(d)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/answer")
	if cpu1, ok := cputime.Process(); ok && cpuOK {
		b.ReportMetric(float64((cpu1-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/answer")
	}
}

// randomText is n random single-token words of the model's vocabulary.
func randomText(m *Model, rng *rand.Rand, n int) string {
	var sb strings.Builder
	for range n {
		sb.WriteString(m.vocab.Piece(numSpecial + rng.IntN(m.vocab.Size()-numSpecial)))
	}
	return sb.String()
}
