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
	// PerClass has one entry per class index.
	PerClass []ClassScore
}

// ClassScore is the F1 of one class with its support.
type ClassScore struct {
	// F1 is 2·TP/(2·TP+FP+FN), 0 when the class is neither present nor
	// predicted (Support and Predicted tell that case apart).
	F1 float64
	// Support is the number of examples of the class; Predicted the
	// number of predictions of it.
	Support, Predicted int
}

// Score compares predictions with the truth; a prediction of -1 (unknown)
// is wrong for every class.
func Score(pred, truth []int, numClasses int) (Scores, error) {
	return WeightedScore(pred, truth, nil, numClasses)
}

// WeightedScore is Score with example i counted counts[i] times (a
// bootstrap resample); nil counts count every example once. Support and
// Predicted are then weighted counts.
func WeightedScore(pred, truth, counts []int, numClasses int) (Scores, error) {
	if len(pred) != len(truth) || (counts != nil && len(counts) != len(pred)) {
		return Scores{}, fmt.Errorf("predict: score: %d predictions for %d labels", len(pred), len(truth))
	}
	if len(pred) == 0 {
		return Scores{}, fmt.Errorf("predict: score: no predictions")
	}
	tp := make([]float64, numClasses)
	fp := make([]float64, numClasses)
	fn := make([]float64, numClasses)
	var correct, total float64
	for i, p := range pred {
		t := truth[i]
		if t < 0 || t >= numClasses || p < -1 || p >= numClasses {
			return Scores{}, fmt.Errorf("predict: score: label %d or prediction %d outside [0,%d)", t, p, numClasses)
		}
		w := 1.0
		if counts != nil {
			w = float64(counts[i])
		}
		total += w
		if p == t {
			tp[t] += w
			correct += w
			continue
		}
		fn[t] += w
		if p >= 0 {
			fp[p] += w
		}
	}
	macro, n := 0.0, 0
	per := make([]ClassScore, numClasses)
	for c := 0; c < numClasses; c++ {
		per[c] = ClassScore{Support: int(tp[c] + fn[c]), Predicted: int(tp[c] + fp[c])}
		if tp[c]+fp[c]+fn[c] == 0 {
			continue
		}
		per[c].F1 = 2 * tp[c] / (2*tp[c] + fp[c] + fn[c])
		macro += per[c].F1
		n++
	}
	if total == 0 || n == 0 {
		return Scores{}, fmt.Errorf("predict: score: no example counted")
	}
	acc := correct / total
	return Scores{Accuracy: acc, MicroF1: acc, MacroF1: macro / float64(n), PerClass: per}, nil
}
