package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/pmlm-go/pmlm/encoder/mlp"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/predict"
	"github.com/pmlm-go/pmlm/pmlm/prompt"
	"github.com/pmlm-go/pmlm/similarity"
)

// promptCommand prints the coarse personalized prompt of one patient.
func promptCommand() command {
	return command{
		name:  "prompt",
		usage: "prompt DIR --patient ID [--k 10] [--warm-start] [--features N] [--template FILE]",
		summary: "print the coarse personalized prompt (paper figure 4) of one patient of the cohort in DIR\n\n" +
			"Fits, on the training split (index date up to 2021-12-31), the MiniRocket predictor\n" +
			"for the patient's predicted label and the patient encoder (seeded random weights, or\n" +
			"warm-started on the training labels with --warm-start), then lists the true labels of\n" +
			"the k most similar training patients (the patient itself excluded). For a patient of\n" +
			"the training split the predicted label is an in-sample prediction. The prompt holds no\n" +
			"identifier and no laboratory value.",
		flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			id := fs.String("patient", "", "ID of the patient (required)")
			k := fs.Int("k", 10, "number of similar training patients")
			warm := fs.Bool("warm-start", false, "warm-start the encoder with a label classifier on the training split")
			seed := fs.Uint64("seed", 1, "seed of the encoder's initialization, the warm start and MiniRocket")
			features := fs.Int("features", 10_000, "number of MiniRocket features")
			tmplFile := fs.String("template", "", "file holding a text/template over prompt.Data (default: prompt.DefaultText)")
			return func(ctx context.Context, e *env, args []string) error {
				if err := wantArgs(args, 1); err != nil {
					return err
				}
				if *id == "" {
					return fmt.Errorf("%w: --patient is required", errUsage)
				}
				if *k <= 0 {
					return fmt.Errorf("%w: --k must be positive, got %d", errUsage, *k)
				}
				tp := prompt.Default()
				if *tmplFile != "" {
					text, err := os.ReadFile(*tmplFile)
					if err != nil {
						return err
					}
					if tp, err = prompt.NewTemplate(string(text)); err != nil {
						return fmt.Errorf("%s: %w", *tmplFile, err)
					}
				}
				p, err := coarsePrompt(ctx, args[0], *id, promptOptions{
					k: *k, warmStart: *warm, seed: *seed, features: *features, template: tp,
				})
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(e.stdout, p)
				return err
			}
		},
	}
}

type promptOptions struct {
	k         int
	warmStart bool
	seed      uint64
	features  int
	template  *prompt.Template
}

// errNoPatient is returned when the --patient ID is not in the cohort. The
// message does not repeat the ID: identifiers are not logged.
var errNoPatient = errors.New("no patient with the given --patient ID")

// coarsePrompt wires predictor, encoder, recommender and template for one
// patient of the cohort in dir.
func coarsePrompt(ctx context.Context, dir, id string, o promptOptions) (string, error) {
	c, _, err := cohort.ReadDir(dir, cohort.ReadOptions{})
	if err != nil {
		return "", err
	}
	target := c.Patient(id)
	if target == nil {
		return "", fmt.Errorf("%s: %w", dir, errNoPatient)
	}
	pr, err := newPrompter(ctx, c, o)
	if err != nil {
		return "", fmt.Errorf("%s: %w", dir, err)
	}
	return pr.prompt(ctx, target)
}

// prompter renders the coarse prompts of a cohort's patients with the
// predictor and the encoder fitted once on its training split.
type prompter struct {
	c     *cohort.Cohort
	o     promptOptions
	train []*cohort.Patient
	pred  *predict.MiniRocketClassifier
	enc   *mlp.MLP
	vecs  [][]float32
	rec   *similarity.Exact
}

func newPrompter(ctx context.Context, c *cohort.Cohort, o promptOptions) (*prompter, error) {
	train, _, _ := c.Split(cohort.DefaultSplit())
	if len(train) < 2 {
		return nil, fmt.Errorf("the training split (index date ≤ %s) has %d patients, need at least 2",
			cohort.DefaultSplit().TrainEnd.Format(cohort.DateLayout), len(train))
	}
	series := make([][][]float64, len(train))
	labels := make([]int, len(train))
	names := make([]string, len(train))
	for i, p := range train {
		series[i] = visitMatrix(p)
		labels[i] = c.LabelIndex(p.Label)
		names[i] = p.Label
	}
	pr := &prompter{c: c, o: o, train: train}

	// Self-informed personalization: the predictor.
	pr.pred = &predict.MiniRocketClassifier{Config: predict.MiniRocketConfig{NumFeatures: o.features, Seed: o.seed}}
	if err := pr.pred.Fit(ctx, series, labels, len(c.Labels)); err != nil {
		return nil, err
	}

	// Peer-informed personalization: the encoder and the recommender.
	std, err := mlp.FitStandardizer(series)
	if err != nil {
		return nil, err
	}
	cfg := mlp.DefaultConfig(len(c.Metrics))
	cfg.MaxVisits = cohort.DefaultMaxVisits
	if pr.enc, err = mlp.New(cfg, std, o.seed); err != nil {
		return nil, err
	}
	if o.warmStart {
		opt := mlp.DefaultWarmStartOptions()
		opt.Seed = o.seed
		if _, err := pr.enc.WarmStart(ctx, series, labels, len(c.Labels), opt); err != nil {
			return nil, err
		}
	}
	pr.vecs = make([][]float32, len(series))
	for i, s := range series {
		if pr.vecs[i], err = pr.enc.Encode(s); err != nil {
			return nil, err
		}
	}
	if pr.rec, err = similarity.NewExact(pr.vecs, names); err != nil {
		return nil, err
	}
	return pr, nil
}

// prompt returns the coarse prompt of target; a training patient is not
// among its own similar patients.
func (pr *prompter) prompt(ctx context.Context, target *cohort.Patient) (string, error) {
	res, err := pr.pred.Predict(ctx, visitMatrix(target))
	if err != nil {
		return "", err
	}
	predicted := "unknown"
	if res.Label >= 0 && res.Label < len(pr.c.Labels) {
		predicted = pr.c.Labels[res.Label]
	}
	self := -1
	for i, p := range pr.train {
		if p == target {
			self = i
		}
	}
	var query []float32
	var exclude []int
	if self >= 0 {
		query, exclude = pr.vecs[self], []int{self}
	} else if query, err = pr.enc.Encode(visitMatrix(target)); err != nil {
		return "", err
	}
	nb, err := pr.rec.TopK(query, pr.o.k, exclude...)
	if err != nil {
		return "", err
	}
	return pr.o.template.Render(prompt.FromNeighbors(predicted, nb))
}

// visitMatrix returns the patient's visits as [visits][metrics].
func visitMatrix(p *cohort.Patient) [][]float64 {
	m := make([][]float64, len(p.Visits))
	for i, v := range p.Visits {
		m[i] = v.Values
	}
	return m
}
