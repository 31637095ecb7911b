package predict

import (
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
)

// multiRocketMinLength is the shortest series MultiRocket transforms: its
// first difference must still cover the kernel.
const multiRocketMinLength = kernelLength + 1

// multiRocketPoolings is the number of pooling operators (PPV, MPV, MIPV,
// LSPV) per convolution output and bias.
const multiRocketPoolings = 4

// ErrTooShortForMultiRocket is returned for a series shorter than 10
// timesteps given to the MultiRocket transform.
var ErrTooShortForMultiRocket = errors.New("predict: series shorter than 10 timesteps (MultiRocket convolves its first difference too)")

// MultiRocketConfig configures the MultiRocket transform.
type MultiRocketConfig struct {
	// NumFeatures is the requested number of features. The transform
	// applies 4 pooling operators to the outputs of 2 representations, so
	// it fits the largest multiple of 84 kernel-bias pairs not above
	// NumFeatures/8 per representation: 49,728 features for the default
	// 50,000 (Tan et al.'s default).
	NumFeatures int
	// MaxDilationsPerKernel bounds the number of dilations of each
	// representation. Zero means 32.
	MaxDilationsPerKernel int
	// Seed seeds the random choices of the fit (channel combinations and
	// the examples the biases are drawn from, for both representations).
	Seed uint64
	// Workers is the number of goroutines of Transform (over series).
	// Zero means runtime.GOMAXPROCS(0).
	Workers int
}

func (c MultiRocketConfig) withDefaults() MultiRocketConfig {
	if c.NumFeatures <= 0 {
		c.NumFeatures = 50_000
	}
	if c.MaxDilationsPerKernel <= 0 {
		c.MaxDilationsPerKernel = 32
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	return c
}

// MultiRocket is a fitted multivariate, variable-length MultiRocket
// transform (Tan, Dempster, Bergmeir & Webb, "MultiRocket: multiple pooling
// operators and transformations for fast and effective time series
// classification", Data Mining and Knowledge Discovery 36, 2022). It applies
// MiniRocket's kernels, with their own dilations, channel combinations and
// biases, to two representations of a series: the series itself (Base) and
// its first difference (Diff). Each convolution output C and bias b gives
// four features, computed over the same positions MiniRocket's PPV uses:
//
//   - PPV, the proportion of positive values of C − b;
//   - MPV, the mean of the positive values of C − b (0 when there are none);
//   - MIPV, the mean index of the positive values (−1 when none);
//   - LSPV, the length of the longest run of consecutive positive values.
//
// Unlike PPV alone, MPV and LSPV depend on how far and how long a series
// stays above a level. The pooling follows the paper's definitions; the
// reference code's MPV sums C + b rather than C − b (a per-feature shift
// where any value is positive), and its LSPV measures the gap between
// values below the bias; neither is reproduced.
//
// Features are laid out per representation (Base, then Diff) as four blocks
// of one feature per bias: PPV, MPV, MIPV, LSPV. Input series are
// [timesteps][channels], complete, at least 10 long; see Scaler. The fields
// are exported for gob encoding; treat them as read-only.
type MultiRocket struct {
	// Base holds the kernel parameters fitted on the series, Diff those
	// fitted on their first difference.
	Base, Diff *MiniRocket
	// Workers is the number of goroutines of Transform.
	Workers int
}

// NumFeatures returns the length of a transformed series.
func (m *MultiRocket) NumFeatures() int {
	return multiRocketPoolings * (len(m.Base.Biases) + len(m.Diff.Biases))
}

// FitMultiRocket fits the transform on training series ([series][timesteps]
// [channels], complete, each at least 10 long). Each representation's
// dilations take its longest training series as the reference length.
func FitMultiRocket(ctx context.Context, series [][][]float64, cfg MultiRocketConfig) (*MultiRocket, error) {
	cfg = cfg.withDefaults()
	if len(series) == 0 {
		return nil, errors.New("predict: multirocket: no training series")
	}
	perRepresentation := cfg.NumFeatures / (2 * multiRocketPoolings)
	if perRepresentation < numKernels {
		return nil, fmt.Errorf("predict: multirocket: NumFeatures %d below %d", cfg.NumFeatures, 2*multiRocketPoolings*numKernels)
	}
	cs, err := channelMajorMin(series, -1, multiRocketMinLength, ErrTooShortForMultiRocket)
	if err != nil {
		return nil, wrap("multirocket", err)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x6d756c7469726f63)) // "multiroc"
	kc := MiniRocketConfig{NumFeatures: perRepresentation, MaxDilationsPerKernel: cfg.MaxDilationsPerKernel, Workers: cfg.Workers}
	base, err := fitKernels(ctx, cs, kc, rng)
	if err != nil {
		return nil, err
	}
	diffs := make([][][]float64, len(cs))
	for i, x := range cs {
		diffs[i] = firstDifference(x)
	}
	diff, err := fitKernels(ctx, diffs, kc, rng)
	if err != nil {
		return nil, err
	}
	return &MultiRocket{Base: base, Diff: diff, Workers: cfg.Workers}, nil
}

