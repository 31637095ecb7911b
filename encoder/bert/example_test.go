package bert_test

import (
	"context"
	"fmt"
	"log"
	"math"
	"math/rand/v2"

	"github.com/pmlm-go/pmlm/encoder/bert"
)

func ExampleTokenizer() {
	vocab := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
		"high", "-", "dose", "cafe", "pre", "ec", "##lamp", "##sia", "中", "文"}
	tok, err := bert.NewTokenizer(vocab, bert.DefaultTokenizerConfig(), 512)
	if err != nil {
		log.Fatal(err)
	}
	res := tok.Tokenize("High-dose Café pre-eclampsia 中文 xyzzy")
	fmt.Println(res.Tokens)
	fmt.Println(res.WordOf)
	// Output:
	// [[CLS] high - dose cafe pre - ec ##lamp ##sia 中 文 [UNK] [SEP]]
	// [-1 0 0 0 1 2 2 2 2 2 3 3 4 -1]
}

// Load a local HuggingFace model directory and embed a sentence with the
// hidden states of layer 9 (BERTScore's default for bert-base-uncased).
func ExampleLoad() {
	m, err := bert.Load(context.Background(), "models/bert-base-uncased", bert.Options{Layer: bert.LayerOf(9)})
	if err != nil {
		log.Fatal(err)
	}
	enc, err := m.Encode(context.Background(), "Blood pressure was high at 30 weeks.")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Name(), len(enc.Tokens), len(enc.Vectors[0]))
}

// Embed a batch of sentences with a small random BERT through the fast
// forward, and check it against the stock cybertron forward on the same
// weights.
func ExampleModel_HiddenStatesBatch() {
	cfg := bert.Config{
		ModelType: "bert", HiddenSize: 32, NumHiddenLayers: 2, NumAttentionHeads: 4,
		IntermediateSize: 64, HiddenAct: "gelu", MaxPositionEmbeddings: 64, TypeVocabSize: 2,
		VocabSize: 10, LayerNormEps: 1e-12, PositionEmbeddingType: "absolute",
	}
	vocab := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "blood", "pressure", "was", "high", "low"}
	m, err := bert.NewRandom(cfg, bert.DefaultTokenizerConfig(), vocab, rand.New(rand.NewPCG(1, 2)), bert.Options{})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	batch := [][]int{{2, 5, 6, 7, 8, 3}, {2, 5, 6, 7, 9, 3}, {2, 9, 3}}
	fast, err := m.HiddenStatesBatch(ctx, batch, 2)
	if err != nil {
		log.Fatal(err)
	}
	stock, err := m.WithForward(bert.ForwardCybertron).HiddenStatesBatch(ctx, batch, 2)
	if err != nil {
		log.Fatal(err)
	}
	var worst float64
	for s := range batch {
		for t := range batch[s] {
			for j := range fast[s][t] {
				worst = max(worst, math.Abs(float64(fast[s][t][j]-stock[s][t][j])))
			}
		}
	}
	fmt.Println(len(fast), len(fast[0]), len(fast[0][0]), worst < 1e-5)
	// Output: 3 6 32 true
}
