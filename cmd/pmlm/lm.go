package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pmlm-go/pmlm/llm/lm"
	"github.com/pmlm-go/pmlm/llm/lm/corpus"
	"github.com/pmlm-go/pmlm/pmlm"
)

// lmCommand trains the offline generative responder.
func lmCommand() command {
	return command{
		name:  "lm",
		usage: "lm train DATA --out DIR [--mode general|finetune] [--seed N] [--epochs N] [--resume]",
		summary: "train the offline generative responder, a small language model (package llm/lm)\n\n" +
			"With --mode general (the default) the model is the project's general responder, the role\n" +
			"GPT-4 plays in the paper: it is trained on the corpus of package llm/lm/corpus, built from the\n" +
			"training split of the cohort in DATA (diagnosis statements, single and differential, paired\n" +
			"with doctors' replies, and general statements about lab values) and never sees PMLM's prompt\n" +
			"template. Validation perplexity is measured on a corpus built from the validation split.\n" +
			"With --mode finetune the same model is trained the way the paper's table 2 baselines are:\n" +
			"input = the patient's lab history written as text in the paper's evaluation prompt (figure 5;\n" +
			"the key indicators' first and last value and trend, about 200 tokens), output = the doctor's\n" +
			"reply, on the training split. It reads raw lab values: it is a local model.\n" +
			"A checkpoint (DIR.checkpoint) is written every epoch and every --checkpoint-every steps;\n" +
			"--resume continues an interrupted run from it; it is removed once the model is saved.\n" +
			"The model reproduces training replies, numbers included: DIR is patient data.\n" +
			"Use it with 'pmlm ask --llm lm --model DIR PROMPT'.",
		flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			out := fs.String("out", "", "model directory to write (required)")
			mode := fs.String("mode", "general", "general: the general responder's corpus; finetune: lab histories → replies")
			seed := fs.Uint64("seed", 1, "seed of the corpus, the initial weights and the example order")
			epochs := fs.Int("epochs", 0, fmt.Sprintf("passes over the training pairs (0: %d for general, %d for finetune)", pmlm.DefaultLMEpochs, pmlm.DefaultFinetuneEpochs))
			batch := fs.Int("batch", lm.DefaultBatchSize, "sequences per optimizer step")
			lr := fs.Float64("lr", lm.DefaultLearningRate, "peak learning rate (AdamW)")
			workers := fs.Int("workers", 0, "goroutines computing gradients (0: GOMAXPROCS; the result does not depend on it)")
			dim := fs.Int("dim", lm.DefaultConfig().Dim, "model width")
			layers := fs.Int("layers", lm.DefaultConfig().Layers, "transformer blocks")
			heads := fs.Int("heads", lm.DefaultConfig().Heads, "attention heads (divides --dim)")
			hidden := fs.Int("hidden", lm.DefaultConfig().Hidden, "feed-forward width")
			labPairs := fs.Int("lab-per-indicator", corpus.DefaultLabPerIndicator, "general statements about lab values per indicator in the corpus (0: none)")
			validation := fs.Int("validation", pmlm.DefaultLMValidation, "validation pairs scored after each epoch (0: none)")
			resume := fs.Bool("resume", false, "continue from DIR.checkpoint")
			every := fs.Int("checkpoint-every", 100, "steps between checkpoints within an epoch (0: only at the end of epochs)")
			quiet := fs.Bool("quiet", false, "no progress bar")
			dflags := addDataFlags(fs)
			mask := fs.Bool("mask-numbers", false, "replace every number in the patients' replies by "+pmlm.NumberMask+" before training, so that the model cannot write a training patient's values (recorded in its manifest)")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) == 0 || args[0] != "train" {
					return fmt.Errorf("%w: the only subcommand is 'lm train DATA'", errUsage)
				}
				if err := wantArgs(args[1:], 1); err != nil {
					return err
				}
				data := args[1]
				switch {
				case *out == "":
					return fmt.Errorf("--out is required")
				case *mode != "general" && *mode != "finetune":
					return fmt.Errorf("--mode %q: want general or finetune", *mode)
				case *epochs < 0:
					return fmt.Errorf("--epochs %d: want 1 or more (0: the mode's default)", *epochs)
				case *batch < 1:
					return fmt.Errorf("--batch %d: want at least 1", *batch)
				case *lr <= 0 || *lr > 1:
					return fmt.Errorf("--lr %g: want a value in (0, 1]", *lr)
				case *workers < 0:
					return fmt.Errorf("--workers %d: want 0 or more", *workers)
				case *validation < 0:
					return fmt.Errorf("--validation %d: want 0 or more", *validation)
				case *labPairs < 0:
					return fmt.Errorf("--lab-per-indicator %d: want 0 or more", *labPairs)
				case *every < 0:
					return fmt.Errorf("--checkpoint-every %d: want 0 or more", *every)
				}
				if err := checkOutsideData(*out, data); err != nil {
					return err
				}
				opt := pmlm.LMOptions{Mode: *mode, Seed: *seed, Epochs: *epochs, Validation: *validation,
					Corpus: corpus.Options{LabPerIndicator: *labPairs}, MaskNumbers: *mask, Split: dflags.split}
				if *labPairs == 0 {
					opt.Corpus.LabPerIndicator = -1 // the corpus package's "none"
				}
				if *validation == 0 {
					opt.Validation = -1
				}
				opt.Config = lm.DefaultConfig()
				opt.Config.Dim, opt.Config.Layers, opt.Config.Heads, opt.Config.Hidden = *dim, *layers, *heads, *hidden
				if *mode == pmlm.LMFinetune {
					opt.Config.MaxPrompt = pmlm.DefaultFinetuneMaxPrompt
				}
				checkpoint := filepath.Clean(*out) + ".checkpoint"
				opt.Train = lm.TrainOptions{BatchSize: *batch, LearningRate: *lr, Workers: *workers,
					Checkpoint: checkpoint, CheckpointEvery: *every, Resume: *resume}
				if !*quiet {
					opt.Train.OnStep = func(p lm.Progress) { writeLMBar(e.stderr, p) }
				}
				c, err := dflags.read(e, data)
				if err != nil {
					return err
				}
				if err := dflags.checkParts(c, true, false); err != nil {
					return err
				}
				m, info, rep, err := pmlm.TrainLM(ctx, c, opt)
				if err != nil {
					return fmt.Errorf("%s: %w", data, err)
				}
				if err := m.Save(*out, info); err != nil {
					return err
				}
				if err := os.Remove(checkpoint); err != nil && !errors.Is(err, os.ErrNotExist) {
					return err
				}
				fmt.Fprintf(e.stdout, "trained %s (%d weights, vocabulary %d) on %d pairs in %s: %d tokens, %.0f tokens/s; validation perplexity %s\n",
					*out, m.NumParams(), m.Vocabulary().Size(), info.Examples, rep.Duration.Round(time.Second), rep.Tokens,
					float64(rep.Tokens)/max(rep.Duration.Seconds(), 1e-9), formatPerplexities(rep.ValidationPerplexity))
				return nil
			}
		},
	}
}

