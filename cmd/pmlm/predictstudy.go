package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/experiment"
	"github.com/pmlm-go/pmlm/pmlm/predict"
)

func predictStudyCommand() command {
	return command{
		name:  "predict-study",
		usage: "predict-study DIR [--predictors LIST] [--seed N] [--epochs N]",
		summary: "compare the label predictors on a cohort (the paper's table A1)\n\n" +
			"Each predictor is fitted on the training split of the time-based split and\n" +
			"scored on the test split: micro-F1 and macro-F1, in percent. The majority\n" +
			"label of the training split is printed as a reference.",
		flags: func(fs *flag.FlagSet) func(ctx context.Context, env *env, args []string) error {
			names := fs.String("predictors", strings.Join(predict.PredictorNames(), ","), "comma-separated predictors to compare")
			seed := fs.Uint64("seed", 1, "random seed of the predictors")
			epochs := fs.Int("epochs", 0, "maximum training epochs of the neural baselines (0: their default)")
			return func(ctx context.Context, e *env, args []string) error {
				if err := wantArgs(args, 1); err != nil {
					return err
				}
				var ps []predict.Predictor
				for _, n := range strings.Split(*names, ",") {
					p, err := predict.New(strings.TrimSpace(n), *seed)
					if err != nil {
						return fmt.Errorf("%w: %w", errUsage, err)
					}
					if nc, ok := p.(*predict.NeuralClassifier); ok && *epochs > 0 {
						nc.Config.Epochs = *epochs
					}
					ps = append(ps, p)
				}
				return predictStudy(ctx, e, args[0], ps)
			}
		},
	}
}

func predictStudy(ctx context.Context, e *env, dir string, ps []predict.Predictor) error {
	c, _, err := cohort.ReadDir(dir, cohort.ReadOptions{})
	if err != nil {
		return err
	}
	train, val, test := c.Split(cohort.DefaultSplit())
	scores, err := experiment.StudyPredictors(ctx, c, cohort.DefaultSplit(), ps)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	fmt.Fprintf(e.stdout, "cohort %s: %d metrics, %d labels; patients: %d train, %d validation (unused), %d test\n",
		dir, len(c.Metrics), len(c.Labels), len(train), len(val), len(test))
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "predictor\tmicro-F1 (%)\tmacro-F1 (%)\tfit (s)\t")
	for i, s := range scores {
		fit := fmt.Sprintf("%.1f", s.Fit.Seconds())
		if i == 0 {
			fit = "-" // the majority reference is not fitted
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%s\t\n", s.Name, s.MicroF1, s.MacroF1, fit)
	}
	return tw.Flush()
}
