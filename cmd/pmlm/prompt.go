package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"strings"

	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/predict"
	"github.com/pmlm-go/pmlm/pmlm/prompt"
)

// promptCommand prints one patient's prompt: PMLM's coarse prompt, the
// paper's general evaluation prompt, or the task alone.
func promptCommand() command {
	return command{
		name: "prompt",
		usage: "prompt DIR --patient ID [--kind coarse|general|task] [--brief] [--only LIST] [--stats] [--k 10] [--warm-start] [--seed N] [--features N] [--template FILE]\n" +
			"       prompt MODEL --data DIR --patient ID [--stats]",
		summary: "print the coarse personalized prompt (paper figure 4) of one patient\n\n" +
			"With --data, MODEL is a model directory written by train, and the prompt is exactly\n" +
			"the coarse prompt respond refines for the patient of the cohort in DIR, read with the\n" +
			"data flags the model was trained with unless they are given.\n\n" +
			"Without --data, DIR is a cohort: the prompt builder is fitted on its training split\n" +
			"(index date up to 2021-12-31) as train fits it with the same --seed, --k and\n" +
			"--warm-start (the label predictor, the patient encoder and the recommender; no\n" +
			"policy), so test patients get the prompts a model trained with those flags shows.\n" +
			"A training patient is excluded from its own similar patients and gets an\n" +
			"in-sample predicted label, as in respond. The prompt holds no identifier and no\n" +
			"laboratory value.\n\n" +
			"--kind general prints instead the paper's evaluation prompt (figure 5): the task and the\n" +
			"patient's laboratory history as text (per indicator first and last value, range, trend).\n" +
			"It carries raw laboratory values: send it to an external LLM only on explicit opt-in.\n" +
			"--brief and --only shorten it. --kind task prints the task alone. --stats prints the\n" +
			"words per prompt (min, mean, max) over every patient instead of one patient's prompt.",
		flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			id := fs.String("patient", "", "ID of the patient (required unless --stats)")
			data := fs.String("data", "", "cohort directory of the patient; makes the argument a model directory")
			kind := fs.String("kind", "coarse", "coarse (PMLM), general (task and lab history; raw values) or task (no patient information)")
			stats := fs.Bool("stats", false, "print the words per prompt over every patient")
			brief := fs.Bool("brief", false, "general: leave out each indicator's range and number of values")
			only := fs.String("only", "", "general: only these indicators, comma-separated, or \"key\" for pmlm.KeyObstetricIndicators")
			k := fs.Int("k", pmlm.DefaultK, "number of similar training patients")
			warm := fs.Bool("warm-start", false, "warm-start the encoder with a label classifier on the training split")
			seed := fs.Uint64("seed", 1, "seed, as in train")
			features := fs.Int("features", 0, "number of MiniRocket features (0: the predictor's default, as train uses)")
			dflags := addDataFlags(fs)
			tmplFile := fs.String("template", "", "file holding a text/template over prompt.Data (default: prompt.DefaultText)")
			index := indexFlag(fs)
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
				if *index != "" && *data == "" {
					return fmt.Errorf("%w: --index needs a model (--data)", errUsage)
				}
				if *data != "" && *kind != "coarse" {
					return fmt.Errorf("%w: --data (a model directory) prints coarse prompts only", errUsage)
				}
				dataDir := args[0]
				var model *pmlm.Pipeline
				if *data != "" {
					dataDir = *data
					if err := checkIndexFlag(args[0], *index); err != nil {
						return err
					}
					var err error
					if model, err = pmlm.Load(ctx, args[0], pmlm.LoadOptions{Loaders: indexLoaders(ctx, *index)}); err != nil {
						return err
					}
					// DIR is read as the model's cohort was, unless the
					// data flags say otherwise.
					dflags.useModelNote(e, model)
				}
				c, err := dflags.read(e, dataDir)
				if err != nil {
					return err
				}
				var target *cohort.Patient
				if !*stats {
					if target = c.Patient(*id); target == nil {
						return fmt.Errorf("%s: %w", dataDir, errNoPatient)
					}
				}
				hopt := prompt.HistoryOptions{Brief: *brief}
				switch *only {
				case "":
				case "key":
					hopt.Only = pmlm.KeyObstetricIndicators()
				default:
					hopt.Only = strings.Split(*only, ",")
				}
				render := func(p *cohort.Patient) (string, error) { return pmlm.GeneralPrompt(c.Metrics, p, hopt) }
				switch {
				case *kind == "task":
					render = func(*cohort.Patient) (string, error) { return prompt.TaskOnly(), nil }
				case model != nil:
					render = func(p *cohort.Patient) (string, error) {
						// DATA's catalogue is matched to the model's by name.
						p, _, err := model.Conform(p, pmlm.ConformOptions{Metrics: c.Metrics})
						if err != nil {
							return "", err
						}
						s0, err := model.CoarsePrompt(ctx, p)
						return s0.Prompt, err
					}
				case *kind == "coarse":
					if err := dflags.checkSplit(c); err != nil {
						return err
					}
					opts := pmlm.TrainOptions{K: *k, WarmStart: *warm, Seed: *seed, Split: dflags.split}
					opts.NewPredictor = miniRocketFeatures(*features)
					if *tmplFile != "" {
						text, err := readInputFile(*tmplFile)
						if err != nil {
							return err
						}
						if _, err := prompt.NewTemplate(string(text)); err != nil {
							return fmt.Errorf("%s: %w", *tmplFile, err)
						}
						opts.PromptTemplate = string(text)
					}
					if render, err = cohortPrompter(ctx, c, opts); err != nil {
						return fmt.Errorf("%s: %w", dataDir, err)
					}
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

// errNoPatient is returned when the --patient ID is not in the cohort. The
// message does not repeat the ID: identifiers are not logged.
var errNoPatient = errors.New("no patient with the given --patient ID")

// cohortPrompter fits the prompt builder on the cohort once and returns a
// renderer of its patients' coarse prompts; a training patient is excluded
// from its own similar patients by its key.
func cohortPrompter(ctx context.Context, c *cohort.Cohort, opts pmlm.TrainOptions) (func(*cohort.Patient) (string, error), error) {
	b, err := pmlm.NewPromptBuilder(ctx, c, opts)
	if err != nil {
		return nil, err
	}
	split := opts.Split
	if split == (cohort.SplitBoundaries{}) {
		split = cohort.DefaultSplit()
	}
	train, _, _ := c.Split(split)
	isTrain := make(map[string]bool, len(train))
	for _, p := range train {
		isTrain[p.ID] = true
	}
	return func(p *cohort.Patient) (string, error) {
		var exclude []string
		if isTrain[p.ID] {
			exclude = []string{p.ID}
		}
		s0, err := b.Build(ctx, p.Matrix(), exclude)
		return s0.Prompt, err
	}, nil
}

// miniRocketFeatures returns a predictor factory of MiniRocket with n
// features, or nil (the default predictor) when n ≤ 0.
func miniRocketFeatures(n int) pmlm.PredictorFactory {
	if n <= 0 {
		return nil
	}
	return func(seed uint64) (predict.Predictor, error) {
		return &predict.MiniRocketClassifier{Config: predict.MiniRocketConfig{NumFeatures: n, Seed: seed}}, nil
	}
}
