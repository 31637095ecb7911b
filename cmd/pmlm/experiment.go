package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pmlm-go/pmlm/internal/atomicfile"
	"github.com/pmlm-go/pmlm/llm"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/experiment"
	"github.com/pmlm-go/pmlm/pmlm/predict"
	"github.com/pmlm-go/pmlm/pmlm/synth"
)

// syntheticData is the DATA argument that stands for the embedded synthetic
// cohort.
const syntheticData = "synthetic"

// quickDefaults returns the flag values --quick changes, unless the flag
// is given: a smaller cohort, fewer seeds, episodes and sweep points.
func quickDefaults() map[string]string {
	return map[string]string{
		"patients": "600", "seeds": "3", "epochs": "1", "episodes": "128", "validation": "40",
		"ks": "1,5,10,20", "ns": "0,5,10,20", "predictor-epochs": "10", "lm-size": "small",
	}
}

func experimentCommand() command {
	return command{
		name:  "experiment",
		usage: "experiment NAME DATA --out DIR [--lm DIR] [--finetuned DIR] [--responder PROVIDER --model M] [--seeds N] [--quick]",
		summary: "rerun the paper's tables and figures (table1, table2, table3, fig6, fig7, tableA1 or all)\n\n" +
			"DATA is a cohort directory or \"synthetic\" (the embedded generator, --patients and\n" +
			"--cohort-seed). Every configuration is trained on the training split and evaluated\n" +
			"on the test split once per seed; every number is the mean ± sample std over the\n" +
			"seeds, every difference has a 95 % paired bootstrap interval over test patients.\n" +
			"DIR receives NAME.md and NAME.csv per table and PNG plots; --markdown writes the\n" +
			"report (default DIR/EXPERIMENTS.md) with the paper's numbers beside the measured ones.\n" +
			"The general LM (--lm; default DIR/lm-general, trained there once with seed 1 and\n" +
			"reused) answers in every experiment; the fine-tuned LM (--finetuned; default\n" +
			"DIR/lm-finetuned, likewise) is table 2's baseline; their answers are cached in\n" +
			"DIR/lm-cache.db. The offline case responder is a row of table 1 (--no-lm: it answers\n" +
			"everywhere, no table 2). --responder adds an LLM (openai, anthropic, googleai, ollama,\n" +
			"openai-compatible) to table 1, with its key from the environment; the general prompt\n" +
			"carries the patient's raw lab values and goes to it only with --general-prompt-opt-in.\n" +
			"--quick: " + quickSummary() + ".",
		flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			out := fs.String("out", "", "output folder (required)")
			quick := fs.Bool("quick", false, "a run of a few minutes on 2 cores (see above; explicit flags win)")
			patients := fs.Int("patients", synth.DefaultPatients, "synthetic cohort: patients")
			cohortSeed := fs.Uint64("cohort-seed", 1, "synthetic cohort: seed")
			seeds := fs.Int("seeds", 5, "training seeds (1..N) to average over")
			epochs := fs.Int("epochs", cliEpochs, epochsHelp)
			episodes := fs.Int("episodes", 0, "training patients per epoch (0: all)")
			validation := fs.Int("validation", cliValidation, validationHelp)
			k := fs.Int("k", pmlm.DefaultK, "similar patients of the full method")
			n := fs.Int("n", pmlm.DefaultSteps, "deletion steps of the full method")
			ks := fs.String("ks", "1,5,10,15,20", "figure 7: values of k")
			ns := fs.String("ns", "0,5,10,15,20", "figure 7: values of n (0: no refinement)")
			predictors := fs.String("predictors", strings.Join(predict.PredictorNames(), ","), "table A1: predictors")
			predictorEpochs := fs.Int("predictor-epochs", 0, "table A1: epochs of the neural predictors (0: their default)")
			workers := fs.Int("workers", runtime.GOMAXPROCS(0), "test patients evaluated at once")
			jobs := fs.Int("jobs", runtime.GOMAXPROCS(0), "configurations trained at once; each is seeded on its own, so this changes only the speed (each holds about 1 GB on the default cohort)")
			runsDir := fs.String("runs", "", "folder of the saved runs, one JSON file per finished configuration (default DIR/runs); a rerun with the same cohort and settings reuses them")
			fresh := fs.Bool("fresh", false, "train every configuration again instead of reusing saved runs (after changing the library)")
			trainWorkers := fs.Int("train-workers", 1, "concurrent REINFORCE episodes per configuration (the trained policy is the same bits for any value; more is faster when cores are free)")
			markdown := fs.String("markdown", "", "also write the report to this file (figures linked relative to it)")
			reading := fs.String("reading", "", "Markdown file inserted as the report's reading")
			provider := fs.String("responder", "", "table 1: an LLM provider besides the case responder: "+strings.Join(llm.Providers(), ", "))
			model := fs.String("model", "", "--responder: model name")
			baseURL := fs.String("base-url", "", "--responder: endpoint (openai-compatible)")
			keyEnv := fs.String("api-key-env", "", "--responder: environment variable of the API key")
			cachePath := fs.String("cache", "", "--responder: persistent response cache file (bbolt)")
			guard := guardFlags(fs)
			optIn := fs.Bool("general-prompt-opt-in", false, "also send the general prompt, which carries the patient's raw lab values, to the --responder LLM (the local LMs and the case responder always get it)")
			lmDir := fs.String("lm", "", "general LM directory (pmlm lm train; default DIR/lm-general, trained there on first use)")
			finetunedDir := fs.String("finetuned", "", "fine-tuned LM directory (pmlm lm train --mode finetune; default DIR/lm-finetuned, trained there on first use)")
			lmSize := fs.String("lm-size", "default", "shape of the LMs this command trains: default, small (the demo's shape, three passes; minutes) or tiny (seconds; poor answers)")
			textName := textFlag(fs)
			lmCache := fs.String("lm-cache", "", "LM answer cache (default DIR/lm-cache.db)")
			noLM := fs.Bool("no-lm", false, "no LMs: the offline case responder answers everywhere and table 2 is left out")
			warm := fs.Bool("warm-start", false, "warm-start the patient encoder on the labels (beyond the paper)")
			bayesReplies := fs.Int("bayes-replies", experiment.DefaultBayesReferences, "training replies per diagnosis behind the Bayes refinement's expected rewards (fewer: cheaper and noisier; the run names record it)")
			rl := refinementFlags(fs)
			data := addDataFlags(fs)
			var variants variantFlags
			fs.Var(&variants, "variant", "refine: a REINFORCE variant compared with the full method, NAME:KEY=VALUE,... with keys baseline-decay, entropy-bonus, actions, warm-start, episodes, epochs, lr (repeatable; the variants share the seeds' predictor fits)")
			return func(ctx context.Context, e *env, args []string) error {
				if err := wantArgs(args, 2); err != nil {
					return err
				}
				gc, err := guard()
				if err != nil {
					return err
				}
				if *out == "" {
					return fmt.Errorf("%w: --out is required", errUsage)
				}
				if args[1] != syntheticData {
					// The runs, LMs and tables must not land among (or
					// over) the cohort's files, as for train and lm train.
					if err := checkOutsideData(*out, args[1]); err != nil {
						return err
					}
				}
				// The command that regenerates the report: the flags as given,
				// --out first, before --quick fills in its defaults.
				command := "pmlm experiment " + strings.Join(args, " ") + " --out " + *out
				given := map[string]bool{}
				fs.Visit(func(f *flag.Flag) {
					given[f.Name] = true
					if f.Name != "out" {
						if f.Name == "quick" {
							command += " --quick"
						} else {
							command += " --" + f.Name + " " + f.Value.String()
						}
					}
				})
				if *quick {
					for name, v := range quickDefaults() {
						if !given[name] {
							if err := fs.Set(name, v); err != nil {
								return err
							}
						}
					}
				}
				names := []string{args[0]} // the runner expands "all"
				if args[0] != "all" && !slices.Contains(experiment.Names(), args[0]) {
					return fmt.Errorf("%w: unknown experiment %q (want all or one of %s)", errUsage, args[0], strings.Join(experiment.Names(), ", "))
				}
				start := time.Now()
				c, source, err := experimentCohort(e, data, args[1], *patients, *cohortSeed)
				if err != nil {
					return err
				}
				if err := data.checkSplit(c); err != nil {
					return err
				}
				text, err := textEncoder(*textName)
				if err != nil {
					return err
				}
				cfg := experiment.Config{
					Train: pmlm.TrainOptions{Epochs: *epochs, MaxEpisodes: *episodes, MaxValidation: *validation,
						Workers: *trainWorkers, K: *k, Steps: *n, WarmStart: *warm, Text: text,
						Split: data.split, Read: data.settings()},
					Predictors: splitList(*predictors), PredictorEpochs: *predictorEpochs,
					Workers: *workers, Jobs: *jobs, Progress: e.stderr, BayesReferences: *bayesReplies,
				}
				rl.apply(&cfg.Train)
				cfg.Refinements = variants
				if *runsDir == "" {
					*runsDir = filepath.Join(*out, "runs")
				}
				cfg.RunsDir, cfg.Fresh = *runsDir, *fresh
				for s := 1; s <= *seeds; s++ {
					cfg.Seeds = append(cfg.Seeds, uint64(s))
				}
				if cfg.Ks, err = intList("ks", *ks); err != nil {
					return err
				}
				if cfg.Ns, err = intList("ns", *ns); err != nil {
					return err
				}
				responders := "offline case responder everywhere (--no-lm)"
				if !*noLM {
					gen, ft, closer, err := lmResponders(ctx, e, c, data.split, *out, *lmDir, *finetunedDir, *lmSize, *lmCache)
					if err != nil {
						return err
					}
					defer closer.Close()
					cfg.Default = &experiment.Responder{Name: generalLMName, Responder: gen, History: generalLMHistory(c.Metrics), Local: true}
					cfg.Finetuned = &experiment.Responder{Name: finetunedLMName, Responder: ft, History: pmlm.FinetuneHistory(c.Metrics), Local: true}
					responders = fmt.Sprintf("%s %s answers everywhere; %s %s in table 2; the offline case responder is a row of table 1",
						generalLMName, gen.describe(), finetunedLMName, ft.describe())
				}
				cfg.GeneralOptIn = *optIn
				if *provider != "" {
					if *model == "" {
						return fmt.Errorf("--responder %s needs --model", *provider)
					}
					var r llm.Responder
					g, err := llm.New(ctx, llm.Config{Provider: *provider, Model: *model, BaseURL: *baseURL, APIKeyEnv: *keyEnv, Guard: gc})
					if err != nil {
						return err
					}
					r = g
					if *cachePath != "" {
						store, err := llm.OpenCache(*cachePath, nil)
						if err != nil {
							return err
						}
						defer store.Close()
						r = llm.Cached(g, store)
					}
					cfg.Responders = []experiment.Responder{{Name: *provider + " " + *model, Responder: r}}
				}
				runner, err := experiment.NewRunner(c, cfg)
				if err != nil {
					return err
				}
				train, val, test := c.Split(data.split)
				settings := []string{
					fmt.Sprintf("cohort: %s; %d patients (%d train / %d validation / %d test, split %s), %d labels", source, len(c.Patients), len(train), len(val), len(test), data.split, len(c.Labels)),
					fmt.Sprintf("seeds: %v; full method k = %d, n = %d; REINFORCE %d epoch(s), %s per epoch, %s for epoch selection",
						cfg.Seeds, *k, *n, *epochs, countOrAll(*episodes, "training patients"), countOrAll(*validation, "validation patients")),
					fmt.Sprintf("figure 7: k ∈ {%s}, n ∈ {%s}; table A1: %s (neural epochs: %s)", *ks, *ns, *predictors, countOrAll(*predictorEpochs, "")),
					"responders: " + responders,
					fmt.Sprintf("machine: %d CPU cores (GOMAXPROCS); %d configuration(s) at once, %d training worker(s) each, %d evaluation workers", runtime.GOMAXPROCS(0), *jobs, *trainWorkers, *workers),
				}
				if *quick {
					settings = append([]string{"variant: --quick (smaller cohort, fewer seeds, episodes and sweep points than the paper's study)"}, settings...)
				}
				for _, s := range settings {
					fmt.Fprintln(e.stderr, s)
				}
				planned, err := runner.Plan(names...)
				if err != nil {
					return fmt.Errorf("%w: %w", errUsage, err)
				}
				reused, _ := runner.Reused()
				fmt.Fprintf(e.stderr, "%d runs to make (configurations to train and evaluate, predictor-study seeds); %d reused from %s\n", planned, reused, *runsDir)
				res, err := runner.Run(ctx, names...)
				if err != nil {
					return err
				}
				paths, err := res.WriteFiles(*out)
				if err != nil {
					return err
				}
				wall := time.Since(start)
				rep := experiment.ReportOptions{Title: "PMLM experiments", Command: command, Settings: settings, WallTime: wall, Figures: "."}
				rep.Reused, rep.ReusedTime = runner.Reused()
				if *reading != "" {
					b, err := readInputFile(*reading)
					if err != nil {
						return err
					}
					rep.Reading = string(b)
				}
				report := *markdown
				if report == "" {
					report = filepath.Join(*out, "EXPERIMENTS.md")
				}
				if rep.Figures, err = filepath.Rel(filepath.Dir(report), *out); err != nil {
					return err
				}
				if err := writeReport(report, res, rep); err != nil {
					return err
				}
				paths = append(paths, report)
				for _, p := range paths {
					fmt.Fprintln(e.stdout, p)
				}
				fmt.Fprintf(e.stdout, "wall time %s; peak memory %s\n", wall.Round(time.Second), peakMemory())
				return nil
			}
		},
	}
}

