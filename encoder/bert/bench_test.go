package bert

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
)

// bertBaseConfig is bert-base-uncased's shape.
func bertBaseConfig() Config {
	return Config{
		ModelType: "bert", HiddenSize: 768, NumHiddenLayers: 12, NumAttentionHeads: 12,
		IntermediateSize: 3072, HiddenAct: "gelu", MaxPositionEmbeddings: 512, TypeVocabSize: 2,
		VocabSize: 30522, LayerNormEps: 1e-12, PositionEmbeddingType: "absolute",
	}
}

// BenchmarkBERTForward runs a bert-base-sized random model (12 layers,
// hidden 768, 12 heads, 3072 intermediate, vocabulary 30522) on 128
// tokens up to layer 9, per sentence. Building the model takes a few
// seconds and happens once.
func BenchmarkBERTForward(b *testing.B) {
	cfg := bertBaseConfig()
	vocab := make([]string, cfg.VocabSize)
	copy(vocab, []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"})
	for i := 5; i < len(vocab); i++ {
		vocab[i] = fmt.Sprintf("w%d", i)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	m, err := NewRandom(cfg, DefaultTokenizerConfig(), vocab, rng, Options{Layer: LayerOf(9)})
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]int, 128)
	ids[0], ids[127] = 2, 3
	for i := 1; i < 127; i++ {
		ids[i] = 5 + rng.IntN(cfg.VocabSize-5)
	}
	ctx := context.Background()
	b.Run("cybertron", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.HiddenStatesIDs(ctx, ids, 9); err != nil {
				b.Fatal(err)
			}
		}
	})
}
