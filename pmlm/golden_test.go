package pmlm_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/internal/golden"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/experiment"
	"github.com/pmlm-go/pmlm/pmlm/predict"
)

// TestGoldenCoarsePrompts pins the coarse prompt (predicted label, similar
// patients, text) Respond builds for every test patient of the small
// synthetic cohort and for the first training patients (self excluded).
func TestGoldenCoarsePrompts(t *testing.T) {
	p, c := trainedOrFail(t)
	train, _, test := c.Split(cohort.DefaultSplit())
	var sb strings.Builder
	write := func(part string, pts []*cohort.Patient) {
		for _, pt := range pts {
			a, err := p.Respond(context.Background(), pt, pmlm.RespondOptions{SkipFinal: true})
			require.NoError(t, err)
			fmt.Fprintf(&sb, "## %s (%s)\npredicted: %s\nsimilar:", pt.ID, part, a.PredictedLabel)
			for _, s := range a.Similar {
				fmt.Fprintf(&sb, " %s×%d;", s.Label, s.Count)
			}
			fmt.Fprintf(&sb, "\n%s\n\n", a.Coarse)
		}
	}
	write("test", test)
	write("train", train[:10])
	golden.Check(t, "coarse_prompts.txt", sb.String())
}

// TestGoldenPredictions pins the labels and class probabilities of the
// bitwise-reproducible predictors on the test split: MiniRocket's (kept
// since before GBDT became the default) and GBDT's.
func TestGoldenPredictions(t *testing.T) {
	_, c := trainedOrFail(t)
	train, _, test := c.Split(cohort.DefaultSplit())
	series := func(ps []*cohort.Patient) [][][]float64 {
		out := make([][][]float64, len(ps))
		for i, p := range ps {
			out[i] = p.Matrix()
		}
		return out
	}
	labels := make([]int, len(train))
	for i, p := range train {
		labels[i] = c.LabelIndex(p.Label)
	}
	for _, g := range []struct{ predictor, file string }{{"minirocket", "predictions.txt"}, {"gbdt", "predictions_gbdt.txt"}} {
		t.Run(g.predictor, func(t *testing.T) {
			pred, err := predict.New(g.predictor, 1)
			require.NoError(t, err)
			ctx := context.Background()
			require.NoError(t, pred.Fit(ctx, series(train), labels, len(c.Labels)))
			var sb strings.Builder
			for i, s := range series(test) {
				pr, err := pred.Predict(ctx, s)
				require.NoError(t, err)
				fmt.Fprintf(&sb, "%s %d", test[i].ID, pr.Label)
				for _, q := range pr.Probs {
					sb.WriteString(" " + strconv.FormatFloat(q, 'g', -1, 64))
				}
				sb.WriteByte('\n')
			}
			golden.Check(t, g.file, sb.String())
		})
	}
}

// TestGoldenTableA1 pins the predictor study (paper table A1) for MiniRocket
// and GBDT (the neural baselines are reproducible too, but slow to fit).
func TestGoldenTableA1(t *testing.T) {
	_, c := trainedOrFail(t)
	var preds []predict.Predictor
	for _, name := range []string{"minirocket", "gbdt"} {
		pred, err := predict.New(name, 1)
		require.NoError(t, err)
		preds = append(preds, pred)
	}
	scores, err := experiment.StudyPredictors(context.Background(), c, cohort.DefaultSplit(), preds)
	require.NoError(t, err)
	var sb strings.Builder
	for _, s := range scores {
		fmt.Fprintf(&sb, "%s\t%s\t%s\n", s.Name,
			strconv.FormatFloat(s.MicroF1, 'g', -1, 64), strconv.FormatFloat(s.MacroF1, 'g', -1, 64))
	}
	golden.Check(t, "table_a1.txt", sb.String())
}
