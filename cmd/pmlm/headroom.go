package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/pmlm-go/pmlm/llm"
	"github.com/pmlm-go/pmlm/llm/lm"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/experiment"
	"github.com/pmlm-go/pmlm/reward"
)

// headroomCommand measures what refinement by deletion can gain at most.
func headroomCommand() command {
	return command{
		name:  "headroom",
		usage: "headroom DATA --lm DIR [--seed N] [--k 10] [--steps 10] [--probes 5] [--bayes-replies 16]",
		summary: "measure the headroom of prompt refinement with the generative responder (an oracle)\n\n" +
			"For every validation patient of the cohort in DATA: the coarse prompt (as train builds it with\n" +
			"--seed and --k), its answer by the language model in DIR ('pmlm lm train'), and the answers\n" +
			"after an oracle that knows the true diagnosis deletes the words of the wrong diagnoses, one\n" +
			"diagnosis after the other, within --steps words. Prints BERTScore-F1 (embedded word vectors)\n" +
			"of the coarse and the best oracle prompt, their paired difference with a 95 % bootstrap\n" +
			"interval over patients, and the share of random single-word deletions that change the answer.\n" +
			"No policy can gain where this oracle cannot. Beside it, the gains of fixed deletion rules that\n" +
			"do not know the diagnosis (keep the predicted one, keep the neighbours' majority, delete what\n" +
			"the predictor finds unlikely, ...): what is reachable from what PMLM itself knows.",
		flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			model := fs.String("lm", "", "language model directory written by 'pmlm lm train' (required)")
			seed := fs.Uint64("seed", 1, "seed of the prompt builder, the probes and the bootstrap")
			k := fs.Int("k", pmlm.DefaultK, "similar patients in the prompt")
			steps := fs.Int("steps", pmlm.DefaultSteps, "deletion budget n")
			probes := fs.Int("probes", 5, "random single-word deletions per patient (0: none)")
			workers := fs.Int("workers", 2, "patients measured at once")
			bayesReplies := fs.Int("bayes-replies", pmlm.DefaultBayesReferences, "training replies sampled per diagnosis for the minimum-Bayes-risk rule")
			textName := textFlag(fs)
			data := addDataFlags(fs)
			return func(ctx context.Context, e *env, args []string) error {
				if err := wantArgs(args, 1); err != nil {
					return err
				}
				switch {
				case *model == "":
					return fmt.Errorf("--lm is required")
				case *k < 1:
					return fmt.Errorf("--k %d: want at least 1", *k)
				case *steps < 1:
					return fmt.Errorf("--steps %d: want at least 1", *steps)
				case *probes < 0:
					return fmt.Errorf("--probes %d: want 0 or more", *probes)
				case *workers < 1:
					return fmt.Errorf("--workers %d: want at least 1", *workers)
				}
				text, err := textEncoder(*textName)
				if err != nil {
					return err
				}
				var scorer *reward.BERTScorer
				if text != nil {
					scorer = reward.NewBERTScorer(text, reward.BERTScoreOptions{})
				}
				c, err := data.read(e, args[0])
				if err != nil {
					return err
				}
				if err := data.checkParts(c, true, false); err != nil {
					return err
				}
				// A general LM of this cohort only: one trained elsewhere may
				// have read these patients' replies.
				m, _, err := experimentLM(ctx, e, c, data.split, *model, pmlm.LMGeneral, "default", false)
				if err != nil {
					return err
				}
				r, err := llm.NewGenerative(m, lm.GenerateOptions{})
				if err != nil {
					return err
				}
				p := *probes
				if p == 0 {
					p = -1
				}
				h, err := experiment.MeasureHeadroom(ctx, c, experiment.HeadroomConfig{
					Train: pmlm.TrainOptions{Seed: *seed, K: *k, Text: text, Split: data.split}, Responder: r, Steps: *steps, Probes: p,
					Workers: *workers, Seed: *seed, Scorer: scorer, BayesReferences: *bayesReplies,
				})
				if err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
				fmt.Fprint(e.stdout, h.Markdown())
				return nil
			}
		},
	}
}
