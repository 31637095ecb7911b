package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/pmlm-go/pmlm/encoder"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/experiment"
)

// separationCommand measures how well each text encoder's BERTScore
// reward separates answers about the right diagnosis from answers about a
// wrong one.
func separationCommand() command {
	return command{
		name:  "separation",
		usage: "separation [--text glove,use] [--refs N] [--candidates K] [--seeds S] DATA",
		summary: "measure how well the BERTScore reward over each text encoder tells an answer about\n" +
			"the right diagnosis from one about a wrong diagnosis: for each test-split reply (the\n" +
			"reference), K training-split replies about the same diagnosis and K about another\n" +
			"(read from the reply by its words) are scored against it; the AUROC is the share of\n" +
			"(right, wrong) pairs the reward orders correctly. Prints a Markdown table with the\n" +
			"spread over seeds, 95 % bootstrap intervals over references and the paired\n" +
			"difference with the first encoder.",
		flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			texts := fs.String("text", "glove,use", "text encoders, comma-separated: "+strings.Join(pmlm.TextEncoderNames(), ", "))
			refs := fs.Int("refs", 0, "reference replies (0: the whole test split)")
			k := fs.Int("candidates", 4, "right and wrong answers per reference")
			seeds := fs.Int("seeds", 3, "draws of the answers (seeds 1..S)")
			data := addDataFlags(fs)
			return func(ctx context.Context, e *env, args []string) error {
				if err := wantArgs(args, 1); err != nil {
					return err
				}
				if *k < 1 || *seeds < 1 || *refs < 0 {
					return fmt.Errorf("%w: --candidates and --seeds must be at least 1, --refs not negative", errUsage)
				}
				var encs []encoder.TextEncoder
				for _, name := range strings.Split(*texts, ",") {
					enc, err := pmlm.BuiltinTextEncoder(strings.TrimSpace(name))
					if err != nil {
						return fmt.Errorf("%w: --text: %w", errUsage, err)
					}
					encs = append(encs, enc)
				}
				c, err := data.read(e, args[0])
				if err != nil {
					return err
				}
				if err := data.checkSplit(c); err != nil {
					return err
				}
				_, _, test := c.Split(data.split)
				if *refs > 0 && *refs < len(test) {
					test = test[:*refs]
				}
				cfg := experiment.SeparationConfig{Encoders: encs, References: test, Candidates: *k, Split: data.split}
				for s := 1; s <= *seeds; s++ {
					cfg.Seeds = append(cfg.Seeds, uint64(s))
				}
				res, err := experiment.MeasureSeparation(ctx, c, cfg)
				if err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
				fmt.Fprint(e.stdout, res.Markdown())
				return nil
			}
		},
	}
}
