package predict

import (
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"

	"github.com/pmlm-go/pmlm/internal/stats"
)

// MiniRocketClassifier is a Predictor (the default before GBDTClassifier):
// channels standardized and imputed by a Scaler (series shorter than 9
// timesteps padded at the end with zeros, the training mean), the
// MiniRocket transform, and a Ridge classifier with leave-one-out choice of
// alpha. Probs are the softmax of
// the ridge decision scores: a monotone map of the scores, not calibrated
// probabilities.
//
// A zero MiniRocketClassifier is ready to Fit with the default
// configuration. Fit and Predict must not run concurrently with Fit.
type MiniRocketClassifier struct {
	// Config configures the transform (feature count, seed, workers).
	Config MiniRocketConfig
	// Alphas is the ridge grid; empty means DefaultAlphas.
	Alphas []float64
	// RidgeSolver chooses the ridge solver (FitRidge): the exact
	// leave-one-out one up to RidgeSolver.IterativeAbove training series
	// (DefaultIterativeAbove when zero), conjugate gradients with a
	// held-out choice of alpha above. Its Seed is ignored: Config.Seed
	// seeds the held-out split.
	RidgeSolver RidgeConfig

	scaler *Scaler
	rocket *MiniRocket
	ridge  *Ridge
}

// ErrNotFitted is returned by Predict before Fit.
var ErrNotFitted = errors.New("predict: predictor is not fitted")

// Name returns "minirocket".
func (m *MiniRocketClassifier) Name() string { return "minirocket" }

// Fit implements Predictor.
func (m *MiniRocketClassifier) Fit(ctx context.Context, series [][][]float64, labels []int, numClasses int) error {
	sc, rocket, ridge, err := fitRocketRidge(ctx, "minirocket", series, labels, numClasses, kernelLength, m.Alphas,
		m.RidgeSolver.withSeed(m.Config.Seed), func(ctx context.Context, x [][][]float64) (*MiniRocket, error) {
			return FitMiniRocket(ctx, x, m.Config)
		})
	if err != nil {
		return err
	}
	m.scaler, m.rocket, m.ridge = sc, rocket, ridge
	return nil
}

// fitRocketRidge is the Fit of a classifier of the ROCKET family: a Scaler
// (series shorter than minLen padded at the end), the transform made by
// fit on the scaled series, and a Ridge (FitRidge with rc) on its features.
func fitRocketRidge[T interface {
	Transform(context.Context, [][][]float64) ([][]float64, error)
}](ctx context.Context, name string, series [][][]float64, labels []int, numClasses, minLen int, alphas []float64, rc RidgeConfig,
	fit func(context.Context, [][][]float64) (T, error)) (*Scaler, T, *Ridge, error) {
	var zero T
	if err := checkLabels(series, labels, numClasses); err != nil {
		return nil, zero, nil, wrap(name, err)
	}
	sc, err := FitScaler(series)
	if err != nil {
		return nil, zero, nil, wrap(name, err)
	}
	x, err := sc.ApplyAll(series, minLen)
	if err != nil {
		return nil, zero, nil, wrap(name, err)
	}
	tr, err := fit(ctx, x)
	if err != nil {
		return nil, zero, nil, err
	}
	feats, err := tr.Transform(ctx, x)
	if err != nil {
		return nil, zero, nil, err
	}
	ridge, err := FitRidge(ctx, feats, labels, numClasses, alphas, rc)
	if err != nil {
		return nil, zero, nil, err
	}
	return sc, tr, ridge, nil
}

// Predict implements Predictor.
func (m *MiniRocketClassifier) Predict(ctx context.Context, s [][]float64) (Prediction, error) {
	out, err := m.PredictBatch(ctx, [][][]float64{s})
	if err != nil {
		return Prediction{}, err
	}
	return out[0], nil
}

// Decision returns the ridge decision scores ([series][class]) of many
// series at once, transforming them in parallel.
func (m *MiniRocketClassifier) Decision(ctx context.Context, series [][][]float64) ([][]float64, error) {
	if m.ridge == nil {
		return nil, fmt.Errorf("%w (minirocket)", ErrNotFitted)
	}
	return rocketDecision(ctx, "minirocket", m.scaler, kernelLength, m.rocket, m.ridge, series)
}

// rocketDecision scales series (padded to minLen), transforms them with tr
// and returns the ridge decision scores ([series][class]).
func rocketDecision(ctx context.Context, name string, sc *Scaler, minLen int,
	tr interface {
		Transform(context.Context, [][][]float64) ([][]float64, error)
	}, ridge *Ridge, series [][][]float64) ([][]float64, error) {
	x, err := sc.ApplyAll(series, minLen)
	if err != nil {
		return nil, wrap(name, err)
	}
	feats, err := tr.Transform(ctx, x)
	if err != nil {
		return nil, err
	}
	out := make([][]float64, len(feats))
	for i, f := range feats {
		out[i] = ridge.Decision(f)
	}
	return out, nil
}

// PredictBatch predicts many series at once (faster than Predict in a loop:
// the transform runs in parallel over series).
func (m *MiniRocketClassifier) PredictBatch(ctx context.Context, series [][][]float64) ([]Prediction, error) {
	scores, err := m.Decision(ctx, series)
	if err != nil {
		return nil, err
	}
	return scorePredictions(scores), nil
}

