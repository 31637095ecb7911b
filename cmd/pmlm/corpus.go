package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/pmlm-go/pmlm/internal/atomicfile"
	"github.com/pmlm-go/pmlm/llm/lm/corpus"
	"github.com/pmlm-go/pmlm/pmlm"
)

// corpusCommand prints the composition of the general responder's corpus
// and, with --overlap, its n-gram overlap with the coarse prompts.
func corpusCommand() command {
	return command{
		name:  "corpus",
		usage: "corpus DIR [--seed N] [--out FILE] [--overlap] [--features N]",
		summary: "build the general responder's training corpus from the training split of the cohort in DIR\n\n" +
			"Prints the number of pairs of each kind (package llm/lm/corpus). --out writes the pairs as\n" +
			"JSON lines (kind, input, output, label): the outputs are doctors' replies, so the file is\n" +
			"patient data. --overlap renders the coarse prompt of every test patient (as pmlm prompt does,\n" +
			"k = 10) and prints the share of its word n-grams, n = 1..4, found in the corpus inputs.",
		flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			seed := fs.Uint64("seed", 1, "seed of the corpus (and of the prompts' predictor and encoder)")
			out := fs.String("out", "", "write the pairs to FILE as JSON lines")
			overlap := fs.Bool("overlap", false, "measure the n-gram overlap with the test patients' coarse prompts")
			features := fs.Int("features", 10_000, "number of MiniRocket features of the prompts' predictor")
			data := addDataFlags(fs)
			return func(ctx context.Context, e *env, args []string) error {
				if err := wantArgs(args, 1); err != nil {
					return err
				}
				c, err := data.read(e, args[0])
				if err != nil {
					return err
				}
				if err := data.checkParts(c, true, false); err != nil {
					return err
				}
				train, _, test := c.Split(data.split)
				pairs, err := pmlm.GeneralCorpus(c, train, corpus.Options{Seed: *seed})
				if err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
				n := corpus.Counts(pairs)
				fmt.Fprintf(e.stdout, "%d pairs from %d training patients and %d indicators:", len(pairs), len(train), len(c.Metrics))
				for _, k := range corpus.Kinds() {
					fmt.Fprintf(e.stdout, " %s %d", k, n[k])
				}
				fmt.Fprintln(e.stdout)
				if *out != "" {
					if err := writePairs(*out, pairs); err != nil {
						return err
					}
				}
				if !*overlap {
					return nil
				}
				if len(test) == 0 {
					return fmt.Errorf("%s: --overlap: the test split is empty", args[0])
				}
				opts := pmlm.TrainOptions{Seed: *seed}
				opts.NewPredictor = miniRocketFeatures(*features)
				render, err := cohortPrompter(ctx, c, opts)
				if err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
				prompts := make([]string, len(test))
				for i, p := range test {
					if prompts[i], err = render(p); err != nil {
						return err
					}
				}
				inputs := corpus.Inputs(pairs)
				fmt.Fprintf(e.stdout, "n-gram overlap of %d test patients' coarse prompts with the corpus inputs:", len(prompts))
				for g := 1; g <= 4; g++ {
					share, err := corpus.NGramOverlap(inputs, prompts, g)
					if err != nil {
						return err
					}
					fmt.Fprintf(e.stdout, " %d-gram %.3f", g, share)
				}
				fmt.Fprintln(e.stdout)
				return nil
			}
		},
	}
}

// writePairs writes pairs as JSON lines.
func writePairs(path string, pairs []corpus.Pair) error {
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		for _, p := range pairs {
			line := struct {
				Kind   corpus.Kind `json:"kind"`
				Input  string      `json:"input"`
				Output string      `json:"output"`
				Label  string      `json:"label,omitempty"`
			}{p.Kind, p.Input, p.Output, p.Label}
			if err := enc.Encode(line); err != nil {
				return err
			}
		}
		return nil
	})
}
