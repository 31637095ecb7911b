package reward_test

import (
	"context"
	"fmt"

	"github.com/pmlm-go/pmlm/encoder/wordvec"
	"github.com/pmlm-go/pmlm/reward"
)

func ExampleBLEU() {
	bleu, err := reward.NewBLEU(reward.BLEUOptions{}) // sacrebleu defaults
	if err != nil {
		panic(err)
	}
	hyps := []string{"The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."}
	refs := [][]string{ // reference streams, as sacrebleu takes them
		{"The dog bit the man.", "It was not unexpected.", "The man bit him first."},
		{"The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."},
	}
	s, err := bleu.Corpus(hyps, refs)
	if err != nil {
		panic(err)
	}
	fmt.Printf("BLEU = %.2f\n", s.Score)
	// Output: BLEU = 48.53
}

func ExampleROUGE() {
	r, err := reward.NewROUGE([]string{reward.ROUGE1, reward.ROUGEL}, true)
	if err != nil {
		panic(err)
	}
	s := r.Score("The cat was found under the bed", "The cat was under the bed")
	fmt.Printf("rouge1 F=%.4f rougeL F=%.4f\n", s[reward.ROUGE1].FMeasure, s[reward.ROUGEL].FMeasure)
	// Output: rouge1 F=0.9231 rougeL F=0.9231
}

func ExampleBERTScorer() {
	vecs, err := wordvec.Default()
	if err != nil {
		panic(err)
	}
	s := reward.NewBERTScorer(vecs, reward.BERTScoreOptions{})
	res, err := s.Score(context.Background(),
		[]string{"Mild anemia after delivery."},
		[][]string{{"Mild anemia after delivery."}})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s F=%.3f\n", res.Embedder, res.Pairs[0].F)
	// Output: glove-wink-sg-100d F=1.000
}