// scorePredictions labels each row of decision scores with its argmax and
// the softmax of the scores.
func scorePredictions(scores [][]float64) []Prediction {
	out := make([]Prediction, len(scores))
	for i, s := range scores {
		out[i] = Prediction{Label: stats.Argmax(s), Probs: stats.Softmax(s)}
	}
	return out
}

// Alpha returns the regularization strength chosen by Fit.
func (m *MiniRocketClassifier) Alpha() float64 {
	if m.ridge == nil {
		return 0
	}
	return m.ridge.Alpha
}

// Ridge returns the fitted ridge classifier (nil before Fit); treat it as
// read-only. Its LOOError shows how the regularization was chosen.
func (m *MiniRocketClassifier) Ridge() *Ridge { return m.ridge }

// miniRocketModel is the gob form of a fitted MiniRocketClassifier.
type miniRocketModel struct {
	Version int
	Config  MiniRocketConfig
	Alphas  []float64
	// RidgeSolver is absent from models saved before it existed.
	RidgeSolver RidgeConfig
	Scaler      *Scaler
	Rocket      *MiniRocket
	Ridge       *Ridge
}

const miniRocketModelVersion = 1

// Save writes the fitted model in gob encoding.
func (m *MiniRocketClassifier) Save(w io.Writer) error {
	if m.ridge == nil {
		return fmt.Errorf("%w (minirocket: save)", ErrNotFitted)
	}
	err := gob.NewEncoder(w).Encode(miniRocketModel{
		Version: miniRocketModelVersion, Config: m.Config, Alphas: m.Alphas, RidgeSolver: m.RidgeSolver,
		Scaler: m.scaler, Rocket: m.rocket, Ridge: m.ridge,
	})
	if err != nil {
		return fmt.Errorf("predict: minirocket: save: %w", err)
	}
	return nil
}

// LoadMiniRocket reads a model written by Save.
func LoadMiniRocket(r io.Reader) (*MiniRocketClassifier, error) {
	var mm miniRocketModel
	if err := gob.NewDecoder(r).Decode(&mm); err != nil {
		return nil, fmt.Errorf("predict: minirocket: load: %w", err)
	}
	if mm.Version != miniRocketModelVersion {
		return nil, fmt.Errorf("predict: minirocket: load: model version %d, want %d", mm.Version, miniRocketModelVersion)
	}
	if err := mm.check(); err != nil {
		return nil, fmt.Errorf("predict: minirocket: load: %w", err)
	}
	return &MiniRocketClassifier{Config: mm.Config, Alphas: mm.Alphas, RidgeSolver: mm.RidgeSolver, scaler: mm.Scaler, rocket: mm.Rocket, ridge: mm.Ridge}, nil
}

// check verifies that the parts of a decoded model fit together, so that a
// corrupt file gives an error instead of a panic at Predict.
func (mm *miniRocketModel) check() error {
	if mm.Scaler == nil || mm.Rocket == nil || mm.Ridge == nil {
		return errors.New("incomplete model")
	}
	nc, err := checkScaler(mm.Scaler)
	if err != nil {
		return err
	}
	nf, err := checkKernels(mm.Rocket, nc)
	if err != nil {
		return err
	}
	return checkRidge(mm.Ridge, nf)
}

// checkScaler returns the channel count of a decoded Scaler.
func checkScaler(sc *Scaler) (int, error) {
	nc := len(sc.Mean)
	if nc == 0 || len(sc.Scale) != nc {
		return 0, errors.New("inconsistent channel count")
	}
	return nc, nil
}

// checkKernels checks the layout of a decoded MiniRocket (kernel
// parameters) on nc channels and returns its number of biases.
func checkKernels(ro *MiniRocket, nc int) (int, error) {
	if ro.NumChannels != nc {
		return 0, errors.New("inconsistent channel count")
	}
	if len(ro.Dilations) != len(ro.FeaturesPerDilation) || len(ro.ChannelsPerCombination) != numKernels*len(ro.Dilations) {
		return 0, errors.New("inconsistent dilations")
	}
	nf, nch := 0, 0
	for i, d := range ro.Dilations {
		if d < 1 || d > maxDilation || ro.FeaturesPerDilation[i] < 0 {
			return 0, errors.New("bad dilation")
		}
		nf += numKernels * ro.FeaturesPerDilation[i]
	}
	for _, c := range ro.ChannelsPerCombination {
		if c < 1 {
			return 0, errors.New("empty channel combination")
		}
		nch += c
	}
	if nch != len(ro.ChannelIndices) || nf != len(ro.Biases) {
		return 0, errors.New("inconsistent feature layout")
	}
	for _, c := range ro.ChannelIndices {
		if c < 0 || c >= nc {
			return 0, errors.New("channel index out of range")
		}
	}
	return nf, nil
}

// maxDilation bounds the dilations a loaded model may hold (fitted ones are
// at most (longest series − 1)/8), so that offsets cannot overflow.
const maxDilation = 1 << 24

// checkRidge checks a decoded Ridge on nf features.
func checkRidge(rg *Ridge, nf int) error {
	if len(rg.FeatureMean) != nf || len(rg.FeatureScale) != nf || len(rg.Weights) < 2 || len(rg.Intercepts) != len(rg.Weights) {
		return errors.New("inconsistent ridge")
	}
	for _, w := range rg.Weights {
		if len(w) != nf {
			return errors.New("inconsistent ridge weights")
		}
	}
	if rg.Solver != "" && rg.Solver != SolverExact && rg.Solver != SolverIterative {
		return fmt.Errorf("unknown ridge solver %q", rg.Solver)
	}
	return nil
}