func quickSummary() string {
	var parts []string
	quick := quickDefaults()
	for _, name := range []string{"patients", "seeds", "epochs", "episodes", "validation", "ks", "ns", "predictor-epochs"} {
		parts = append(parts, "--"+name+" "+quick[name])
	}
	return strings.Join(parts, " ")
}

func writeReport(path string, res *experiment.Results, o experiment.ReportOptions) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(path, 0o644, func(w io.Writer) error { return res.WriteReport(w, o) })
}

// experimentCohort reads the cohort directory with the data flags, or
// generates the synthetic cohort for "synthetic".
func experimentCohort(e *env, d *dataFlags, data string, patients int, seed uint64) (*cohort.Cohort, string, error) {
	if data != syntheticData {
		c, err := d.read(e, data)
		return c, data, err
	}
	if err := d.check(); err != nil {
		return nil, "", err
	}
	opts := synth.DefaultOptions()
	opts.Patients, opts.Seed = patients, seed
	if patients != synth.DefaultPatients {
		opts.Visits = 0 // the generator's own visit count for a cohort of another size
	}
	c, err := synth.Generate(opts)
	return c, fmt.Sprintf("synthetic (seed %d)", seed), err
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func intList(flagName, s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		v, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%w: --%s: %q is not an integer", errUsage, flagName, f)
		}
		out = append(out, v)
	}
	return out, nil
}

func countOrAll(n int, what string) string {
	if n <= 0 {
		if what == "" {
			return "default"
		}
		return "all " + what
	}
	if what == "" {
		return strconv.Itoa(n)
	}
	return fmt.Sprintf("%d %s", n, what)
}
