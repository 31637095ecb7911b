package predict

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/losses"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/optimizers/adam"

	"github.com/pmlm-go/pmlm/internal/stats"
)

// Arch names a neural baseline architecture.
type Arch string

// The paper's neural baselines (table A1).
const (
	ArchLSTM        Arch = "lstm"
	ArchCNN         Arch = "cnn"
	ArchTransformer Arch = "transformer"
)

// NeuralConfig configures a NeuralClassifier. Zero fields take the defaults
// in brackets.
type NeuralConfig struct {
	Arch Arch
	// Hidden is the width of the hidden layers [32].
	Hidden int
	// Epochs bounds the number of passes over the training data [30].
	Epochs int
	// BatchSize is the number of series per Adam step [32].
	BatchSize int
	// LearningRate is Adam's step size [0.003].
	LearningRate float64
	// ValidationFraction of the training series is held out for early
	// stopping [0.15]; with fewer than 2 held-out series all epochs run.
	ValidationFraction float64
	// Patience is the number of epochs without a better held-out loss
	// before training stops [4].
	Patience int
	// MaxLen bounds the padded length; longer series keep their last
	// MaxLen timesteps [the longest training series].
	MaxLen int
	// Seed seeds the initialization, the hold-out split and the batch order.
	Seed uint64
}

func (c NeuralConfig) withDefaults() NeuralConfig {
	if c.Hidden <= 0 {
		c.Hidden = 32
	}
	if c.Epochs <= 0 {
		c.Epochs = 30
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 32
	}
	if c.LearningRate <= 0 {
		c.LearningRate = 0.003
	}
	if c.ValidationFraction <= 0 || c.ValidationFraction >= 1 {
		c.ValidationFraction = 0.15
	}
	if c.Patience <= 0 {
		c.Patience = 4
	}
	return c
}

// NeuralClassifier is one of the paper's neural baselines, trained on spago:
// each channel is standardized on the training data, missing values are set
// to 0 (the training mean) and series are zero-padded at the end to a common
// length, as in the paper's appendix A.3. Then:
//
//   - ArchLSTM: an LSTM (spago nn/recurrent/lstm parameters, run batched)
//     whose hidden states are averaged over the real timesteps, then a
//     linear layer;
//   - ArchCNN: two 1-D convolutions (kernel 3, same padding, ReLU), global
//     max pooling over time, then a linear layer;
//   - ArchTransformer: an input projection plus sinusoidal positions, one
//     encoder layer (2-head self-attention with the padded positions masked,
//     a ReLU feed-forward layer, residual connections), mean pooling over
//     the real timesteps, then a linear layer.
//
// Training minimizes the cross-entropy with Adam in mini-batches, updating
// the parameters synchronously after each backward pass, and keeps the
// parameters of the epoch with the least loss on a held-out part of the
// training data. Probs are the softmax of the network's logits. Training
// is bitwise reproducible for a seed (the graphs are built so that spago's
// concurrent backward pass sums no gradient in a varying order; tied.go),
// and prediction runs without a graph (infer.go).
//
// Fit must not run concurrently with any other method.
type NeuralClassifier struct {
	Config NeuralConfig

	scaler     *Scaler
	net        network
	maxLen     int
	numClasses int
	// Epochs is the number of epochs run by the last Fit and BestEpoch the
	// one whose parameters were kept (1-based).
	epochs, bestEpoch int
}

// network is a differentiable classifier over padded series.
type network interface {
	nn.Model
	// logits returns one [numClasses] logit column per example, its
	// weights entering the graph through u (tied.go).
	logits(batch []padded, u *uses) []mat.Tensor
	// infer returns one example's logits without building a graph
	// (infer.go): the same arithmetic, for prediction.
	infer(p padded) []float64
}

// padded is one standardized series as a [channels × maxLen] matrix of
// column-major timesteps, and its real length.
type padded struct {
	x   []float64 // row-major [channels][maxLen]
	len int
}

