package predict

import "fmt"

// Scores are classification scores of predicted against true labels.
type Scores struct {
	// Accuracy is the share of correct predictions; for single-label
	// classification it equals micro-averaged F1.
	Accuracy float64
	// MicroF1 is F1 over all decisions pooled (equal to Accuracy here).
	MicroF1 float64
	// MacroF1 is the unweighted mean over classes of per-class F1. A class
	// that is neither present nor predicted is left out of the mean (as
	// scikit-learn does with labels=None); a class present but never
	// predicted correctly counts 0.
	MacroF1 float64
}

// Score compares predictions with the truth; a prediction of -1 (unknown)
// is wrong for every class.
func Score(pred, truth []int, numClasses int) (Scores, error) {
	if len(pred) != len(truth) {
		return Scores{}, fmt.Errorf("predict: score: %d predictions for %d labels", len(pred), len(truth))
	}
	if len(pred) == 0 {
		return Scores{}, fmt.Errorf("predict: score: no predictions")
	}
	tp := make([]float64, numClasses)
	fp := make([]float64, numClasses)
	fn := make([]float64, numClasses)
	correct := 0
	for i, p := range pred {
		t := truth[i]
		if t < 0 || t >= numClasses || p < -1 || p >= numClasses {
			return Scores{}, fmt.Errorf("predict: score: label %d or prediction %d outside [0,%d)", t, p, numClasses)
		}
		if p == t {
			tp[t]++
			correct++
			continue
		}
		fn[t]++
		if p >= 0 {
			fp[p]++
		}
	}
	macro, n := 0.0, 0
	for c := 0; c < numClasses; c++ {
		if tp[c]+fp[c]+fn[c] == 0 {
			continue
		}
		macro += 2 * tp[c] / (2*tp[c] + fp[c] + fn[c])
		n++
	}
	acc := float64(correct) / float64(len(pred))
	return Scores{Accuracy: acc, MicroF1: acc, MacroF1: macro / float64(n)}, nil
}
