// Package predict holds the label predictors of the PMLM paper (section 4.1
// and appendix A.3): models that read a patient's variable-length history of
// visits and predict the discharge label.
//
// The package works on plain values. A series is [][]float64 of shape
// [timesteps][channels] (one row per visit, one column per metric); NaN marks
// a missing value; series differ in length. Labels are class indices in
// [0, numClasses).
//
// Predictors:
//
//   - GBDTClassifier (the default): gradient-boosted decision trees on
//     per-patient summary features (per lab: last, mean, min, max, slope,
//     observed share; the number of visits), trained by FitGBDT.
//   - MiniRocketClassifier: the MiniRocket transform (Dempster, Schmidt &
//     Webb, KDD 2021), multivariate and variable-length, followed by a
//     ridge classifier whose regularization is chosen by efficient
//     leave-one-out cross-validation, as scikit-learn's RidgeClassifierCV.
//   - MultiRocketClassifier: the MultiRocket transform (Tan, Dempster,
//     Bergmeir & Webb, Data Mining and Knowledge Discovery 2022) and the
//     same ridge. It reuses MiniRocket's kernels, dilations and biases on
//     the series and on its first difference, and pools each convolution
//     output four ways: the proportion (PPV) and mean (MPV) of the values
//     above the bias, their mean index (MIPV) and their longest run (LSPV).
//     MPV and LSPV see how far and how long a lab stays above a level,
//     which PPV alone does not. 49,728 features by default, so its fit costs
//     about 8× MiniRocket's (BENCHMARKS.md); on JapaneseVowels its mean
//     accuracy over 10 seeds is 0.985 against MiniRocket's 0.983, and on
//     six univariate UCR sets it is within 0.02 of the authors' published
//     accuracies (PLAID's unequal-length series padded as they pad them;
//     docs/experiments/predictors).
//   - NeuralClassifier: the paper's baselines (LSTM, 1-D CNN, Transformer
//     encoder) on spago, over the zero-padded visit sequence.
//   - LLMClassifier: an instruction-tuned language model served through
//     langchaingo, prompted with the visits (paper figure 3).
//
// ReadTS reads the UEA/UCR ".ts" archive format so that the predictors can be
// checked against published results.
package predict

import (
	"context"
	"fmt"
	"strings"
)

// Prediction is a predicted label with class probabilities.
type Prediction struct {
	// Label is the predicted class index, or -1 when a predictor could not
	// name one (see LLMClassifier).
	Label int
	// Probs has one probability per class, summing to 1. How it is obtained
	// depends on the predictor and is documented there; it may be nil when
	// Label is -1.
	Probs []float64
}

// Predictor predicts the label of a series.
type Predictor interface {
	// Fit trains the predictor on series ([series][timesteps][channels])
	// with labels in [0, numClasses).
	Fit(ctx context.Context, series [][][]float64, labels []int, numClasses int) error
	// Predict returns the label of one series ([timesteps][channels]).
	Predict(ctx context.Context, s [][]float64) (Prediction, error)
	// Name identifies the predictor in reports, e.g. "minirocket".
	Name() string
}

// checkLabels validates training labels against the series.
func checkLabels(series [][][]float64, labels []int, numClasses int) error {
	if len(series) == 0 {
		return ErrNoSeries
	}
	if len(labels) != len(series) {
		return fmt.Errorf("%d labels for %d series", len(labels), len(series))
	}
	if numClasses < 2 {
		return fmt.Errorf("%d classes, need at least 2", numClasses)
	}
	for i, l := range labels {
		if l < 0 || l >= numClasses {
			return fmt.Errorf("label %d of series %d outside [0,%d)", l, i, numClasses)
		}
	}
	return nil
}

// BatchPredictor is a Predictor that predicts many series at once faster
// than one by one (MiniRocketClassifier transforms them in parallel).
type BatchPredictor interface {
	Predictor
	PredictBatch(ctx context.Context, series [][][]float64) ([]Prediction, error)
}

// PredictAll returns the label of every series, in one batch when p is a
// BatchPredictor and one by one otherwise.
func PredictAll(ctx context.Context, p Predictor, series [][][]float64) ([]int, error) {
	out := make([]int, len(series))
	if b, ok := p.(BatchPredictor); ok {
		preds, err := b.PredictBatch(ctx, series)
		if err != nil {
			return nil, err
		}
		for i, pr := range preds {
			out[i] = pr.Label
		}
		return out, nil
	}
	for i, s := range series {
		pr, err := p.Predict(ctx, s)
		if err != nil {
			return nil, fmt.Errorf("series %d: %w", i, err)
		}
		out[i] = pr.Label
	}
	return out, nil
}

// wrap prefixes err with "predict: NAME: ", or, when err already carries
// the package's prefix (a sentinel such as ErrNoSeries), names the
// predictor after it, so that no message repeats "predict:".
func wrap(name string, err error) error {
	if strings.HasPrefix(err.Error(), "predict: ") {
		return fmt.Errorf("%w (%s)", err, name)
	}
	return fmt.Errorf("predict: %s: %w", name, err)
}
