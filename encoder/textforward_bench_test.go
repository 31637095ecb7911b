package encoder_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/pmlm-go/pmlm/encoder/bert"
	"github.com/pmlm-go/pmlm/encoder/use"
	"github.com/pmlm-go/pmlm/internal/cputime"
)

// BenchmarkTextForward runs the forward pass of the embedded Universal
// Sentence Encoder lite (both layers and the sentence vector) and, beside
// it, the BERT fast path (a random bert-base-sized model up to layer 9,
// the BERTScore setting) on random sentences of 16, 64 and 128 tokens, one
// or 16 per call, reporting wall and process CPU time per sentence (as
// BenchmarkBERTForward does). Both use GOMAXPROCS goroutines. Models are
// built once, outside the timings.
func BenchmarkTextForward(b *testing.B) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	m, err := use.Default()
	if err != nil {
		b.Fatal(err)
	}
	cfg := bert.BaseConfig()
	vocab := make([]string, cfg.VocabSize)
	copy(vocab, []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"})
	for i := 5; i < len(vocab); i++ {
		vocab[i] = fmt.Sprintf("w%d", i)
	}
	bm, err := bert.NewRandom(cfg, bert.DefaultTokenizerConfig(), vocab, rng, bert.Options{Layer: bert.LayerOf(9)})
	if err != nil {
		b.Fatal(err)
	}
	bm = bm.WithForward(bert.ForwardFast)
	batchOf := func(n, tokens, vocab, first int) [][]int {
		out := make([][]int, n)
		for i := range out {
			out[i] = make([]int, tokens)
			for j := range out[i] {
				out[i][j] = first + rng.IntN(vocab-first)
			}
		}
		return out
	}
	measure := func(b *testing.B, sentences int, fn func() error) {
		if err := fn(); err != nil { // warm-up: packing, scratch
			b.Fatal(err)
		}
		b.ReportAllocs()
		cpu0, cpuOK := cputime.Process()
		for b.Loop() {
			if err := fn(); err != nil {
				b.Fatal(err)
			}
		}
		n := float64(b.N * sentences)
		b.ReportMetric(b.Elapsed().Seconds()*1e3/n, "ms/sentence")
		if cpu1, _ := cputime.Process(); cpuOK {
			b.ReportMetric((cpu1-cpu0).Seconds()*1e3/n, "cpu-ms/sentence")
		}
	}
	for _, tokens := range []int{16, 64, 128} {
		for _, batch := range []int{1, 16} {
			name := fmt.Sprintf("tokens%d/batch%d", tokens, batch)
			ub := batchOf(batch, tokens, m.Tokenizer().VocabSize(), 6)
			b.Run("use/"+name, func(b *testing.B) {
				measure(b, batch, func() error { _, err := m.Run(ctx, ub); return err })
			})
			bb := batchOf(batch, tokens, cfg.VocabSize, 5)
			b.Run("bert-fast/"+name, func(b *testing.B) {
				measure(b, batch, func() error { _, err := bm.HiddenStatesBatch(ctx, bb, 9); return err })
			})
		}
	}
}
