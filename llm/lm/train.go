package lm

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"
)

// Example is one training pair: a prompt and the reply the model should
// write for it.
type Example struct {
	Prompt string `json:"prompt"`
	Reply  string `json:"reply"`
}

// TrainOptions configure Train. Zero fields take the documented defaults.
type TrainOptions struct {
	// Seed fixes the order of the examples (the weights' initialization
	// is New's seed).
	Seed uint64
	// Epochs is the number of passes over the examples (default 4).
	Epochs int
	// BatchSize is the number of sequences per optimizer step (default 16).
	BatchSize int
	// LearningRate is AdamW's peak step size (default 2e-3), reached after
	// a linear warm-up over the first 5 % of the steps and decayed along
	// a cosine to a tenth of it at the end.
	LearningRate float64
	// WeightDecay is AdamW's decoupled decay of the weight matrices
	// (default 0.01; biases and layer-norm gains are not decayed).
	WeightDecay float64
	// ClipNorm caps the gradient's global L2 norm (default 1).
	ClipNorm float64
	// Workers is the number of goroutines computing gradients (default
	// GOMAXPROCS). The result does not depend on it: each step's batch is
	// cut into a fixed number of shards whose gradients are summed in a
	// fixed order, so training is bitwise reproducible for a seed.
	Workers int
	// Validation examples are scored after every epoch (perplexity of the
	// replies).
	Validation []Example
	// OnStep, when set, is called after every optimizer step.
	OnStep func(Progress)
	// Checkpoint, when set, is a file written (atomically) after every
	// epoch and every CheckpointEvery steps, from which Resume continues.
	Checkpoint string
	// CheckpointEvery is the number of steps between checkpoints within an
	// epoch (0: only at the end of each epoch).
	CheckpointEvery int
	// Resume continues from Checkpoint when it exists. The checkpoint must
	// have been written for the same examples and options: anything else
	// is refused with ErrCheckpoint.
	Resume bool
}

// Default training settings.
const (
	DefaultEpochs       = 4
	DefaultBatchSize    = 16
	DefaultLearningRate = 2e-3
	DefaultWeightDecay  = 0.01
	DefaultClipNorm     = 1.0
)

// shards is the fixed number of gradient accumulators per step. Workers
// take whole shards, so the sum does not depend on the number of workers.
const shards = 8

func (o TrainOptions) withDefaults() TrainOptions {
	if o.Epochs == 0 {
		o.Epochs = DefaultEpochs
	}
	if o.BatchSize == 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.LearningRate == 0 {
		o.LearningRate = DefaultLearningRate
	}
	if o.WeightDecay == 0 {
		o.WeightDecay = DefaultWeightDecay
	}
	if o.ClipNorm == 0 {
		o.ClipNorm = DefaultClipNorm
	}
	if o.Workers == 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return o
}

func (o TrainOptions) validate() error {
	switch {
	case o.Epochs < 0 || o.Epochs > 10000:
		return fmt.Errorf("lm: train: epochs %d out of range 1–10000", o.Epochs)
	case o.BatchSize < 0 || o.BatchSize > 1<<16:
		return fmt.Errorf("lm: train: batch size %d out of range", o.BatchSize)
	case o.LearningRate < 0 || o.LearningRate > 1 || math.IsNaN(o.LearningRate):
		return fmt.Errorf("lm: train: learning rate %g out of range (0, 1]", o.LearningRate)
	case o.WeightDecay < 0 || o.WeightDecay >= 1 || math.IsNaN(o.WeightDecay):
		return fmt.Errorf("lm: train: weight decay %g out of range [0, 1)", o.WeightDecay)
	case o.ClipNorm < 0 || math.IsNaN(o.ClipNorm):
		return fmt.Errorf("lm: train: clip norm %g is negative", o.ClipNorm)
	case o.Workers < 0:
		return fmt.Errorf("lm: train: workers %d is negative", o.Workers)
	case o.CheckpointEvery < 0:
		return fmt.Errorf("lm: train: checkpoint interval %d is negative", o.CheckpointEvery)
	case o.Resume && o.Checkpoint == "":
		return fmt.Errorf("lm: train: resume needs a checkpoint path")
	}
	return nil
}

