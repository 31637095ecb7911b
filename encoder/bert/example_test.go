package bert_test

import (
	"context"
	"fmt"
	"log"

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
