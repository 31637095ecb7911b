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
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/prompt"
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
			epochs := fs.Int("epochs", 0, fmt.Sprintf("passes over the training pairs (0: %d for general, %d for finetune)", defaultLMEpochs, defaultFinetuneEpochs))
			batch := fs.Int("batch", lm.DefaultBatchSize, "sequences per optimizer step")
			lr := fs.Float64("lr", lm.DefaultLearningRate, "peak learning rate (AdamW)")
			workers := fs.Int("workers", 0, "goroutines computing gradients (0: GOMAXPROCS; the result does not depend on it)")
			dim := fs.Int("dim", lm.DefaultConfig().Dim, "model width")
			layers := fs.Int("layers", lm.DefaultConfig().Layers, "transformer blocks")
			heads := fs.Int("heads", lm.DefaultConfig().Heads, "attention heads (divides --dim)")
			hidden := fs.Int("hidden", lm.DefaultConfig().Hidden, "feed-forward width")
			labPairs := fs.Int("lab-per-indicator", corpus.DefaultLabPerIndicator, "general statements about lab values per indicator in the corpus (0: none)")
			validation := fs.Int("validation", 300, "validation pairs scored after each epoch (0: none)")
			resume := fs.Bool("resume", false, "continue from DIR.checkpoint")
			every := fs.Int("checkpoint-every", 100, "steps between checkpoints within an epoch (0: only at the end of epochs)")
			quiet := fs.Bool("quiet", false, "no progress bar")
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
				cfg := lm.DefaultConfig()
				cfg.Dim, cfg.Layers, cfg.Heads, cfg.Hidden = *dim, *layers, *heads, *hidden
				c, _, err := cohort.ReadDir(data, cohort.ReadOptions{})
				if err != nil {
					return err
				}
				copt := corpus.Options{Seed: *seed, LabPerIndicator: *labPairs}
				if *labPairs == 0 {
					copt.LabPerIndicator = -1 // the corpus package's "none"
				}
				var train, val []lm.Example
				if *mode == "general" {
					train, val, err = generalCorpus(c, copt, *validation)
				} else {
					train, val, err = finetunePairs(c, *validation)
					cfg.MaxPrompt = finetuneMaxPrompt
				}
				if err != nil {
					return fmt.Errorf("%s: %w", data, err)
				}
				if *epochs == 0 {
					*epochs = defaultLMEpochs
					if *mode == "finetune" {
						*epochs = defaultFinetuneEpochs
					}
				}
				fmt.Fprintf(e.stderr, "corpus: %d training pairs, %d validation pairs\n", len(train), len(val))
				opt := lm.TrainOptions{
					Seed: *seed, Epochs: *epochs, BatchSize: *batch, LearningRate: *lr, Workers: *workers,
					Validation: val, Checkpoint: filepath.Clean(*out) + ".checkpoint", CheckpointEvery: *every, Resume: *resume,
				}
				if !*quiet {
					opt.OnStep = func(p lm.Progress) { writeLMBar(e.stderr, p) }
				}
				m, rep, err := fitLM(ctx, cfg, train, opt)
				if err != nil {
					return err
				}
				info := lm.Info{Mode: *mode, Seed: *seed, Epochs: *epochs, Examples: len(train), DataDigest: c.Digest()}
				if n := len(rep.ValidationPerplexity); n > 0 {
					info.ValidationPerplexity = rep.ValidationPerplexity[n-1]
				}
				if err := m.Save(*out, info); err != nil {
					return err
				}
				if err := os.Remove(opt.Checkpoint); err != nil && !errors.Is(err, os.ErrNotExist) {
					return err
				}
				fmt.Fprintf(e.stdout, "trained %s (%d weights, vocabulary %d) on %d pairs in %s: %d tokens, %.0f tokens/s; validation perplexity %s\n",
					*out, m.NumParams(), m.Vocabulary().Size(), len(train), rep.Duration.Round(time.Second), rep.Tokens,
					float64(rep.Tokens)/max(rep.Duration.Seconds(), 1e-9), formatPerplexities(rep.ValidationPerplexity))
				return nil
			}
		},
	}
}

// The CLI's number of passes over the training pairs: the general corpus
// has about five pairs per training patient, the fine-tuning data one.
const (
	defaultLMEpochs       = 2
	defaultFinetuneEpochs = 6
)

// finetuneMaxPrompt is the prompt budget of a fine-tuned model: the brief
// history of the key indicators takes about 200 tokens.
const finetuneMaxPrompt = 256