// Progress is reported after every optimizer step.
type Progress struct {
	Epoch, Epochs int // 1-based epoch
	Step, Steps   int // 1-based step over the whole run
	// Loss is the step's mean negative log-likelihood per reply token.
	Loss float64
	// Tokens is the number of tokens read so far (prompts included), in
	// this run (a resumed run counts from its resumption).
	Tokens int
	// Elapsed is the wall time since Train started.
	Elapsed time.Duration
	// ValidationPerplexity is set at the last step of an epoch when there
	// are validation examples, NaN otherwise.
	ValidationPerplexity float64
}

// Report summarizes a training run.
type Report struct {
	// TrainLoss is each epoch's mean loss per reply token.
	TrainLoss []float64
	// ValidationPerplexity is each epoch's validation perplexity (NaN
	// without validation examples).
	ValidationPerplexity []float64
	// Tokens is the number of tokens read in this run.
	Tokens int
	// Duration is the wall time of this run.
	Duration time.Duration
	// ResumedAt is the step this run continued from (0 for a fresh run).
	ResumedAt int
}

// ErrCheckpoint is returned when a checkpoint cannot be read or belongs to
// another run.
var ErrCheckpoint = errors.New("lm: unusable checkpoint")

// Train fits the model to the examples with AdamW on the mean
// negative log-likelihood of the reply tokens (the prompt is read, not
// predicted). It is deterministic for a model, examples and options.
func Train(ctx context.Context, m *Model, train []Example, opt TrainOptions) (Report, error) {
	if m == nil {
		return Report{}, fmt.Errorf("%w: nil model", ErrModel)
	}
	if err := opt.validate(); err != nil {
		return Report{}, err
	}
	opt = opt.withDefaults()
	if len(train) == 0 {
		return Report{}, fmt.Errorf("lm: train: no examples")
	}
	seqs := make([]sequence, len(train))
	for i, e := range train {
		seqs[i] = m.example(e.Prompt, e.Reply)
	}
	val := make([]sequence, len(opt.Validation))
	for i, e := range opt.Validation {
		val[i] = m.example(e.Prompt, e.Reply)
	}
	t := &trainer{m: m, opt: opt, seqs: seqs, val: val, start: time.Now()}
	t.digest = runDigest(m, train, opt)
	t.adam = newAdamW(m)
	stepsPerEpoch := (len(seqs) + opt.BatchSize - 1) / opt.BatchSize
	total := stepsPerEpoch * opt.Epochs
	report := Report{}
	step := 0
	if opt.Resume {
		st, err := readCheckpoint(opt.Checkpoint, m, t.adam, t.digest)
		switch {
		case errors.Is(err, errNoCheckpoint):
		case err != nil:
			return Report{}, err
		default:
			step = st.Step
			report.ResumedAt = step
			report.TrainLoss, report.ValidationPerplexity = st.TrainLoss, st.ValidationPerplexity
		}
	}
	defer m.invalidate()
	workers := min(opt.Workers, shards)
	t.ws = make([]*workspace, workers)
	for w := range t.ws {
		t.ws[w] = newWorkspace(m.cfg)
	}
	t.grads = make([][]float32, shards)
	for s := range t.grads {
		t.grads[s] = make([]float32, len(m.params))
	}
	var epochLoss float64
	var epochTargets int
	for step < total {
		epoch := step / stepsPerEpoch
		inEpoch := step % stepsPerEpoch
		if inEpoch == 0 {
			epochLoss, epochTargets = 0, 0
		}
		order := epochOrder(opt.Seed, epoch, len(seqs))
		lo := inEpoch * opt.BatchSize
		batch := order[lo:min(lo+opt.BatchSize, len(order))]
		if err := ctx.Err(); err != nil {
			return report, err
		}
		loss, targets, tokens := t.step(batch, learningRate(opt, step, total))
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return report, fmt.Errorf("lm: train: loss became %g at step %d (lower the learning rate)", loss, step+1)
		}
		step++
		epochLoss += loss
		epochTargets += targets
		report.Tokens += tokens
		pr := Progress{Epoch: epoch + 1, Epochs: opt.Epochs, Step: step, Steps: total,
			Loss: loss / float64(targets), Tokens: report.Tokens, Elapsed: time.Since(t.start),
			ValidationPerplexity: math.NaN()}
		endOfEpoch := step%stepsPerEpoch == 0
		if endOfEpoch {
			report.TrainLoss = append(report.TrainLoss, epochLoss/float64(max(epochTargets, 1)))
			ppl := math.NaN()
			if len(val) > 0 {
				ppl = t.perplexity(val)
			}
			report.ValidationPerplexity = append(report.ValidationPerplexity, ppl)
			pr.ValidationPerplexity = ppl
		}
		if opt.Checkpoint != "" && (endOfEpoch || (opt.CheckpointEvery > 0 && step%opt.CheckpointEvery == 0)) {
			if err := writeCheckpoint(opt.Checkpoint, m, t.adam, checkpointState{Step: step, Digest: t.digest,
				TrainLoss: report.TrainLoss, ValidationPerplexity: report.ValidationPerplexity}); err != nil {
				return report, err
			}
		}
		if opt.OnStep != nil {
			opt.OnStep(pr)
		}
	}
	report.Duration = time.Since(t.start)
	return report, nil
}

