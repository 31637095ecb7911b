package pmlm_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/synth"
	"github.com/pmlm-go/pmlm/similarity"
)

// Train a pipeline on a small synthetic cohort, answer a test patient,
// save the model and load it back. The example prints the coarse prompt's
// parts and the number of words the policy deleted.
func Example() {
	ctx := context.Background()
	opts := synth.DefaultOptions()
	opts.Patients, opts.Visits, opts.Seed = 150, 0, 11
	c, err := synth.Generate(opts) // or cohort.ReadDir("data", cohort.ReadOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := pmlm.Train(ctx, c, pmlm.TrainOptions{
		CrossFitFolds: 2, MaxEpisodes: 16, MaxValidation: 8, Seed: 7, // small, for the example
		StoreCases: true, // the case responder answers with the stored replies
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, _, test := c.Split(cohort.DefaultSplit())
	a, err := p.Respond(ctx, test[0], pmlm.RespondOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("predicted:", a.PredictedLabel)
	fmt.Println("most similar:", a.Similar[0].Label, a.Similar[0].Count)
	fmt.Println("words deleted:", len(a.Deletions))

	dir, err := os.MkdirTemp("", "pmlm-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	if err := p.Save(filepath.Join(dir, "model")); err != nil {
		fmt.Println(err)
		return
	}
	q, err := pmlm.Load(ctx, filepath.Join(dir, "model"), pmlm.LoadOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	b, err := q.Respond(ctx, test[0], pmlm.RespondOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("same prompts after Load:", a.Coarse == b.Coarse && a.Final == b.Final)
	// Output:
	// predicted: normal
	// most similar: normal 6
	// words deleted: 10
	// same prompts after Load: true
}

// latest is a custom recommender: it ignores the encodings and returns the
// last training patients by key (the patients' opaque keys, an arbitrary
// but fixed order), still honouring the exclusion of the query patient's
// own key. An approximate
// index or an external vector store plugs in the same way.
type latest struct{ refs []similarity.Reference }

func (l latest) Recommend(_ context.Context, q similarity.Query) ([]similarity.Neighbor, error) {
	var out []similarity.Neighbor
	for i := len(l.refs) - 1; i >= 0 && len(out) < q.K; i-- {
		if r := l.refs[i]; !slices.Contains(q.Exclude, r.Key) {
			out = append(out, similarity.Neighbor{Index: i, Key: r.Key, Label: r.Label, Similarity: 1})
		}
	}
	return out, nil
}

// Plug a custom Recommender into the pipeline through its factory. The
// prompt builder shows its effect without training a policy; Train takes
// the same TrainOptions. (To Save such a pipeline, the recommender also
// implements pmlm.Saver, and Load gets its loader in LoadOptions.Loaders.)
func Example_customRecommender() {
	ctx := context.Background()
	opts := synth.DefaultOptions()
	opts.Patients, opts.Visits, opts.Seed = 150, 0, 11
	c, err := synth.Generate(opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	b, err := pmlm.NewPromptBuilder(ctx, c, pmlm.TrainOptions{
		K: 3, Seed: 7, NoSelfPersonalization: true,
		NewRecommender: func(_ context.Context, refs []similarity.Reference) (similarity.Recommender, error) {
			refs = slices.Clone(refs)
			slices.SortFunc(refs, func(a, b similarity.Reference) int { return strings.Compare(a.Key, b.Key) })
			return latest{refs}, nil
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, _, test := c.Split(cohort.DefaultSplit())
	s0, err := b.Build(ctx, test[0].Matrix(), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range s0.Similar {
		fmt.Println(s.Label, s.Count)
	}
	// Output:
	// uterine scar 1
	// gestational diabetes 1
	// placental dysfunction 1
}

// Build the coarse prompt of a patient without training a policy: the
// prompt builder Train uses, fitted with the same options.
func ExampleNewPromptBuilder() {
	ctx := context.Background()
	opts := synth.DefaultOptions()
	opts.Patients, opts.Visits, opts.Seed = 150, 0, 11
	c, err := synth.Generate(opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	b, err := pmlm.NewPromptBuilder(ctx, c, pmlm.TrainOptions{Seed: 7})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, _, test := c.Split(cohort.DefaultSplit())
	s0, err := b.Build(ctx, test[0].Matrix(), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s0.Prompt)
	// Output:
	// Background: the data are the laboratory examinations of a pregnant patient over the course of her pregnancy. Task: write the discharge advice her doctor would give her after delivery. Patient: her predicted discharge diagnosis is normal. Similar patients: among the 10 most similar past patients, the discharge diagnosis was normal for 6, uterine scar for 2, gestational hypertension for 1, and gestational diabetes for 1. Please give clear, specific and personalized discharge advice for this patient.
}

// DeletionPrompts deletes whole diagnoses from a coarse prompt, one after
// the other, within a budget of words: the refinement oracle and the
// truth-free rules of the headroom experiment are built on it.
func ExampleDeletionPrompts() {
	c := pmlm.Coarse{
		PredictedLabel: "uterine scar",
		Prompt:         "Her predicted discharge diagnosis is uterine scar. Similar patients: normal for 6, uterine scar for 3, thalassemia for 1.",
	}
	for _, p := range pmlm.DeletionPrompts(c, []string{"thalassemia", "uterine scar"}, 10) {
		fmt.Println(p)
	}
	// Output:
	// Her predicted discharge diagnosis is uterine scar. Similar patients: normal for 6, uterine scar for 3, for 1.
	// Her predicted discharge diagnosis is Similar patients: normal for 6, for 3, for 1.
}