// finetunePairs returns the fine-tuned baseline's data: each training
// patient's evaluation prompt (her lab history as text) and reply, and at
// most nVal validation patients' pairs.
func finetunePairs(c *cohort.Cohort, nVal int) (train, val []lm.Example, err error) {
	trainP, valP, _ := c.Split(cohort.DefaultSplit())
	if len(trainP) == 0 {
		return nil, nil, fmt.Errorf("the training split is empty")
	}
	opt := finetuneHistory(c.Metrics)
	pairs := func(ps []*cohort.Patient) ([]lm.Example, error) {
		out := make([]lm.Example, len(ps))
		for i, p := range ps {
			g, err := pmlm.GeneralPrompt(c.Metrics, p, opt)
			if err != nil {
				return nil, fmt.Errorf("patient %s: %w", p.ID, err)
			}
			out[i] = lm.Example{Prompt: g, Reply: p.Response}
		}
		return out, nil
	}
	if train, err = pairs(trainP); err != nil {
		return nil, nil, err
	}
	if nVal > 0 && len(valP) > 0 {
		if val, err = pairs(valP[:min(nVal, len(valP))]); err != nil {
			return nil, nil, err
		}
	}
	return train, val, nil
}

// finetuneHistory is the fine-tuned baseline's text form of a history:
// the brief lines of the key obstetric indicators the catalogue has (all
// indicators, briefly, for a catalogue with fewer than three of them).
func finetuneHistory(metrics []cohort.Metric) prompt.HistoryOptions {
	have := map[string]bool{}
	for _, m := range metrics {
		have[m.Name] = true
	}
	var only []string
	for _, name := range pmlm.KeyObstetricIndicators() {
		if have[name] {
			only = append(only, name)
		}
	}
	if len(only) < 3 {
		only = nil
	}
	return prompt.HistoryOptions{Only: only, Brief: true}
}

// generalCorpus builds the general responder's training pairs from the
// training split and at most nVal validation pairs from the validation
// split (the next seed, so the inputs differ too).
func generalCorpus(c *cohort.Cohort, opt corpus.Options, nVal int) (train, val []lm.Example, err error) {
	trainP, valP, _ := c.Split(cohort.DefaultSplit())
	if len(trainP) == 0 {
		return nil, nil, fmt.Errorf("the training split is empty")
	}
	cases, inds := corpusInputs(c, trainP)
	pairs, err := corpus.Build(cases, c.Labels, inds, opt)
	if err != nil {
		return nil, nil, err
	}
	train = examples(pairs)
	if nVal > 0 && len(valP) > 0 {
		vcases, vinds := corpusInputs(c, valP)
		vopt := opt
		vopt.Seed++
		vpairs, err := corpus.Build(vcases, c.Labels, vinds, vopt)
		if err != nil {
			return nil, nil, fmt.Errorf("validation corpus: %w", err)
		}
		val = examples(vpairs)
		// An even spread over the pairs, so every kind is represented.
		if len(val) > nVal {
			picked := make([]lm.Example, nVal)
			for i := range picked {
				picked[i] = val[i*len(val)/nVal]
			}
			val = picked
		}
	}
	return train, val, nil
}

func examples(pairs []corpus.Pair) []lm.Example {
	out := make([]lm.Example, len(pairs))
	for i, p := range pairs {
		out[i] = lm.Example{Prompt: p.Input, Reply: p.Output}
	}
	return out
}

// fitLM builds the vocabulary from the training pairs and trains a model.
func fitLM(ctx context.Context, cfg lm.Config, train []lm.Example, opt lm.TrainOptions) (*lm.Model, lm.Report, error) {
	texts := make([]string, 0, 2*len(train))
	for _, e := range train {
		texts = append(texts, e.Prompt, e.Reply)
	}
	vocab, err := lm.NewVocabulary(texts, 2)
	if err != nil {
		return nil, lm.Report{}, err
	}
	m, err := lm.New(cfg, vocab, opt.Seed)
	if err != nil {
		return nil, lm.Report{}, err
	}
	rep, err := lm.Train(ctx, m, train, opt)
	if err != nil {
		return nil, rep, err
	}
	return m, rep, nil
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
	inside := func(a, b string) bool {
		rel, err := filepath.Rel(b, a)
		return err == nil && (rel == "." || !strings.HasPrefix(rel, ".."))
	}
	if inside(o, d) || inside(d, o) {
		return fmt.Errorf("--out %s overlaps the data directory %s; choose a path outside it", out, data)
	}
	return nil
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