// invalidate drops the packed inference weights after training changed
// the parameters.
func (m *Model) invalidate() {
	m.packOnce = sync.Once{}
	m.packed = nil
	m.decoders = sync.Pool{}
}

// epochOrder is the seeded permutation of the examples for one epoch.
func epochOrder(seed uint64, epoch, n int) []int {
	rng := rand.New(rand.NewPCG(seed, uint64(epoch)+0x6c6d2d6f72646572)) // "lm-order"
	return rng.Perm(n)
}

// learningRate is the schedule: linear warm-up over 5 % of the steps, then
// a cosine from the peak down to a tenth of it.
func learningRate(o TrainOptions, step, total int) float64 {
	warm := max(1, total/20)
	if step < warm {
		return o.LearningRate * float64(step+1) / float64(warm)
	}
	p := float64(step-warm) / float64(max(1, total-warm))
	return o.LearningRate * (0.1 + 0.9*0.5*(1+math.Cos(math.Pi*p)))
}

type trainer struct {
	m      *Model
	opt    TrainOptions
	seqs   []sequence
	val    []sequence
	start  time.Time
	digest [32]byte
	adam   *adamW
	ws     []*workspace
	grads  [][]float32
	packed packedModel
}

// step runs one optimizer step over the batch and returns its summed loss,
// its number of reply tokens and of all tokens.
func (t *trainer) step(batch []int, lr float64) (loss float64, targets, tokens int) {
	m := t.m
	for _, i := range batch {
		targets += t.seqs[i].targets()
		tokens += len(t.seqs[i].ids)
	}
	t.packed.pack(m.cfg, m.lay, m.params, true)
	scale := float32(1 / float64(targets))
	losses := make([]float64, shards)
	var wg sync.WaitGroup
	for w := range t.ws {
		wg.Go(func() {
			for s := w; s < shards; s += len(t.ws) {
				g := t.grads[s]
				clear(g)
				for j := s; j < len(batch); j += shards {
					losses[s] += lossAndGrad(t.ws[w], m.params, g, m.lay, &t.packed, t.seqs[batch[j]], scale, true)
				}
			}
		})
	}
	wg.Wait()
	g := t.grads[0]
	for s := 1; s < shards; s++ {
		addTo(g, t.grads[s])
	}
	for _, l := range losses {
		loss += l
	}
	t.adam.update(m.params, g, lr, t.opt)
	return loss, targets, tokens
}