// firstDifference returns x[t+1] − x[t] of each channel of a [channel][time]
// series.
func firstDifference(x [][]float64) [][]float64 {
	out := make([][]float64, len(x))
	for ch, v := range x {
		d := make([]float64, len(v)-1)
		for t := range d {
			d[t] = v[t+1] - v[t]
		}
		out[ch] = d
	}
	return out
}

// Transform returns the MultiRocket features of each series, [series]
// [NumFeatures()], computing series in parallel on m.Workers goroutines.
func (m *MultiRocket) Transform(ctx context.Context, series [][][]float64) ([][]float64, error) {
	cs, err := channelMajorMin(series, m.Base.NumChannels, multiRocketMinLength, ErrTooShortForMultiRocket)
	if err != nil {
		return nil, wrap("multirocket", err)
	}
	return transformParallel(ctx, cs, m.Workers, m.transformOne)
}

// transformOne computes the features of one [channel][time] series.
func (m *MultiRocket) transformOne(x [][]float64, buf *convBuffers) []float64 {
	nb := multiRocketPoolings * len(m.Base.Biases)
	out := make([]float64, m.NumFeatures())
	poolFour(m.Base, x, buf, out[:nb])
	poolFour(m.Diff, firstDifference(x), buf, out[nb:])
	return out
}

// poolFour writes the four pooled features of every output and bias of r
// over x into out: len(r.Biases) PPVs, then as many MPVs, MIPVs and LSPVs.
func poolFour(r *MiniRocket, x [][]float64, buf *convBuffers, out []float64) {
	nf := len(r.Biases)
	ppv, mpv, mipv, lspv := out[:nf], out[nf:2*nf], out[2*nf:3*nf], out[3*nf:]
	f := 0
	r.forEachOutput(x, buf, func(c, biases []float64) {
		for _, b := range biases {
			pos, run, longest := 0, 0, 0
			sum, sumIndex := 0.0, 0
			for t, v := range c {
				if v > b {
					pos++
					sum += v - b
					sumIndex += t
					run++
					longest = max(longest, run)
				} else {
					run = 0
				}
			}
			ppv[f] = float64(pos) / float64(len(c))
			lspv[f] = float64(longest)
			if pos > 0 {
				mpv[f] = sum / float64(pos)
				mipv[f] = float64(sumIndex) / float64(pos)
			} else {
				mpv[f], mipv[f] = 0, -1
			}
			f++
		}
	})
}

// MultiRocketClassifier is a Predictor: channels standardized and imputed
// by a Scaler (series shorter than 10 timesteps padded at the end with
// zeros, the training mean), the MultiRocket transform, and the Ridge
// classifier of MiniRocketClassifier (leave-one-out choice of alpha). Probs
// are the softmax of the ridge decision scores: a monotone map of the
// scores, not calibrated probabilities.
//
// A zero MultiRocketClassifier is ready to Fit with the default
// configuration. Fit and Predict must not run concurrently with Fit.
type MultiRocketClassifier struct {
	// Config configures the transform (feature count, seed, workers).
	Config MultiRocketConfig
	// Alphas is the ridge grid; empty means DefaultAlphas.
	Alphas []float64
	// RidgeSolver chooses the ridge solver, as for MiniRocketClassifier.
	// Its Seed is ignored: Config.Seed seeds the held-out split.
	RidgeSolver RidgeConfig

	scaler *Scaler
	rocket *MultiRocket
	ridge  *Ridge
}

// KindMultiRocket names the saved form of a MultiRocketClassifier.
const KindMultiRocket = "predict.multirocket/1"

// Name returns "multirocket".
func (m *MultiRocketClassifier) Name() string { return "multirocket" }

// Kind names the saved form of a MultiRocketClassifier.
func (m *MultiRocketClassifier) Kind() string { return KindMultiRocket }

// Fit implements Predictor.
func (m *MultiRocketClassifier) Fit(ctx context.Context, series [][][]float64, labels []int, numClasses int) error {
	sc, rocket, ridge, err := fitRocketRidge(ctx, "multirocket", series, labels, numClasses, multiRocketMinLength, m.Alphas,
		m.RidgeSolver.withSeed(m.Config.Seed), func(ctx context.Context, x [][][]float64) (*MultiRocket, error) {
			return FitMultiRocket(ctx, x, m.Config)
		})
	if err != nil {
		return err
	}
	m.scaler, m.rocket, m.ridge = sc, rocket, ridge
	return nil
}

