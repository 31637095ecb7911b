package mlp

import (
	"context"
	"fmt"
	"math"
	mrand "math/rand/v2"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/rand"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/optimizers/adam"
)

// WarmStartOptions configures MLP.WarmStart.
type WarmStartOptions struct {
	// Epochs is the number of passes over the training patients.
	Epochs int
	// BatchSize is the number of patients per Adam step.
	BatchSize int
	// LearningRate is Adam's step size.
	LearningRate float64
	// Seed seeds the classification head's initialization and the order
	// in which patients are visited.
	Seed uint64
}

// DefaultWarmStartOptions returns 10 epochs of batches of 32 at learning
// rate 1e-3.
func DefaultWarmStartOptions() WarmStartOptions {
	return WarmStartOptions{Epochs: 10, BatchSize: 32, LearningRate: 1e-3, Seed: 1}
}

// WarmStartReport is what MLP.WarmStart measured.
type WarmStartReport struct {
	// EpochLoss is the mean training cross-entropy of each epoch (with
	// dropout on, as computed during the epoch).
	EpochLoss []float64
}

// WarmStart trains the encoder, beyond the paper, so that patients with the
// same label land close in x̂-space: a linear classification head on x̂
// is trained jointly with the encoder by cross-entropy, then thrown away.
// Since cosine similarity on x̂ is what the recommender ranks by, a head
// that must separate labels linearly pulls same-label patients together.
//
// labels[i] in [0, numClasses) is the label of patients[i]. The update is
// a synchronous Adam loop (spago's Optimizer.Optimize is racy); the
// encoder must not be used concurrently while it runs. Dropout draws from
// the encoder's own generator (SetDropoutSeed); runs still differ in the
// last bits because spago sums gradients in no fixed order. The Adam state is cleared at the end so that Save stays small.
func (m *MLP) WarmStart(ctx context.Context, patients [][][]float64, labels []int, numClasses int, opt WarmStartOptions) (WarmStartReport, error) {
	var rep WarmStartReport
	if len(patients) == 0 || len(patients) != len(labels) {
		return rep, fmt.Errorf("%w: warm start: %d patients, %d labels", ErrInput, len(patients), len(labels))
	}
	if numClasses < 2 {
		return rep, fmt.Errorf("%w: warm start needs at least 2 classes, got %d", ErrInput, numClasses)
	}
	for i, y := range labels {
		if y < 0 || y >= numClasses {
			return rep, fmt.Errorf("%w: warm start: label %d of patient %d outside [0, %d)", ErrInput, y, i, numClasses)
		}
	}
	if opt.Epochs <= 0 || opt.BatchSize <= 0 || !(opt.LearningRate > 0) {
		return rep, fmt.Errorf("mlp: warm start options %+v: epochs, batch size and learning rate must be positive", opt)
	}
	head := newLinear(m.Config.Out, numClasses, rand.NewLockedRand(opt.Seed))
	optim := adam.New(adam.NewConfig(opt.LearningRate, 0.9, 0.999, 1e-8))
	step := func(p *nn.Param) {
		if p.HasGrad() {
			// OptimizeParams only fails on a foreign optimizer state,
			// which these params cannot carry.
			_ = optim.OptimizeParams(p)
		}
	}
	order := make([]int, len(patients))
	for i := range order {
		order[i] = i
	}
	shuffle := mrand.New(mrand.NewPCG(opt.Seed, 0x9e3779b97f4a7c15))
	for epoch := 0; epoch < opt.Epochs; epoch++ {
		shuffle.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		total := 0.0
		for start := 0; start < len(order); start += opt.BatchSize {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			idx := order[start:min(start+opt.BatchSize, len(order))]
			batch := make([][][]float64, len(idx))
			for j, i := range idx {
				batch[j] = patients[i]
			}
			z, err := m.ForwardBatch(batch, true)
			if err != nil {
				return rep, err
			}
			logits := affine(head, z, len(idx))
			var sum mat.Tensor
			for j, i := range idx {
				col := logits
				if len(idx) > 1 {
					col = ag.ColView(logits, j)
				}
				ce := ag.Sub(ag.LogSumExp(col), ag.At(col, labels[i], 0))
				if sum == nil {
					sum = ce
				} else {
					sum = ag.Add(sum, ce)
				}
			}
			loss := ag.ProdScalar(sum, mat.Scalar(elem(1/float64(len(idx)))))
			if err := ag.Backward(loss); err != nil {
				return rep, fmt.Errorf("mlp: warm start backward: %w", err)
			}
			nn.ForEachParam(m, step)
			nn.ForEachParam(head, step)
			optim.IncExample()
			total += loss.Value().Item().F64() * float64(len(idx))
		}
		l := total / float64(len(order))
		if math.IsNaN(l) || math.IsInf(l, 0) {
			return rep, fmt.Errorf("mlp: warm start diverged at epoch %d (loss %v)", epoch+1, l)
		}
		rep.EpochLoss = append(rep.EpochLoss, l)
	}
	nn.ForEachParam(m, func(p *nn.Param) { p.State = nil })
	return rep, nil
}