// Name returns the architecture name ("lstm", "cnn" or "transformer").
func (m *NeuralClassifier) Name() string { return string(m.Config.Arch) }

// TrainedEpochs returns the number of epochs the last Fit ran and the
// (1-based) epoch whose parameters it kept.
func (m *NeuralClassifier) TrainedEpochs() (run, kept int) { return m.epochs, m.bestEpoch }

// Fit implements Predictor.
func (m *NeuralClassifier) Fit(ctx context.Context, series [][][]float64, labels []int, numClasses int) error {
	cfg := m.Config.withDefaults()
	if err := checkLabels(series, labels, numClasses); err != nil {
		return wrap(string(cfg.Arch), err)
	}
	sc, err := FitScaler(series)
	if err != nil {
		return wrap(string(cfg.Arch), err)
	}
	maxLen := cfg.MaxLen
	if maxLen <= 0 {
		for _, s := range series {
			maxLen = max(maxLen, len(s))
		}
	}
	nc := len(sc.Mean)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x6e657572616c)) // "neural"
	net, err := newNetwork(cfg.Arch, nc, cfg.Hidden, numClasses, maxLen, rng.Uint64())
	if err != nil {
		return err
	}
	m.scaler, m.maxLen, m.numClasses = sc, maxLen, numClasses
	data := make([]padded, len(series))
	for i, s := range series {
		if data[i], err = m.pad(s); err != nil {
			return fmt.Errorf("predict: %s: series %d: %w", cfg.Arch, i, err)
		}
	}

	perm := rng.Perm(len(data))
	nVal := int(math.Round(cfg.ValidationFraction * float64(len(data))))
	if nVal < 2 || len(data)-nVal < 2 {
		nVal = 0
	}
	valIdx, trainIdx := perm[:nVal], perm[nVal:]

	opt := adam.New(adam.NewConfig(cfg.LearningRate, 0.9, 0.999, 1e-8))
	best := math.Inf(1)
	var snapshot [][]float64
	m.epochs, m.bestEpoch = 0, 0
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		rng.Shuffle(len(trainIdx), func(i, j int) { trainIdx[i], trainIdx[j] = trainIdx[j], trainIdx[i] })
		trainLoss := 0.0
		for start := 0; start < len(trainIdx); start += cfg.BatchSize {
			if err := ctx.Err(); err != nil {
				return err
			}
			idx := trainIdx[start:min(start+cfg.BatchSize, len(trainIdx))]
			loss, u := batchLoss(net, data, labels, idx)
			trainLoss += loss.Value().Item().F64() * float64(len(idx))
			if err := ag.Backward(loss); err != nil {
				return fmt.Errorf("predict: %s: backward: %w", cfg.Arch, err)
			}
			u.flush() // the weights' gradients, summed in a fixed order
			// Synchronous update: optimizers.Optimizer.Optimize races in
			// spago v1.1.0 (it returns before its goroutines finish).
			var optErr error
			nn.ForEachParam(net, func(p *nn.Param) {
				if p.HasGrad() && optErr == nil {
					optErr = opt.OptimizeParams(p)
				}
			})
			if optErr != nil {
				return fmt.Errorf("predict: %s: adam: %w", cfg.Arch, optErr)
			}
			opt.IncExample()
		}
		m.epochs = epoch
		if math.IsNaN(trainLoss) {
			return fmt.Errorf("predict: %s: training diverged (NaN loss) in epoch %d", cfg.Arch, epoch)
		}
		if nVal == 0 {
			m.bestEpoch = epoch
			continue
		}
		val := 0.0
		for start := 0; start < len(valIdx); start += cfg.BatchSize {
			idx := valIdx[start:min(start+cfg.BatchSize, len(valIdx))]
			loss, _ := batchLoss(net, data, labels, idx)
			val += loss.Value().Item().F64() * float64(len(idx))
		}
		if val < best {
			best, m.bestEpoch = val, epoch
			snapshot = saveParams(net)
		} else if epoch-m.bestEpoch >= cfg.Patience {
			break
		}
	}
	if snapshot != nil {
		restoreParams(net, snapshot)
	}
	m.net = net
	return nil
}