// checkOutsideData refuses an output path that is, contains or lies
// inside the data directory.
func checkOutsideData(out, data string) error {
	o, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	d, err := filepath.Abs(data)
	if err != nil {
		return err
	}
	// Through symbolic links too: a link to the data is the data.
	if r, err := filepath.EvalSymlinks(d); err == nil {
		d = r
	}
	if r, err := evalExisting(o); err == nil {
		o = r
	}
	inside := func(a, b string) bool {
		rel, err := filepath.Rel(b, a)
		return err == nil && (rel == "." || !strings.HasPrefix(rel, ".."))
	}
	if inside(o, d) || inside(d, o) {
		return fmt.Errorf("--out %s overlaps the data directory %s; choose a path outside it", out, data)
	}
	return nil
}

// evalExisting resolves the symbolic links of the longest existing prefix
// of path and appends the rest.
func evalExisting(path string) (string, error) {
	if r, err := filepath.EvalSymlinks(path); err == nil {
		return r, nil
	}
	parent := filepath.Dir(path)
	if parent == path {
		return path, nil
	}
	r, err := evalExisting(parent)
	if err != nil {
		return "", err
	}
	return filepath.Join(r, filepath.Base(path)), nil
}

func formatPerplexities(v []float64) string {
	if len(v) == 0 {
		return "not measured"
	}
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf("%.3f", x)
	}
	return strings.Join(parts, " → ")
}

// writeLMBar draws a one-line progress bar, ending the line at the end of
// each epoch with its validation perplexity.
func writeLMBar(w io.Writer, p lm.Progress) {
	const width = 24
	done := width * p.Step / max(p.Steps, 1)
	eta := time.Duration(0)
	if p.Step > 0 {
		eta = time.Duration(float64(p.Elapsed) * float64(p.Steps-p.Step) / float64(p.Step))
	}
	fmt.Fprintf(w, "\repoch %d/%d [%s%s] step %d/%d loss %.3f %.0f tokens/s %s left ",
		p.Epoch, p.Epochs, strings.Repeat("=", done), strings.Repeat(" ", width-done), p.Step, p.Steps, p.Loss,
		float64(p.Tokens)/max(p.Elapsed.Seconds(), 1e-9), eta.Round(time.Second))
	if p.ValidationPerplexity == p.ValidationPerplexity { // not NaN: the end of an epoch
		fmt.Fprintf(w, "validation perplexity %.3f\n", p.ValidationPerplexity)
	}
}
