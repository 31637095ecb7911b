package reward_test

import (
	"context"
	"fmt"

	"github.com/pmlm-go/pmlm/encoder/wordvec"
	"github.com/pmlm-go/pmlm/reward"
)

// With Batched, the similarity matrices run as one batched float32 product
// (on the GPU in a binary built with the cuda tag); the scores agree with the
// exact float64 path to about 1e-6.
func ExampleBERTScoreOptions_batched() {
	vecs, err := wordvec.Default()
	if err != nil {
		panic(err)
	}
	cands := []string{"Severe preeclampsia; cesarean at 34 weeks."}
	refs := [][]string{{"Preeclampsia with severe features, delivered by cesarean at 34 weeks."}}
	s := reward.NewBERTScorer(vecs, reward.BERTScoreOptions{Batched: true})
	defer s.Close()
	scores, err := s.Score(context.Background(), cands, refs)
	if err != nil {
		panic(err)
	}
	exact, err := reward.NewBERTScorer(vecs, reward.BERTScoreOptions{}).Score(context.Background(), cands, refs)
	if err != nil {
		panic(err)
	}
	fmt.Printf("F %.4f, exact F %.4f\n", scores.Pairs[0].F, exact.Pairs[0].F)
	// Output: F 0.9232, exact F 0.9232
}