// batchLoss is the mean cross-entropy of the examples idx, and the weight
// copies whose gradients uses.flush moves to the parameters after the
// backward pass.
func batchLoss(net network, data []padded, labels []int, idx []int) (mat.Tensor, *uses) {
	batch := make([]padded, len(idx))
	for i, j := range idx {
		batch[i] = data[j]
	}
	u := &uses{}
	logits := net.logits(batch, u)
	terms := make([]mat.Tensor, len(idx))
	for i, j := range idx {
		terms[i] = losses.CrossEntropy(logits[i], labels[j])
	}
	return ag.ReduceMean(ag.Concat(terms...)), u
}

func saveParams(net nn.Model) [][]float64 {
	var out [][]float64
	nn.ForEachParam(net, func(p *nn.Param) {
		out = append(out, append([]float64(nil), p.Value().Data().F64()...))
	})
	return out
}

func restoreParams(net nn.Model, snap [][]float64) {
	i := 0
	nn.ForEachParam(net, func(p *nn.Param) {
		p.Value().(mat.Matrix).SetData(float.Make(snap[i]...))
		i++
	})
}

// pad standardizes s (missing values → 0) into a [channels × maxLen]
// matrix, keeping the last maxLen timesteps of a longer series.
func (m *NeuralClassifier) pad(s [][]float64) (padded, error) {
	if len(s) == 0 {
		return padded{}, errors.New("series has no timesteps")
	}
	if len(s) > m.maxLen {
		s = s[len(s)-m.maxLen:]
	}
	nc := len(m.scaler.Mean)
	x := make([]float64, nc*m.maxLen)
	for t, row := range s {
		if len(row) != nc {
			return padded{}, fmt.Errorf("timestep %d: %d channels, want %d", t, len(row), nc)
		}
		for c, v := range row {
			if math.IsInf(v, 0) {
				return padded{}, fmt.Errorf("timestep %d, channel %d: infinite value", t, c)
			}
			if !math.IsNaN(v) {
				x[c*m.maxLen+t] = (v - m.scaler.Mean[c]) / m.scaler.Scale[c]
			}
		}
	}
	return padded{x: x, len: len(s)}, nil
}

// Predict implements Predictor.
func (m *NeuralClassifier) Predict(ctx context.Context, s [][]float64) (Prediction, error) {
	if m.net == nil {
		return Prediction{}, fmt.Errorf("%w (%s)", ErrNotFitted, m.Config.Arch)
	}
	if err := ctx.Err(); err != nil {
		return Prediction{}, err
	}
	p, err := m.pad(s)
	if err != nil {
		return Prediction{}, wrap(string(m.Config.Arch), err)
	}
	logits := m.net.infer(p)
	return Prediction{Label: stats.Argmax(logits), Probs: stats.Softmax(logits)}, nil
}

// dense returns a constant (no gradient) matrix.
func dense(rows, cols int, data []float64) mat.Tensor {
	if data == nil {
		data = make([]float64, rows*cols)
	}
	return mat.NewDense[float64](mat.WithShape(rows, cols), mat.WithBacking(data))
}

// filled returns a constant matrix whose entries are all v.
func filled(rows, cols int, v float64) mat.Tensor {
	d := make([]float64, rows*cols)
	for i := range d {
		d[i] = v
	}
	return dense(rows, cols, d)
}

// newNetwork builds an untrained network of the architecture.
func newNetwork(arch Arch, channels, hidden, classes, maxLen int, seed uint64) (network, error) {
	switch arch {
	case ArchLSTM:
		return newLSTMNet(channels, hidden, classes, maxLen, seed), nil
	case ArchCNN:
		return newCNNNet(channels, hidden, classes, maxLen, seed), nil
	case ArchTransformer:
		return newTransformerNet(channels, hidden, classes, maxLen, seed), nil
	}
	return nil, fmt.Errorf("predict: unknown architecture %q", arch)
}
