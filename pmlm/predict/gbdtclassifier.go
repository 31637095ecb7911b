package predict

import (
	"context"
	"encoding/gob"
	"fmt"
	"io"
	"slices"

	"github.com/pmlm-go/pmlm/internal/stats"
)

// KindGBDT names the saved form of a GBDTClassifier.
const KindGBDT = "predict.gbdt/1"

// GBDTClassifier predicts a label from per-patient summary features
// (SummaryFeatures with DefaultSummaryStats: per channel last, mean, min,
// max, slope and observed fraction, and the number of visits) with
// gradient-boosted trees (FitGBDT). Unlike MiniRocket's zero-sum kernels it
// sees the level of a value, where lab signals live, and it reads a missing
// value as missing rather than imputed. Probs are the softmax of the
// boosted scores.
//
// A zero GBDTClassifier is ready to Fit with the default configuration.
type GBDTClassifier struct {
	// Config configures the boosting.
	Config GBDTConfig
	// Channels optionally names the channels, for FeatureImportances.
	Channels []string

	numChannels int
	model       *GBDT
}

// Name returns "gbdt".
func (m *GBDTClassifier) Name() string { return "gbdt" }

// Kind names the saved form of a GBDTClassifier.
func (m *GBDTClassifier) Kind() string { return KindGBDT }

// features returns the summary features of every series.
func summarize(series [][][]float64, nc int) ([][]float64, error) {
	st := DefaultSummaryStats()
	x := make([][]float64, len(series))
	for i, s := range series {
		var err error
		if x[i], err = SummaryFeatures(s, nc, st); err != nil {
			return nil, fmt.Errorf("series %d: %w", i, err)
		}
	}
	return x, nil
}

// Fit implements Predictor.
func (m *GBDTClassifier) Fit(ctx context.Context, series [][][]float64, labels []int, numClasses int) error {
	if err := checkLabels(series, labels, numClasses); err != nil {
		return wrap("gbdt", err)
	}
	nc, err := numChannels(series)
	if err != nil {
		return wrap("gbdt", err)
	}
	x, err := summarize(series, nc)
	if err != nil {
		return wrap("gbdt", err)
	}
	model, err := FitGBDT(ctx, x, labels, numClasses, m.Config)
	if err != nil {
		return err
	}
	m.numChannels, m.model = nc, model
	return nil
}

// Predict implements Predictor.
func (m *GBDTClassifier) Predict(ctx context.Context, s [][]float64) (Prediction, error) {
	out, err := m.PredictBatch(ctx, [][][]float64{s})
	if err != nil {
		return Prediction{}, err
	}
	return out[0], nil
}

// PredictBatch implements BatchPredictor.
func (m *GBDTClassifier) PredictBatch(ctx context.Context, series [][][]float64) ([]Prediction, error) {
	if m.model == nil {
		return nil, fmt.Errorf("%w (gbdt)", ErrNotFitted)
	}
	x, err := summarize(series, m.numChannels)
	if err != nil {
		return nil, wrap("gbdt", err)
	}
	out := make([]Prediction, len(x))
	for i, f := range x {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s := m.model.Decision(f)
		out[i] = Prediction{Label: stats.Argmax(s), Probs: stats.Softmax(s)}
	}
	return out, nil
}

// Model returns the fitted ensemble (nil before Fit); treat it as
// read-only.
func (m *GBDTClassifier) Model() *GBDT { return m.model }

// FeatureImportance is a feature's share of the total split gain.
type FeatureImportance struct {
	Feature string
	Share   float64
}

// FeatureImportances returns the features by decreasing share of the split
// gain, named as SummaryFeatureNames names them (with Channels).
func (m *GBDTClassifier) FeatureImportances() []FeatureImportance {
	if m.model == nil {
		return nil
	}
	names := SummaryFeatureNames(m.Channels, m.numChannels, DefaultSummaryStats())
	imp := m.model.Importances()
	out := make([]FeatureImportance, len(imp))
	for j, v := range imp {
		out[j] = FeatureImportance{Feature: names[j], Share: v}
	}
	slices.SortStableFunc(out, func(a, b FeatureImportance) int {
		switch {
		case a.Share > b.Share:
			return -1
		case a.Share < b.Share:
			return 1
		}
		return 0
	})
	return out
}

// gbdtModel is the gob form of a fitted GBDTClassifier.
type gbdtModel struct {
	Version     int
	Config      GBDTConfig
	Channels    []string
	NumChannels int
	Stats       []string
	Model       *GBDT
}

const gbdtModelVersion = 1

func summaryStatNames() []string {
	var out []string
	for _, s := range DefaultSummaryStats() {
		out = append(out, s.Name)
	}
	return out
}

// Save writes the fitted model in gob encoding; LoadGBDT reads it.
func (m *GBDTClassifier) Save(w io.Writer) error {
	if m.model == nil {
		return fmt.Errorf("%w (gbdt: save)", ErrNotFitted)
	}
	err := gob.NewEncoder(w).Encode(gbdtModel{Version: gbdtModelVersion, Config: m.Config, Channels: m.Channels,
		NumChannels: m.numChannels, Stats: summaryStatNames(), Model: m.model})
	if err != nil {
		return fmt.Errorf("predict: gbdt: save: %w", err)
	}
	return nil
}

// LoadGBDT reads a model written by GBDTClassifier.Save. It refuses a model
// whose summary statistics differ from this version's.
func LoadGBDT(r io.Reader) (*GBDTClassifier, error) {
	var gm gbdtModel
	if err := gob.NewDecoder(r).Decode(&gm); err != nil {
		return nil, fmt.Errorf("predict: gbdt: load: %w", err)
	}
	if gm.Version != gbdtModelVersion {
		return nil, fmt.Errorf("predict: gbdt: load: model version %d, want %d", gm.Version, gbdtModelVersion)
	}
	if !slices.Equal(gm.Stats, summaryStatNames()) {
		return nil, fmt.Errorf("predict: gbdt: load: summary statistics %v, this version computes %v", gm.Stats, summaryStatNames())
	}
	if gm.Model == nil || gm.NumChannels < 1 {
		return nil, fmt.Errorf("predict: gbdt: load: incomplete model")
	}
	if want := gm.NumChannels*len(gm.Stats) + 1; gm.Model.NumFeatures != want {
		return nil, fmt.Errorf("predict: gbdt: load: %d features for %d channels, want %d", gm.Model.NumFeatures, gm.NumChannels, want)
	}
	if err := gm.Model.check(); err != nil {
		return nil, fmt.Errorf("predict: gbdt: load: %w", err)
	}
	return &GBDTClassifier{Config: gm.Config, Channels: gm.Channels, numChannels: gm.NumChannels, model: gm.Model}, nil
}
