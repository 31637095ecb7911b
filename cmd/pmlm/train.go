package main

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"time"

	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

// trainCommand trains a pipeline on a cohort directory and saves the model.
func trainCommand() command {
	return command{
		name:  "train",
		usage: "train DATA --out MODEL [--resume] [--epochs N] [--episodes N] [--seed N]",
		summary: "train the PMLM pipeline on the cohort in DATA and save it to MODEL\n\n" +
			"Uses the embedded defaults: MiniRocket, the embedded word vectors, the offline\n" +
			"case responder. The REINFORCE trainer checkpoints after every mini-batch to\n" +
			"--checkpoint (default MODEL.checkpoint); after a crash or a kill, the same\n" +
			"command with --resume continues from the last checkpoint.",
		flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			out := fs.String("out", "", "model directory to write (required)")
			resume := fs.Bool("resume", false, "continue from the checkpoint if there is one")
			checkpoint := fs.String("checkpoint", "", "checkpoint file (default MODEL.checkpoint)")
			epochs := fs.Int("epochs", cliEpochs, epochsHelp)
			episodes := fs.Int("episodes", 0, "training patients per epoch (0: all)")
			validation := fs.Int("validation", cliValidation, validationHelp)
			batch := fs.Int("batch", pmlm.DefaultBatchSize, "episodes per optimizer step")
			workers := fs.Int("workers", runtime.GOMAXPROCS(0), "concurrent episodes")
			k := fs.Int("k", pmlm.DefaultK, "similar patients in the prompt")
			steps := fs.Int("steps", pmlm.DefaultSteps, "words deleted per prompt")
			warm := fs.Bool("warm-start", false, "warm-start the patient encoder on the labels (beyond the paper)")
			seed := fs.Uint64("seed", 1, "random seed")
			maxVisits := fs.Int("max-visits", cohort.DefaultMaxVisits, "largest number of visits per patient")
			return func(ctx context.Context, e *env, args []string) error {
				if err := wantArgs(args, 1); err != nil {
					return err
				}
				if *out == "" {
					return fmt.Errorf("%w: --out is required", errUsage)
				}
				if *checkpoint == "" {
					*checkpoint = *out + ".checkpoint"
				}
				start := time.Now()
				c, report, err := cohort.ReadDir(args[0], cohort.ReadOptions{MaxVisits: *maxVisits})
				if err != nil {
					return err
				}
				for _, w := range report.Warnings {
					fmt.Fprintf(e.stderr, "warning: %v\n", w)
				}
				p, err := pmlm.Train(ctx, c, pmlm.TrainOptions{
					K: *k, Steps: *steps, WarmStart: *warm,
					Epochs: *epochs, BatchSize: *batch, Workers: *workers,
					MaxEpisodes: *episodes, MaxValidation: *validation, Seed: *seed,
					CheckpointPath: *checkpoint, Resume: *resume, Progress: e.stderr,
				})
				if err != nil {
					return err
				}
				if err := p.Save(*out); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "saved the model to %s (%s)\n", *out, time.Since(start).Round(time.Second))
				return nil
			}
		},
	}
}
