package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pmlm-go/pmlm/llm"
	"github.com/pmlm-go/pmlm/llm/lm"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/synth"
)

// demoCommand is the main job on the embedded defaults: synthesize, train,
// evaluate before/after on the test split.
func demoCommand() command {
	return command{
		name:  "demo",
		usage: "demo [--patients N] [--seed N] [--epochs N] [--episodes N] [--lm DIR] [--responder lm|case] [--keep DIR] [--bayes]",
		summary: "run PMLM end to end on the embedded defaults\n\n" +
			"Synthesizes the obstetric cohort, writes and re-reads it as CSV, trains the general\n" +
			"responder (a small language model trained from scratch on the general corpus of the\n" +
			"training split: the role GPT-4 plays in the paper; demo-sized, smaller and shorter-trained\n" +
			"than 'pmlm lm train' makes it; --lm DIR uses a trained one instead), trains the pipeline\n" +
			"(GBDT label predictor, patient encoder, recommender, coarse prompts, REINFORCE policy over the\n" +
			"embedded word vectors, rewarded through that responder) and prints the paper's metrics on\n" +
			"the test split for three prompts: general (the paper's evaluation prompt: the task and the\n" +
			"patient's lab history as text, no PMLM), coarse (PMLM without refinement) and refined\n" +
			"(PMLM), then the wall time and peak memory. --responder case uses the offline case\n" +
			"responder instead (no language model); --bayes adds a fourth row, the prompt refined by\n" +
			"minimum Bayes risk (beyond the paper). --keep DIR refuses a folder that already holds a\n" +
			"cohort.",
		flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			patients := fs.Int("patients", synth.DefaultPatients, "patients to synthesize")
			seed := fs.Uint64("seed", 1, "random seed of the cohort and of training")
			epochs := fs.Int("epochs", cliEpochs, epochsHelp)
			episodes := fs.Int("episodes", demoEpisodes, "training patients per epoch (0: all; the demo's default keeps it within 10 minutes on 2 cores)")
			validation := fs.Int("validation", cliValidation, validationHelp)
			workers := fs.Int("workers", runtime.GOMAXPROCS(0), "concurrent episodes")
			lmDir := fs.String("lm", "", "general responder directory ('pmlm lm train'); default: train a demo-sized one")
			responder := fs.String("responder", "lm", "lm (the general responder) or case (the offline case responder)")
			keep := fs.String("keep", "", "write the cohort to DIR and keep it (default: a temporary folder)")
			bayes := fs.Bool("bayes", false, "also refine by minimum Bayes risk (beyond the paper; up to 1 + 2 × diagnoses named responder calls per patient)")
			return func(ctx context.Context, e *env, args []string) error {
				if err := wantArgs(args, 0); err != nil {
					return err
				}
				if *responder != "lm" && *responder != "case" {
					return fmt.Errorf("--responder %q: want lm or case", *responder)
				}
				start := time.Now()
				dir := *keep
				if dir != "" {
					if err := refuseCohortIn(dir); err != nil {
						return err
					}
				} else {
					tmp, err := os.MkdirTemp("", "pmlm-demo-")
					if err != nil {
						return err
					}
					defer os.RemoveAll(tmp)
					dir = tmp
				}
				opts := synth.DefaultOptions()
				opts.Seed, opts.Patients, opts.Visits = *seed, *patients, 0
				c, err := synth.Generate(opts)
				if err != nil {
					return err
				}
				if err := cohort.WriteDir(dir, c); err != nil {
					return err
				}
				c, report, err := cohort.ReadDir(dir, cohort.ReadOptions{})
				if err != nil {
					return err
				}
				train, val, test := c.Split(cohort.DefaultSplit())
				fmt.Fprintf(e.stdout, "synthetic cohort: %d patients, %d visits, %d metrics, %d labels (%d warnings); split %d / %d / %d\n",
					len(c.Patients), c.NumVisits(), len(c.Metrics), len(c.Labels), len(report.Warnings), len(train), len(val), len(test))
				var r llm.Responder
				if *responder == "lm" {
					if r, err = demoResponder(ctx, e, c, *lmDir, *seed); err != nil {
						return err
					}
				}
				p, err := pmlm.Train(ctx, c, pmlm.TrainOptions{
					Epochs: *epochs, MaxEpisodes: *episodes, MaxValidation: *validation,
					Workers: *workers, Seed: *seed, Progress: e.stderr, Responder: r,
				})
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "trained in %s\n\n", time.Since(start).Round(time.Second))
				ev, err := p.Evaluate(ctx, test, *workers)
				if err != nil {
					return err
				}
				general, err := generalScores(ctx, p, c, test, *workers)
				if err != nil {
					return err
				}
				rows := []demoRow{{"general (no PMLM)", general}, {"coarse (PMLM, no refinement)", ev.Before}, {"refined (PMLM)", ev.After}}
				if *bayes {
					s, err := bayesScores(ctx, p, train, test, *seed, *workers)
					if err != nil {
						return err
					}
					rows = append(rows, demoRow{"refined (Bayes, beyond the paper)", s})
				}
				if err := writeDemoTable(e.stdout, rows, ev); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "\ntotal wall time %s; peak memory %s\n", time.Since(start).Round(time.Second), peakMemory())
				return nil
			}
		},
	}
}

// demoEpisodes is the demo's number of REINFORCE episodes per epoch: with
// all 1,694 training patients the demo took 10 min 27 s on the 2-core
// machine, over its 10-minute budget.
const demoEpisodes = 1200

