package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/pmlm-go/pmlm/llm"
	"github.com/pmlm-go/pmlm/llm/lm"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

// trainCommand trains a pipeline on a cohort directory and saves the model.
func trainCommand() command {
	return command{
		name:  "train",
		usage: "train DATA --out MODEL [--lm DIR | --lm-size default|small|tiny | --responder case --store-cases] [--resume] [--epochs N] [--episodes N] [--seed N]",
		summary: "train the PMLM pipeline on the cohort in DATA and save it to MODEL\n\n" +
			"Uses the embedded defaults: MiniRocket, the embedded word vectors, and the general\n" +
			"responder: the small language model trained from scratch on the general corpus of\n" +
			"the training split (the role GPT-4 plays in the paper). --lm DIR uses one trained\n" +
			"by 'pmlm lm train' on the same cohort; without it this command trains one first\n" +
			"(the default size takes tens of minutes on 2 cores; checkpointed to MODEL.lm.checkpoint\n" +
			"and resumed by --resume). MODEL embeds the LM, and 'pmlm respond' answers with it;\n" +
			"its weights can reproduce training replies, so MODEL is patient data.\n" +
			"--responder case uses the offline case responder instead (fast, but its answers\n" +
			"barely depend on the prompt's words); it answers with the training patients' replies,\n" +
			"so it needs --store-cases, which stores them in MODEL. MODEL knows the training\n" +
			"patients by opaque keys, not by their IDs. The REINFORCE trainer checkpoints after every\n" +
			"mini-batch to --checkpoint (default MODEL.checkpoint); after a crash or a kill, the\n" +
			"same command with --resume continues from the last checkpoint. The checkpoints are\n" +
			"removed once the model is saved.",
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
			rl := refinementFlags(fs)
			seed := fs.Uint64("seed", 1, "random seed")
			data := addDataFlags(fs)
			responder := fs.String("responder", "lm", "lm (the general responder) or case (the offline case responder; needs --store-cases)")
			storeCases := fs.Bool("store-cases", false, "with --responder case: store the training patients' coarse prompts and doctor replies in MODEL (cases.jsonl), which the case responder answers with")
			lmDir := fs.String("lm", "", "general responder directory ('pmlm lm train' on the same cohort); default: train one")
			lmSize := fs.String("lm-size", "default", "shape of the general responder trained without --lm: default, small (the demo's shape; minutes) or tiny (seconds; poor answers)")
			textName := textFlag(fs)
			index := indexFlag(fs)
			return func(ctx context.Context, e *env, args []string) error {
				if err := wantArgs(args, 1); err != nil {
					return err
				}
				if *out == "" {
					return fmt.Errorf("%w: --out is required", errUsage)
				}
				if *responder != "lm" && *responder != "case" {
					return fmt.Errorf("%w: --responder %q: want lm or case", errUsage, *responder)
				}
				if _, ok := lmSizes[*lmSize]; !ok {
					return fmt.Errorf("%w: --lm-size %q: want %s", errUsage, *lmSize, lmSizeNames)
				}
				switch {
				case *responder == "case" && !*storeCases:
					return fmt.Errorf("%w: --responder case answers with the training patients' verbatim doctor replies, so MODEL would have to store them (cases.jsonl): "+
						"pass --store-cases to store them, or use --responder lm, whose model stores no replies", errUsage)
				case *storeCases && *responder != "case":
					return fmt.Errorf("%w: --store-cases goes with --responder case; the general responder needs no stored replies", errUsage)
				}
				if *responder == "case" && *lmDir != "" {
					return fmt.Errorf("%w: --lm is the general responder; it does not go with --responder case", errUsage)
				}
				if *checkpoint == "" {
					*checkpoint = *out + ".checkpoint"
				}
				if err := checkOutsideData(*out, args[0]); err != nil {
					return fmt.Errorf("%w: %w", errUsage, err)
				}
				if err := checkOutsideData(*checkpoint, args[0]); err != nil {
					return fmt.Errorf("%w: --checkpoint: %w", errUsage, err)
				}
				text, err := textEncoder(*textName)
				if err != nil {
					return err
				}
				start := time.Now()
				c, err := data.read(e, args[0])
				if err != nil {
					return err
				}
				if err := data.checkSplit(c); err != nil {
					return err
				}
				if _, validation, _ := c.Split(data.split); len(validation) == 0 {
					fmt.Fprintf(e.stderr, "warning: no validation patients (index dates after %s up to %s): the policy of the last epoch is kept\n",
						data.split.TrainEnd.Format(cohort.DateLayout), data.split.ValidationEnd.Format(cohort.DateLayout))
				}
				var r llm.Responder
				lmCheckpoint := filepath.Clean(*out) + ".lm.checkpoint"
				if *responder == "lm" {
					if r, err = trainResponder(ctx, e, c, data.split, *lmDir, *lmSize, lmCheckpoint, *resume); err != nil {
						return err
					}
				}
				opts := pmlm.TrainOptions{
					K: *k, Steps: *steps, WarmStart: *warm,
					Epochs: *epochs, BatchSize: *batch, Workers: *workers,
					MaxEpisodes: *episodes, MaxValidation: *validation, Seed: *seed,
					Split: data.split, Read: data.settings(), StoreCases: *storeCases,
					CheckpointPath: *checkpoint, Resume: *resume, Progress: e.stderr, Responder: r, Text: text,
				}
				rl.apply(&opts)
				if err := withIndex(&opts, *index); err != nil {
					return err
				}
				p, err := pmlm.Train(ctx, c, opts)
				if err != nil {
					return err
				}
				if err := p.Save(*out); err != nil {
					return err
				}
				// The model is saved: its checkpoints (patient-derived
				// weights, megabytes) have served their purpose.
				for _, path := range []string{*checkpoint, lmCheckpoint} {
					if err := os.Remove(path); err != nil && !errors.Is(err, iofs.ErrNotExist) {
						fmt.Fprintf(e.stderr, "warning: remove the checkpoint: %v\n", err)
					}
				}
				fmt.Fprintf(e.stdout, "saved the model to %s (%s)\n", *out, time.Since(start).Round(time.Second))
				return nil
			}
		},
	}
}

// trainResponder returns the general responder of 'pmlm train': the LM in
// dir (refused when trained for another mode or on another cohort), or
// one of the size trained on c, checkpointed to checkpoint (continued from
// it only with --resume: a stale checkpoint of an abandoned run must not
// be picked up silently).
func trainResponder(ctx context.Context, e *env, c *cohort.Cohort, split cohort.SplitBoundaries, dir, size, checkpoint string, resume bool) (llm.Responder, error) {
	var m *lm.Model
	var err error
	if dir != "" {
		m, _, err = checkedLM(e, c, split, dir, pmlm.LMGeneral)
	} else {
		if !resume {
			if err := os.Remove(checkpoint); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, err
			}
		}
		fmt.Fprintf(e.stderr, "training the general responder (%s size, seed 1); pass --lm DIR to reuse one\n", size)
		m, _, err = trainSizedLM(ctx, e, c, split, pmlm.LMGeneral, size, checkpoint)
	}
	if err != nil {
		return nil, err
	}
	return llm.NewGenerative(m, lm.GenerateOptions{})
}
