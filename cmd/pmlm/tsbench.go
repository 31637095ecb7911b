package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/pmlm-go/pmlm/pmlm/predict"
)

func tsBenchCommand() command {
	return command{
		name:  "ts-bench",
		usage: "ts-bench TRAIN.ts TEST.ts [--predictor NAME] [--seed N]",
		summary: "train a label predictor on a UEA/UCR .ts training file and print its test accuracy\n" +
			"The last line of the output is \"accuracy: A\".",
		flags: func(fs *flag.FlagSet) func(ctx context.Context, env *env, args []string) error {
			name := fs.String("predictor", "minirocket", "predictor: "+strings.Join(predict.PredictorNames(), ", "))
			seed := fs.Uint64("seed", 1, "random seed of the predictor")
			return func(ctx context.Context, e *env, args []string) error {
				if err := wantArgs(args, 2); err != nil {
					return err
				}
				p, err := predict.New(*name, *seed)
				if err != nil {
					return err
				}
				return tsBench(ctx, e, args[0], args[1], p)
			}
		},
	}
}

func readTSFile(path string) (*predict.TSData, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return predict.ReadTS(f, path)
}

func tsBench(ctx context.Context, e *env, trainPath, testPath string, p predict.Predictor) error {
	train, err := readTSFile(trainPath)
	if err != nil {
		return err
	}
	test, err := readTSFile(testPath)
	if err != nil {
		return err
	}
	if test.Dimensions != train.Dimensions {
		return fmt.Errorf("%s has %d dimensions, %s has %d", testPath, test.Dimensions, trainPath, train.Dimensions)
	}
	// Test labels are mapped onto the training file's class list by name.
	classIndex := make(map[string]int, len(train.Classes))
	for i, c := range train.Classes {
		classIndex[c] = i
	}
	testY := make([]int, len(test.Labels))
	for i, l := range test.Labels {
		j, ok := classIndex[l]
		if !ok {
			return fmt.Errorf("%s: case %d: class %q is not a class of %s", testPath, i+1, l, trainPath)
		}
		testY[i] = j
	}
	fmt.Fprintf(e.stdout, "train: %d series, %d dimensions, %d classes (%s)\n", len(train.Series), train.Dimensions, len(train.Classes), trainPath)
	fmt.Fprintf(e.stdout, "test: %d series (%s)\n", len(test.Series), testPath)
	start := time.Now()
	if err := p.Fit(ctx, train.Series, train.LabelIndices(), len(train.Classes)); err != nil {
		return err
	}
	fitTime := time.Since(start)
	start = time.Now()
	pred, err := predict.PredictAll(ctx, p, test.Series)
	if err != nil {
		return err
	}
	sc, err := predict.Score(pred, testY, len(train.Classes))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "predictor: %s (fit %.2fs, predict %.2fs)\n", p.Name(), fitTime.Seconds(), time.Since(start).Seconds())
	fmt.Fprintf(e.stdout, "macro-F1: %.4f\n", sc.MacroF1)
	fmt.Fprintf(e.stdout, "accuracy: %.4f\n", sc.Accuracy)
	return nil
}