// demoLMConfig is the demo's general responder: narrower than
// lm.DefaultConfig (96 wide, feed-forward 384) and trained for one pass
// over the general corpus, so that the demo stays within minutes.
func demoLMConfig() lm.Config {
	c := lm.DefaultConfig()
	c.Dim, c.Hidden = 96, 384
	return c
}

// demoResponder loads the general responder from dir (refused when it was
// trained for another mode or on another cohort), or trains a demo-sized
// one on the cohort.
func demoResponder(ctx context.Context, e *env, c *cohort.Cohort, dir string, seed uint64) (llm.Responder, error) {
	var m *lm.Model
	if dir != "" {
		var err error
		if m, _, err = experimentLM(ctx, e, c, cohort.DefaultSplit(), dir, pmlm.LMGeneral, "default", false); err != nil {
			return nil, err
		}
		fmt.Fprintf(e.stdout, "general responder: %s (%d weights)\n", dir, m.NumParams())
	} else {
		start := time.Now()
		var rep lm.Report
		var err error
		m, _, rep, err = pmlm.TrainLM(ctx, c, pmlm.LMOptions{
			Seed: seed, Epochs: 1, Config: demoLMConfig(), Validation: 100,
			Train: lm.TrainOptions{OnStep: func(p lm.Progress) { writeLMBar(e.stderr, p) }},
		})
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(e.stdout, "general responder: a demo-sized language model (%d weights) trained in %s, validation perplexity %s\n",
			m.NumParams(), time.Since(start).Round(time.Second), formatPerplexities(rep.ValidationPerplexity))
	}
	return llm.NewGenerative(m, lm.GenerateOptions{})
}

// generalScores answers every patient's general prompt (the paper's
// evaluation prompt, the key indicators' brief lab history, which fits the
// language model's prompt) and scores the answers.
func generalScores(ctx context.Context, p *pmlm.Pipeline, c *cohort.Cohort, patients []*cohort.Patient, workers int) (pmlm.Scores, error) {
	return answerScores(ctx, p, patients, workers, func(ctx context.Context, pt *cohort.Patient) (string, error) {
		q, err := pmlm.FinetunePrompt(c.Metrics, pt)
		if err != nil {
			return "", err
		}
		resp, err := p.Ask(ctx, pt, q)
		if err != nil && !errors.Is(err, llm.ErrEmpty) {
			return "", err
		}
		return resp.Text, nil
	})
}

// bayesScores refines every patient's prompt by minimum Bayes risk, with
// the training patients' replies as references, and scores the answers.
func bayesScores(ctx context.Context, p *pmlm.Pipeline, train, patients []*cohort.Patient, seed uint64, workers int) (pmlm.Scores, error) {
	b, err := p.BayesRefiner(train, pmlm.BayesOptions{Seed: seed})
	if err != nil {
		return pmlm.Scores{}, err
	}
	return answerScores(ctx, p, patients, workers, func(ctx context.Context, pt *cohort.Patient) (string, error) {
		a, err := p.Respond(ctx, pt, pmlm.RespondOptions{Bayes: b})
		if err != nil {
			return "", err
		}
		return a.Response.Text, nil
	})
}

// answerScores gets every patient's answer from answer, workers at a
// time, and scores the answers against the patients' replies.
func answerScores(ctx context.Context, p *pmlm.Pipeline, patients []*cohort.Patient, workers int,
	answer func(context.Context, *cohort.Patient) (string, error)) (pmlm.Scores, error) {
	answers := make([]string, len(patients))
	refs := make([]string, len(patients))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(workers, 1))
	for i, pt := range patients {
		refs[i] = pt.Response
		g.Go(func() error {
			var err error
			answers[i], err = answer(gctx, pt)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return pmlm.Scores{}, err
	}
	each, err := p.ScoreEach(ctx, answers, refs)
	if err != nil {
		return pmlm.Scores{}, err
	}
	return pmlm.AggregateScores(each), nil
}

// demoRow is a row of the demo's table.
type demoRow struct {
	name string
	m    pmlm.Scores
}

// writeDemoTable prints the rows (general, coarse, refined, and refined by
// Bayes when asked).
func writeDemoTable(w io.Writer, rows []demoRow, ev *pmlm.Evaluation) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "prompt\tBLEU-4\tROUGE-1\tROUGE-2\tROUGE-L\tBERTScore-P\tBERTScore-R\tBERTScore-F1\t\n")
	for _, row := range rows {
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t\n", row.name,
			row.m.BLEU4, row.m.ROUGE1, row.m.ROUGE2, row.m.ROUGEL, row.m.BERTScoreP, row.m.BERTScoreR, row.m.BERTScoreF)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d test patients, one seed; BERTScore over %s token embeddings (pmlm experiment: several seeds, intervals)\n", ev.Patients, ev.Embedder)
	return err
}

// peakMemory reports the process's peak resident set (VmHWM) on Linux, or
// the Go runtime's total obtained memory elsewhere.
func peakMemory() string {
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				f := strings.Fields(rest)
				if kb, err := strconv.Atoi(f[0]); err == nil && len(f) > 0 {
					return fmt.Sprintf("%.0f MiB (peak resident set)", float64(kb)/1024)
				}
			}
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return fmt.Sprintf("%.0f MiB (Go runtime, obtained from the OS)", float64(ms.Sys)/(1<<20))
}