// Predict implements Predictor.
func (m *MultiRocketClassifier) Predict(ctx context.Context, s [][]float64) (Prediction, error) {
	out, err := m.PredictBatch(ctx, [][][]float64{s})
	if err != nil {
		return Prediction{}, err
	}
	return out[0], nil
}

// Decision returns the ridge decision scores ([series][class]) of many
// series at once, transforming them in parallel.
func (m *MultiRocketClassifier) Decision(ctx context.Context, series [][][]float64) ([][]float64, error) {
	if m.ridge == nil {
		return nil, fmt.Errorf("%w (multirocket)", ErrNotFitted)
	}
	return rocketDecision(ctx, "multirocket", m.scaler, multiRocketMinLength, m.rocket, m.ridge, series)
}

// PredictBatch implements BatchPredictor.
func (m *MultiRocketClassifier) PredictBatch(ctx context.Context, series [][][]float64) ([]Prediction, error) {
	scores, err := m.Decision(ctx, series)
	if err != nil {
		return nil, err
	}
	return scorePredictions(scores), nil
}

// Ridge returns the fitted ridge classifier (nil before Fit); treat it as
// read-only.
func (m *MultiRocketClassifier) Ridge() *Ridge { return m.ridge }

// Transform returns the fitted transform (nil before Fit); treat it as
// read-only.
func (m *MultiRocketClassifier) Transform() *MultiRocket { return m.rocket }

// NumClasses returns the number of classes the fitted classifier predicts
// (0 before Fit).
func (m *MultiRocketClassifier) NumClasses() int {
	if m.ridge == nil {
		return 0
	}
	return len(m.ridge.Weights)
}

// NumChannels returns the number of channels the fitted classifier reads
// (0 before Fit).
func (m *MultiRocketClassifier) NumChannels() int {
	if m.scaler == nil {
		return 0
	}
	return len(m.scaler.Mean)
}

// multiRocketModel is the gob form of a fitted MultiRocketClassifier.
type multiRocketModel struct {
	Version int
	Config  MultiRocketConfig
	Alphas  []float64
	// RidgeSolver is absent from models saved before it existed.
	RidgeSolver RidgeConfig
	Scaler      *Scaler
	Rocket      *MultiRocket
	Ridge       *Ridge
}

const multiRocketModelVersion = 1

// Save writes the fitted model in gob encoding; LoadMultiRocket reads it.
func (m *MultiRocketClassifier) Save(w io.Writer) error {
	if m.ridge == nil {
		return fmt.Errorf("%w (multirocket: save)", ErrNotFitted)
	}
	err := gob.NewEncoder(w).Encode(multiRocketModel{
		Version: multiRocketModelVersion, Config: m.Config, Alphas: m.Alphas,
		RidgeSolver: m.RidgeSolver, Scaler: m.scaler, Rocket: m.rocket, Ridge: m.ridge,
	})
	if err != nil {
		return fmt.Errorf("predict: multirocket: save: %w", err)
	}
	return nil
}

// LoadMultiRocket reads a model written by MultiRocketClassifier.Save. It
// refuses a model whose parts do not fit together.
func LoadMultiRocket(r io.Reader) (*MultiRocketClassifier, error) {
	var mm multiRocketModel
	if err := gob.NewDecoder(r).Decode(&mm); err != nil {
		return nil, fmt.Errorf("predict: multirocket: load: %w", err)
	}
	if mm.Version != multiRocketModelVersion {
		return nil, fmt.Errorf("predict: multirocket: load: model version %d, want %d", mm.Version, multiRocketModelVersion)
	}
	if err := mm.check(); err != nil {
		return nil, fmt.Errorf("predict: multirocket: load: %w", err)
	}
	return &MultiRocketClassifier{Config: mm.Config, Alphas: mm.Alphas, RidgeSolver: mm.RidgeSolver, scaler: mm.Scaler, rocket: mm.Rocket, ridge: mm.Ridge}, nil
}

// check verifies that the parts of a decoded model fit together, so that a
// corrupt file gives an error instead of a panic at Predict.
func (mm *multiRocketModel) check() error {
	if mm.Scaler == nil || mm.Rocket == nil || mm.Rocket.Base == nil || mm.Rocket.Diff == nil || mm.Ridge == nil {
		return errors.New("incomplete model")
	}
	nc, err := checkScaler(mm.Scaler)
	if err != nil {
		return err
	}
	nb, err := checkKernels(mm.Rocket.Base, nc)
	if err != nil {
		return fmt.Errorf("series kernels: %w", err)
	}
	nd, err := checkKernels(mm.Rocket.Diff, nc)
	if err != nil {
		return fmt.Errorf("difference kernels: %w", err)
	}
	return checkRidge(mm.Ridge, multiRocketPoolings*(nb+nd))
}
