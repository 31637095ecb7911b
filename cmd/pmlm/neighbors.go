package main

import (
	"context"
	"flag"

	"github.com/pmlm-go/pmlm/pmlm"
)

// neighborsCommand reports how well the encoder's neighbourhoods agree with
// the labels, with and without the warm start.
func neighborsCommand() command {
	return command{
		name:  "neighbors",
		usage: "neighbors DIR [--k 10] [--seed N]",
		summary: "report label agreement among the k nearest training patients\n\n" +
			"Precision@k of the validation patients against the training patients, for the\n" +
			"untrained patient encoder (the paper's) and the warm-started one (beyond the paper),\n" +
			"built by the same prompt builder as train and prompt.",
		flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			k := fs.Int("k", pmlm.DefaultK, "number of neighbours")
			seed := fs.Uint64("seed", 1, "seed, as in train: the same seed gives the encoder of the model train builds")
			data := addDataFlags(fs)
			return func(ctx context.Context, e *env, args []string) error {
				if err := wantArgs(args, 1); err != nil {
					return err
				}
				c, err := data.read(e, args[0])
				if err != nil {
					return err
				}
				if err := data.checkSplit(c); err != nil {
					return err
				}
				r, err := pmlm.NeighborAgreement(ctx, c, pmlm.TrainOptions{Seed: *seed, Split: data.split}, *k)
				if err != nil {
					return err
				}
				return r.WriteText(e.stdout)
			}
		},
	}
}