// perplexity is exp of the mean negative log-likelihood per reply token.
func (t *trainer) perplexity(seqs []sequence) float64 {
	t.packed.pack(t.m.cfg, t.m.lay, t.m.params, false)
	nll := make([]float64, len(t.ws))
	var targets int
	for _, s := range seqs {
		targets += s.targets()
	}
	var wg sync.WaitGroup
	for w := range t.ws {
		wg.Go(func() {
			for j := w; j < len(seqs); j += len(t.ws) {
				nll[w] += lossAndGrad(t.ws[w], t.m.params, nil, t.m.lay, &t.packed, seqs[j], 1, false)
			}
		})
	}
	wg.Wait()
	var sum float64
	for _, v := range nll {
		sum += v
	}
	return math.Exp(sum / float64(max(targets, 1)))
}

// adamW is the optimizer state over the flat parameter vector.
type adamW struct {
	m, v  []float32
	decay []bool // per parameter: decayed (weight matrices) or not
	t     int
}

func newAdamW(m *Model) *adamW {
	a := &adamW{m: make([]float32, len(m.params)), v: make([]float32, len(m.params)), decay: make([]bool, len(m.params))}
	mark := func(s span) {
		for i := s.off; i < s.off+s.n; i++ {
			a.decay[i] = true
		}
	}
	mark(m.lay.wte)
	for _, ly := range m.lay.layers {
		mark(ly.wqkv)
		mark(ly.wo)
		mark(ly.wfc)
		mark(ly.wproj)
	}
	return a
}

func (a *adamW) update(params, grad []float32, lr float64, o TrainOptions) {
	var sq float64
	for _, g := range grad {
		sq += float64(g) * float64(g)
	}
	clip := float32(1)
	if norm := math.Sqrt(sq); o.ClipNorm > 0 && norm > o.ClipNorm {
		clip = float32(o.ClipNorm / norm)
	}
	a.t++
	const b1, b2, eps = 0.9, 0.95, 1e-8
	c1 := float32(1 - math.Pow(b1, float64(a.t)))
	c2 := float32(1 - math.Pow(b2, float64(a.t)))
	lr32, wd := float32(lr), float32(lr*o.WeightDecay)
	for i, g := range grad {
		g *= clip
		a.m[i] = b1*a.m[i] + (1-b1)*g
		a.v[i] = b2*a.v[i] + (1-b2)*g*g
		mh, vh := a.m[i]/c1, a.v[i]/c2
		if a.decay[i] {
			params[i] -= wd * params[i]
		}
		params[i] -= lr32 * mh / (float32(math.Sqrt(float64(vh))) + eps)
	}
}

// runDigest identifies a training run (examples, options that shape it,
// the model's shape and vocabulary) so that a checkpoint is only resumed
// by the run it belongs to.
func runDigest(m *Model, train []Example, o TrainOptions) [32]byte {
	h := sha256.New()
	str := func(s string) {
		_ = binary.Write(h, binary.LittleEndian, uint64(len(s)))
		h.Write([]byte(s))
	}
	num := func(v any) { _ = binary.Write(h, binary.LittleEndian, v) }
	str("pmlm-lm-run/1")
	c := m.cfg
	for _, v := range []int{c.Vocab, c.Dim, c.Heads, c.Layers, c.Hidden, c.Context, c.MaxPrompt} {
		num(int64(v))
	}
	for _, p := range m.vocab.pieces {
		str(p)
	}
	num(o.Seed)
	num(int64(o.Epochs))
	num(int64(o.BatchSize))
	num(o.LearningRate)
	num(o.WeightDecay)
	num(o.ClipNorm)
	num(int64(len(train)))
	for _, e := range train {
		str(e.Prompt)
		str(e.Reply)
	}
	var d [32]byte
	h.Sum(d[:0])
	return d
}
