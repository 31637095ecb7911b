package synth

import (
	"context"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/predict"
)

// TestSeparabilityByGBDT is a stronger sanity classifier than
// centroidAUROC's per-patient means: the project's default predictor (GBDT
// on per-patient summary features: last, mean, extremes, slope and the
// share of values observed) trained on the training split to tell each
// label from normal, scored on the validation and test splits together.
// It logs the AUROC with a 95 % bootstrap interval over the held-out
// patients and asserts what COHORT_SPEC §5 item 7 asks with a margin for
// cohorts of this size: uterine scar and cord entanglement not clearly
// learnable (AUROC at most 0.65), thalassemia clearly learnable (at least
// 0.9). Hypothyroidism is logged only: it has 22–29 held-out patients.
//
// Measured with -synth.seed 1 (the cohort of pmlm synth and of the
// experiments), 0, 2 and 3: scar 0.598 [0.539, 0.657], 0.539, 0.570,
// 0.576 — a little above the specification's ≈ 0.55, through its own
// indirect trace (repeat caesareans and their larger post-delivery
// haemoglobin drop); cord 0.480, 0.539, 0.533, 0.479; hypothyroidism
// 0.488, 0.715 [0.597, 0.822], 0.519, 0.514 — seed 0's draw is the
// outlier; thalassemia 0.986–0.994. A predictor's F1 of about 25 on scar
// (22 % of patients) is what guessing at that rate
// gives, not a leak. Minutes of CPU: it runs with PMLM_SANITY=1 only.
func TestSeparabilityByGBDT(t *testing.T) {
	if os.Getenv("PMLM_SANITY") != "1" {
		t.Skip("set PMLM_SANITY=1 to fit GBDT label-vs-normal classifiers on the default cohort")
	}
	c, _ := defaultData(t)
	train, validation, test := c.Split(cohort.DefaultSplit())
	heldOut := append(slices.Clone(validation), test...)
	for _, tc := range []struct {
		label    string
		min, max float64 // bounds on the AUROC
	}{
		{cohort.LabelUterineScar, 0, 0.65},
		{cohort.LabelCordEntanglement, 0, 0.65},
		{cohort.LabelHypothyroidism, 0, 1},
		{cohort.LabelThalassemia, 0.9, 1},
	} {
		t.Run(tc.label, func(t *testing.T) {
			var xs [][][]float64
			var ys []int
			for _, p := range train {
				if p.Label == tc.label || p.Label == cohort.LabelNormal {
					xs = append(xs, p.Matrix())
					ys = append(ys, boolIndex(p.Label == tc.label))
				}
			}
			m := &predict.GBDTClassifier{Config: predict.GBDTConfig{Seed: 1}}
			require.NoError(t, m.Fit(context.Background(), xs, ys, 2))
			var pos, neg []float64
			for _, p := range heldOut {
				if p.Label != tc.label && p.Label != cohort.LabelNormal {
					continue
				}
				pr, err := m.Predict(context.Background(), p.Matrix())
				require.NoError(t, err)
				if p.Label == tc.label {
					pos = append(pos, pr.Probs[1])
				} else {
					neg = append(neg, pr.Probs[1])
				}
			}
			a := auroc(pos, neg)
			lo, hi := bootstrapAUROC(pos, neg, 2000, rand.New(rand.NewPCG(1, 2)))
			t.Logf("%s vs normal: GBDT AUROC %.3f [%.3f, %.3f] (%d and %d held-out patients)", tc.label, a, lo, hi, len(pos), len(neg))
			assert.GreaterOrEqual(t, a, tc.min)
			assert.LessOrEqual(t, a, tc.max)
		})
	}
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

// bootstrapAUROC is the 95 % percentile interval of the AUROC with the
// positives and the negatives resampled separately.
func bootstrapAUROC(pos, neg []float64, resamples int, r *rand.Rand) (lo, hi float64) {
	draw := func(s []float64) []float64 {
		out := make([]float64, len(s))
		for i := range out {
			out[i] = s[r.IntN(len(s))]
		}
		return out
	}
	as := make([]float64, resamples)
	for i := range as {
		as[i] = auroc(draw(pos), draw(neg))
	}
	slices.Sort(as)
	return as[int(0.025*float64(resamples))], as[int(0.975*float64(resamples))-1]
}
