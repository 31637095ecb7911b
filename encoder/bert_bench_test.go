package encoder_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/pmlm-go/pmlm/encoder/bert"
	"github.com/pmlm-go/pmlm/internal/cputime"
)

// BenchmarkBERTForward runs a bert-base-sized random model (12 layers,
// hidden 768, 12 heads, 3072 intermediate, vocabulary 30522) on 128-token
// sentences up to layer 9, the BERTScore setting. Sub-benchmarks run the
// same weights through the project's fast kernels and through the stock
// cybertron/spago graph, so one run compares them; the batch16 ones feed
// 16 sentences per call and report the time per sentence. Besides wall
// time per sentence, each reports the process CPU time per sentence
// (cpu-ms/sentence), which other jobs on a shared machine disturb less.
// Building the model takes a few seconds and happens once.
func BenchmarkBERTForward(b *testing.B) {
	cfg := bert.BaseConfig()
	vocab := make([]string, cfg.VocabSize)
	copy(vocab, []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"})
	for i := 5; i < len(vocab); i++ {
		vocab[i] = fmt.Sprintf("w%d", i)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	m, err := bert.NewRandom(cfg, bert.DefaultTokenizerConfig(), vocab, rng, bert.Options{Layer: bert.LayerOf(9)})
	if err != nil {
		b.Fatal(err)
	}
	sentence := func() []int {
		ids := make([]int, 128)
		ids[0], ids[127] = 2, 3
		for i := 1; i < 127; i++ {
			ids[i] = 5 + rng.IntN(cfg.VocabSize-5)
		}
		return ids
	}
	const layer = 9
	ctx := context.Background()
	one := [][]int{sentence()}
	batch16 := make([][]int, 16)
	for i := range batch16 {
		batch16[i] = sentence()
	}
	run := func(m *bert.Model, batch [][]int) func(b *testing.B) {
		return func(b *testing.B) {
			// The fast path packs its weights on first use; keep that out.
			if _, err := m.HiddenStatesBatch(ctx, batch[:1], layer); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			cpu0, cpuOK := cputime.Process()
			for b.Loop() {
				if _, err := m.HiddenStatesBatch(ctx, batch, layer); err != nil {
					b.Fatal(err)
				}
			}
			sentences := float64(b.N * len(batch))
			b.ReportMetric(b.Elapsed().Seconds()*1e3/sentences, "ms/sentence")
			if cpu1, _ := cputime.Process(); cpuOK {
				// CPU time of all threads: about twice the wall time when
				// both cores work, and steadier than it on a shared machine.
				b.ReportMetric((cpu1-cpu0).Seconds()*1e3/sentences, "cpu-ms/sentence")
			}
		}
	}
	fast, stock := m.WithForward(bert.ForwardFast), m.WithForward(bert.ForwardCybertron)
	b.Run("fast", run(fast, one))
	b.Run("cybertron", run(stock, one))
	b.Run("fast/batch16", run(fast, batch16))
}
