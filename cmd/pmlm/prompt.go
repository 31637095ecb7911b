package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"strings"

	"github.com/pmlm-go/pmlm/encoder/mlp"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/predict"
	"github.com/pmlm-go/pmlm/pmlm/prompt"
	"github.com/pmlm-go/pmlm/similarity"
)

// promptCommand prints one patient's prompt: PMLM's coarse prompt, the
// paper's general evaluation prompt, or the task alone.
func promptCommand() command {
	return command{
		name:  "prompt",
		usage: "prompt DIR --patient ID [--kind coarse|general|task] [--stats] [--k 10] [--warm-start] [--features N] [--template FILE]",
		summary: "print the coarse personalized prompt (paper figure 4) of one patient of the cohort in DIR\n\n" +
			"Fits, on the training split (index date up to 2021-12-31), the MiniRocket predictor\n" +
			"for the patient's predicted label and the patient encoder (seeded random weights, or\n" +
			"warm-started on the training labels with --warm-start), then lists the true labels of\n" +
			"the k most similar training patients (the patient itself excluded). For a patient of\n" +
			"the training split the predicted label is an in-sample prediction. The prompt holds no\n" +
			"identifier and no laboratory value.\n\n" +
			"--kind general prints instead the paper's evaluation prompt (figure 5): the task and the\n" +
			"patient's laboratory history as text (per indicator first and last value, range, trend).\n" +
			"It carries raw laboratory values: send it to an external LLM only on explicit opt-in.\n" +
			"--kind task prints the task alone. --stats prints the words per prompt (min, mean, max)\n" +
			"over every patient instead of one patient's prompt.",
		flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			id := fs.String("patient", "", "ID of the patient (required unless --stats)")
			kind := fs.String("kind", "coarse", "coarse (PMLM), general (task and lab history; raw values) or task (no patient information)")
			stats := fs.Bool("stats", false, "print the words per prompt over every patient")
			k := fs.Int("k", 10, "number of similar training patients")
			warm := fs.Bool("warm-start", false, "warm-start the encoder with a label classifier on the training split")
			seed := fs.Uint64("seed", 1, "seed of the encoder's initialization, the warm start and MiniRocket")
			features := fs.Int("features", 10_000, "number of MiniRocket features")
			tmplFile := fs.String("template", "", "file holding a text/template over prompt.Data (default: prompt.DefaultText)")
			return func(ctx context.Context, e *env, args []string) error {
				if err := wantArgs(args, 1); err != nil {
					return err
				}
				if *id == "" && !*stats {
					return fmt.Errorf("%w: --patient is required", errUsage)
				}
				if *k <= 0 {
					return fmt.Errorf("%w: --k must be positive, got %d", errUsage, *k)
				}
				if *kind != "coarse" && *kind != "general" && *kind != "task" {
					return fmt.Errorf("%w: --kind must be coarse, general or task, got %q", errUsage, *kind)
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
				c, _, err := cohort.ReadDir(args[0], cohort.ReadOptions{})
				if err != nil {
					return err
				}
				var target *cohort.Patient
				if !*stats {
					if target = c.Patient(*id); target == nil {
						return fmt.Errorf("%s: %w", args[0], errNoPatient)
					}
				}
				render := func(p *cohort.Patient) (string, error) { return pmlm.GeneralPrompt(c.Metrics, p) }
				switch *kind {
				case "task":
					render = func(*cohort.Patient) (string, error) { return prompt.TaskOnly(), nil }
				case "coarse":
					pr, err := newPrompter(ctx, c, promptOptions{k: *k, warmStart: *warm, seed: *seed, features: *features, template: tp})
					if err != nil {
						return fmt.Errorf("%s: %w", args[0], err)
					}
					render = func(p *cohort.Patient) (string, error) { return pr.prompt(ctx, p) }
				}
				if *stats {
					return promptStats(e, *kind, c, render)
				}
				p, err := render(target)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(e.stdout, p)
				return err
			}
		},
	}
}

// promptStats prints the whitespace-separated words per prompt over every
// patient of c.
func promptStats(e *env, kind string, c *cohort.Cohort, render func(*cohort.Patient) (string, error)) error {
	if len(c.Patients) == 0 {
		return fmt.Errorf("--stats: the cohort has no patients")
	}
	lo, hi, sum := math.MaxInt, 0, 0
	for i := range c.Patients {
		p, err := render(&c.Patients[i])
		if err != nil {
			return err
		}
		n := len(strings.Fields(p))
		lo, hi, sum = min(lo, n), max(hi, n), sum+n
	}
	_, err := fmt.Fprintf(e.stdout, "%s prompts of %d patients: words per prompt min %d, mean %.1f, max %d\n",
		kind, len(c.Patients), lo, float64(sum)/float64(len(c.Patients)), hi)
	return err
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
