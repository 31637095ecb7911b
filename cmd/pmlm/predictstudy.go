package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pmlm-go/pmlm/pmlm"
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
						return fmt.Errorf("%w: %v", errUsage, err)
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

// cohortSeries returns the patients' visit values as series and their
// labels as indices into c.Labels.
func cohortSeries(c *pmlm.Cohort, patients []*pmlm.Patient) ([][][]float64, []int, error) {
	series := make([][][]float64, len(patients))
	labels := make([]int, len(patients))
	for i, p := range patients {
		s := make([][]float64, len(p.Visits))
		for t, v := range p.Visits {
			s[t] = v.Values
		}
		series[i] = s
		labels[i] = c.LabelIndex(p.Label)
		if labels[i] < 0 {
			return nil, nil, fmt.Errorf("patient %s: label %q is not in the label set", p.ID, p.Label)
		}
	}
	return series, labels, nil
}

func predictStudy(ctx context.Context, e *env, dir string, ps []predict.Predictor) error {
	c, _, err := pmlm.ReadDir(dir, pmlm.ReadOptions{})
	if err != nil {
		return err
	}
	train, val, test := c.Split(pmlm.DefaultSplit())
	if len(train) < 2 || len(test) == 0 {
		return fmt.Errorf("%s: the split leaves %d training and %d test patients; need at least 2 and 1", dir, len(train), len(test))
	}
	trainX, trainY, err := cohortSeries(c, train)
	if err != nil {
		return err
	}
	testX, testY, err := cohortSeries(c, test)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "cohort %s: %d metrics, %d labels; patients: %d train, %d validation (unused), %d test\n",
		dir, len(c.Metrics), len(c.Labels), len(train), len(val), len(test))

	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "predictor\tmicro-F1 (%)\tmacro-F1 (%)\tfit (s)\t")
	counts := make([]int, len(c.Labels))
	for _, y := range trainY {
		counts[y]++
	}
	majority := 0
	for i, n := range counts {
		if n > counts[majority] {
			majority = i
		}
	}
	constant := make([]int, len(testY))
	for i := range constant {
		constant[i] = majority
	}
	sc, err := predict.Score(constant, testY, len(c.Labels))
	if err != nil {
		return err
	}
	fmt.Fprintf(tw, "majority (%s)\t%.2f\t%.2f\t-\t\n", c.Labels[majority], 100*sc.MicroF1, 100*sc.MacroF1)
	for _, p := range ps {
		start := time.Now()
		if err := p.Fit(ctx, trainX, trainY, len(c.Labels)); err != nil {
			return fmt.Errorf("%s: %w", p.Name(), err)
		}
		fit := time.Since(start)
		pred, err := predictAll(ctx, p, testX)
		if err != nil {
			return fmt.Errorf("%s: %w", p.Name(), err)
		}
		sc, err := predict.Score(pred, testY, len(c.Labels))
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.1f\t\n", p.Name(), 100*sc.MicroF1, 100*sc.MacroF1, fit.Seconds())
	}
	return tw.Flush()
}
