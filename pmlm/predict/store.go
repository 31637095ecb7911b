package predict

import (
	"encoding/gob"
	"fmt"
	"io"
	"strconv"

	"github.com/nlpodyssey/spago/nn"
)

// Kinds under which the built-in predictors are saved (see the Kind
// methods): model manifests record them, and loaders are looked up by them.
// A kind ends in its file format's version, so a new format is a new kind
// and the loader of the old one can stay registered.
const (
	KindMiniRocket     = "predict.minirocket/1"
	KindLSTM           = "predict.lstm/1"
	KindCNN            = "predict.cnn/1"
	KindTransformer    = "predict.transformer/1"
	neuralModelVersion = 1
	neuralKindPrefix   = "predict."
)

// Kind names the saved form of a MiniRocketClassifier.
func (m *MiniRocketClassifier) Kind() string { return KindMiniRocket }

// Kind names the saved form of a NeuralClassifier: one kind per
// architecture.
func (m *NeuralClassifier) Kind() string {
	return neuralKindPrefix + string(m.Config.Arch) + "/" + strconv.Itoa(neuralModelVersion)
}

// neuralModel is the gob form of a fitted NeuralClassifier.
type neuralModel struct {
	Version           int
	Config            NeuralConfig
	Scaler            *Scaler
	MaxLen            int
	NumClasses        int
	Epochs, BestEpoch int
	Params            [][]float64
}

// Save writes the fitted network in gob encoding; LoadNeural reads it.
func (m *NeuralClassifier) Save(w io.Writer) error {
	if m.net == nil {
		return fmt.Errorf("%w (%s: save)", ErrNotFitted, m.Config.Arch)
	}
	err := gob.NewEncoder(w).Encode(neuralModel{
		Version: neuralModelVersion, Config: m.Config, Scaler: m.scaler, MaxLen: m.maxLen,
		NumClasses: m.numClasses, Epochs: m.epochs, BestEpoch: m.bestEpoch, Params: saveParams(m.net),
	})
	if err != nil {
		return fmt.Errorf("predict: %s: save: %w", m.Config.Arch, err)
	}
	return nil
}

// LoadNeural reads a network written by NeuralClassifier.Save.
func LoadNeural(r io.Reader) (*NeuralClassifier, error) {
	var nm neuralModel
	if err := gob.NewDecoder(r).Decode(&nm); err != nil {
		return nil, fmt.Errorf("predict: neural: load: %w", err)
	}
	if nm.Version != neuralModelVersion {
		return nil, fmt.Errorf("predict: neural: load: model version %d, want %d", nm.Version, neuralModelVersion)
	}
	if nm.Scaler == nil || len(nm.Scaler.Mean) == 0 || len(nm.Scaler.Scale) != len(nm.Scaler.Mean) ||
		nm.MaxLen < 1 || nm.NumClasses < 2 {
		return nil, fmt.Errorf("predict: neural: load: inconsistent model")
	}
	cfg := nm.Config.withDefaults()
	net, err := newNetwork(cfg.Arch, len(nm.Scaler.Mean), cfg.Hidden, nm.NumClasses, nm.MaxLen, 0)
	if err != nil {
		return nil, fmt.Errorf("predict: neural: load: %w", err)
	}
	i, ok := 0, true
	nn.ForEachParam(net, func(p *nn.Param) {
		if i >= len(nm.Params) || len(nm.Params[i]) != p.Value().Size() {
			ok = false
		}
		i++
	})
	if !ok || i != len(nm.Params) {
		return nil, fmt.Errorf("predict: neural: load: the parameters do not fit a %s network", cfg.Arch)
	}
	restoreParams(net, nm.Params)
	return &NeuralClassifier{Config: nm.Config, scaler: nm.Scaler, net: net, maxLen: nm.MaxLen,
		numClasses: nm.NumClasses, epochs: nm.Epochs, bestEpoch: nm.BestEpoch}, nil
}
