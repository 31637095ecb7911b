package policy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/optimizers/adam"

	"github.com/pmlm-go/pmlm/encoder"
	"github.com/pmlm-go/pmlm/internal/dropout"
	"gonum.org/v1/gonum/stat"
)

// RewardFunc scores the final prompt of a training episode on case
// caseIndex. In PMLM it is BERTScore-F1(LLM(P), r) − BERTScore-F1(LLM(s0), r)
// (equation 9). It is called concurrently from up to Workers goroutines.
type RewardFunc func(ctx context.Context, caseIndex int, finalPrompt string) (float64, error)

// Cases is the training set as the trainer sees it.
type Cases interface {
	// Len is the number of training cases.
	Len() int
	// Prompt returns the coarse prompt s0 of case i.
	Prompt(i int) string
	// Patient returns x̂ of case i as a [d_p 1] node, built afresh for each
	// episode. To train the patient encoder with the policy (as the paper
	// does), return the output of its differentiable forward pass (with
	// train set: dropout on) and pass its parameters as
	// TrainerConfig.EncoderParams. It is called concurrently.
	Patient(ctx context.Context, i int, train bool) (mat.Tensor, error)
}

// EditCases are Cases with replace actions: the trainer offers case i's
// Replacement (nil: none) besides the deletions, as Options.Replace does.
type EditCases interface {
	Cases
	Replacement(i int) *Replacement
}

// ValidateFunc scores the current weights on the validation split; higher
// is better. It runs after each epoch, when no training episode is in flight.
type ValidateFunc func(ctx context.Context, epoch int) (float64, error)

// TrainerConfig configures a Trainer. Zero values take the defaults noted.
type TrainerConfig struct {
	Policy Policy              // required
	Text   encoder.TextEncoder // required: embeds each state's words
	Cases  Cases               // required
	Reward RewardFunc          // required
	// EncoderParams are the patient encoder's parameters, updated by the
	// same Adam optimizer as the policy's (e.g. ParamsOf(encoderModel)).
	// Checkpoints store them by position: pass them in the same order when
	// resuming.
	EncoderParams []*nn.Param
	// Validate, if set, selects the best epoch; see Trainer.Train.
	Validate ValidateFunc

	Epochs    int // default DefaultEpochs
	BatchSize int // episodes per optimizer step; default DefaultBatchSize
	// Workers bounds the episodes of a mini-batch that run at once;
	// default GOMAXPROCS. With an MLP policy the trained weights do not
	// depend on it (each episode's gradient is kept apart and the batch's
	// are added in case order); other policies share spago's gradient
	// accumulation, whose order follows the scheduling.
	Workers      int
	Steps        int     // deletions per episode n; default DefaultSteps
	LearningRate float64 // Adam step size; default DefaultLearningRate
	// BaselineDecay, when in (0, 1), subtracts a running mean of the
	// rewards (exponential, this decay per mini-batch) from each reward
	// before the update, a variance reduction that the paper does not use.
	// 0 (default) is the paper's loss −Σ log π · reward.
	BaselineDecay float64
	// EntropyBonus, when > 0, adds β·Σ_i H(π(·|s_i)) to each episode's
	// objective (β this value, H in nats): the entropy regularization of
	// Williams and Peng (1991) and A3C (Mnih et al., 2016), which keeps
	// the policy from settling early on a few words. Beyond the paper; 0
	// (default) is its loss.
	EntropyBonus float64
	Seed         uint64 // seeds case order and sampling

	// CheckpointPath, if set, is rewritten atomically every CheckpointEvery
	// mini-batches (0: at the end of each epoch only) and after each epoch.
	CheckpointPath  string
	CheckpointEvery int
	// Origin describes what the training belongs to, as name → value
	// pairs (for a pipeline: the cohort's digest, the split, the options).
	// Checkpoints record it and Resume refuses a checkpoint whose Origin
	// differs, naming every entry that does.
	Origin map[string]string

	// Progress, if set, receives a progress bar with the running reward.
	Progress io.Writer
	// OnBatch, if set, is called after each optimizer step (and after the
	// checkpoint of that step is written).
	OnBatch func(Progress)
}

// Progress reports the trainer's position after a mini-batch.
type Progress struct {
	Epoch, Epochs   int // Epoch counts from 1
	Batch, Batches  int // Batch counts from 1 within the epoch
	Step            int // optimizer steps taken so far
	BatchReward     float64
	EpochMeanReward float64 // mean reward of this epoch's episodes so far
	Baseline        float64 // the running-mean baseline (0 when off)
	// Stats describes this epoch's episodes so far.
	Stats   EpochStats
	Elapsed time.Duration
	// Timing breaks down the mini-batch's work.
	Timing Timing
}

// Timing breaks down where a mini-batch's time went. The per-episode parts
// are summed over the batch's episodes, which run concurrently, so they can
// add up to more than the wall time.
type Timing struct {
	Patient  time.Duration // Cases.Patient: the patient encoder's forward pass
	Encode   time.Duration // the TextEncoder on every state
	Policy   time.Duration // scoring words (forward pass)
	Reward   time.Duration // the RewardFunc (in PMLM: responder LLM and BERTScore)
	Backward time.Duration // back-propagation into policy and encoder
	Update   time.Duration // the synchronous Adam step (wall time)
}

// Add accumulates b into a, part by part.
func (a *Timing) Add(b Timing) {
	a.Patient += b.Patient
	a.Encode += b.Encode
	a.Policy += b.Policy
	a.Reward += b.Reward
	a.Backward += b.Backward
	a.Update += b.Update
}

// EpochStats describes the training episodes of an epoch: why REINFORCE
// learns or does not.
type EpochStats struct {
	// Episodes is the number of episodes.
	Episodes int
	// MeanReward and RewardSD are the rewards' mean and (population)
	// standard deviation.
	MeanReward, RewardSD float64
	// Changed is the share of episodes with a non-zero reward: those whose
	// final prompt changed the scored answer. The others carry no
	// gradient (without a baseline or entropy bonus).
	Changed float64
	// Entropy is the mean over steps of H(π(·|s_i)) in nats, and
	// RelativeEntropy the mean of H / log(actions): 1 is a uniform policy,
	// 0 a deterministic one.
	Entropy, RelativeEntropy float64
	// Replaced is the share of episodes that made a replacement.
	Replaced float64
}

// epochSums accumulates EpochStats.
type epochSums struct {
	N                        int
	Sum, SumSq               float64
	Changed, Replaced        int
	Steps                    int
	Entropy, RelativeEntropy float64
}

func (a *epochSums) add(e episodeStats) {
	a.N++
	a.Sum += e.reward
	a.SumSq += e.reward * e.reward
	if e.reward != 0 {
		a.Changed++
	}
	if e.replaced {
		a.Replaced++
	}
	for i, h := range e.entropy {
		a.Steps++
		a.Entropy += h
		if e.maxEntropy[i] > 0 {
			a.RelativeEntropy += h / e.maxEntropy[i]
		}
	}
}

func (a epochSums) stats() EpochStats {
	s := EpochStats{Episodes: a.N}
	if a.N > 0 {
		n := float64(a.N)
		s.MeanReward = a.Sum / n
		s.RewardSD = math.Sqrt(max(a.SumSq/n-s.MeanReward*s.MeanReward, 0))
		s.Changed = float64(a.Changed) / n
		s.Replaced = float64(a.Replaced) / n
	}
	if a.Steps > 0 {
		s.Entropy = a.Entropy / float64(a.Steps)
		s.RelativeEntropy = a.RelativeEntropy / float64(a.Steps)
	}
	return s
}

// String reports the statistics on one line.
func (s EpochStats) String() string {
	out := fmt.Sprintf("%d episodes: reward %+.4f ± %.4f (sd), %.1f %% changed the answer, policy entropy %.2f nats (%.2f of uniform)",
		s.Episodes, s.MeanReward, s.RewardSD, 100*s.Changed, s.Entropy, s.RelativeEntropy)
	if s.Replaced > 0 {
		out += fmt.Sprintf(", %.1f %% replaced", 100*s.Replaced)
	}
	return out
}

// Summary is what Train did.
type Summary struct {
	// EpochMeanReward is the mean training reward of each finished epoch.
	EpochMeanReward []float64
	// Epochs describes each finished epoch's episodes.
	Epochs []EpochStats
	// ValidationScore is Validate's score after each finished epoch (empty without Validate).
	ValidationScore []float64
	// BestEpoch (from 1) and BestScore identify the selected weights; BestEpoch is 0 without Validate.
	BestEpoch int
	BestScore float64
	// Steps is the number of optimizer steps (mini-batches) taken in total.
	Steps int
}

// Trainer runs REINFORCE (paper equation 11, algorithm 1) on a Policy and
// the patient encoder with Adam. It is not safe for concurrent use; the
// episodes of a mini-batch run concurrently inside it.
type Trainer struct {
	cfg       TrainerConfig
	params    []*nn.Param // policy's, then encoder's
	opt       *adam.Adam
	pcg       *rand.PCG
	rng       *rand.Rand
	st        position
	bestSaved []savedTensor // weights of the best epoch (policy then encoder)
}

// position is the resumable state beyond weights and optimizer.
type position struct {
	Epoch, Batch  int   // next mini-batch to run (0-based)
	Order         []int // case order of the current epoch
	Baseline      float64
	BaselineSet   bool
	EpochSum      float64 // reward sum and count of the current epoch so far
	EpochN        int
	EpochSums     epochSums // the current epoch's statistics so far
	EpochMeans    []float64
	EpochStats    []EpochStats
	ValScores     []float64
	BestEpoch     int
	BestScore     float64
	Steps         int
	ElapsedBefore time.Duration
}

// NewTrainer checks cfg, fills in defaults and returns a Trainer at the
// start of training.
func NewTrainer(cfg TrainerConfig) (*Trainer, error) {
	switch {
	case cfg.Policy == nil:
		return nil, errors.New("policy: trainer needs a Policy")
	case cfg.Text == nil:
		return nil, errors.New("policy: trainer needs a TextEncoder")
	case cfg.Cases == nil || cfg.Cases.Len() == 0:
		return nil, errors.New("policy: trainer needs at least one training case")
	case cfg.Reward == nil:
		return nil, errors.New("policy: trainer needs a RewardFunc")
	case cfg.Epochs < 0 || cfg.BatchSize < 0 || cfg.Workers < 0 || cfg.Steps < 0 || cfg.CheckpointEvery < 0:
		return nil, errors.New("policy: negative trainer setting")
	case cfg.LearningRate < 0 || cfg.BaselineDecay < 0 || cfg.BaselineDecay >= 1:
		return nil, fmt.Errorf("policy: learning rate %g or baseline decay %g out of range", cfg.LearningRate, cfg.BaselineDecay)
	case cfg.EntropyBonus < 0 || math.IsNaN(cfg.EntropyBonus) || math.IsInf(cfg.EntropyBonus, 0):
		return nil, fmt.Errorf("policy: entropy bonus %g, want a finite value ≥ 0", cfg.EntropyBonus)
	}
	if cfg.Epochs == 0 {
		cfg.Epochs = DefaultEpochs
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.Workers == 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Steps == 0 {
		cfg.Steps = DefaultSteps
	}
	if cfg.LearningRate == 0 {
		cfg.LearningRate = DefaultLearningRate
	}
	t := &Trainer{cfg: cfg}
	t.params = append(append([]*nn.Param(nil), cfg.Policy.Params()...), cfg.EncoderParams...)
	t.opt = adam.New(adam.NewConfig(cfg.LearningRate, 0.9, 0.999, 1e-8))
	t.pcg = rand.NewPCG(cfg.Seed, 0x706d6c6d) // "pmlm"
	t.rng = rand.New(t.pcg)
	return t, nil
}

// Steps returns the number of optimizer steps (mini-batches) taken so far.
func (t *Trainer) Steps() int { return t.st.Steps }

// Position returns the next epoch and mini-batch to run, both from 0.
func (t *Trainer) Position() (epoch, batch int) { return t.st.Epoch, t.st.Batch }

func (t *Trainer) batches() int {
	return (t.cfg.Cases.Len() + t.cfg.BatchSize - 1) / t.cfg.BatchSize
}

// Train runs the remaining epochs (all of them on a new Trainer, the rest
// after Resume). Each mini-batch plays BatchSize episodes concurrently,
// averages the REINFORCE gradients and takes one synchronous Adam step over
// the policy's and the encoder's parameters. With Validate set, the weights
// of the best-scoring epoch are restored into the parameters before Train
// returns; otherwise the last weights stay. On error (or cancellation) the
// current mini-batch is dropped; the last checkpoint is unaffected.
func (t *Trainer) Train(ctx context.Context) (Summary, error) {
	start, before := time.Now(), t.st.ElapsedBefore
	elapsed := func() time.Duration { return before + time.Since(start) }
	zeroGrads(t.params)
	nb := t.batches()
	for t.st.Epoch < t.cfg.Epochs {
		if t.st.Order == nil {
			t.st.Order = t.rng.Perm(t.cfg.Cases.Len())
			t.st.EpochSum, t.st.EpochN, t.st.EpochSums = 0, 0, epochSums{}
		}
		for t.st.Batch < nb {
			if err := ctx.Err(); err != nil {
				return t.summary(), err
			}
			lo := t.st.Batch * t.cfg.BatchSize
			hi := min(lo+t.cfg.BatchSize, len(t.st.Order))
			eps, timing, err := t.step(ctx, t.st.Order[lo:hi])
			if err != nil {
				return t.summary(), fmt.Errorf("policy: epoch %d batch %d: %w", t.st.Epoch+1, t.st.Batch+1, err)
			}
			var sum float64
			for _, e := range eps {
				sum += e.reward
				t.st.EpochSums.add(e)
			}
			mean := sum / float64(len(eps))
			if d := t.cfg.BaselineDecay; d > 0 {
				if t.st.BaselineSet {
					t.st.Baseline = d*t.st.Baseline + (1-d)*mean
				} else {
					t.st.Baseline, t.st.BaselineSet = mean, true
				}
			}
			t.st.EpochSum += sum
			t.st.EpochN += len(eps)
			t.st.Batch++
			if t.cfg.CheckpointPath != "" && t.cfg.CheckpointEvery > 0 && t.st.Batch%t.cfg.CheckpointEvery == 0 {
				t.st.ElapsedBefore = elapsed()
				if err := t.saveCheckpoint(t.cfg.CheckpointPath); err != nil {
					return t.summary(), err
				}
			}
			p := Progress{
				Epoch: t.st.Epoch + 1, Epochs: t.cfg.Epochs, Batch: t.st.Batch, Batches: nb, Step: t.st.Steps,
				BatchReward: mean, EpochMeanReward: t.st.EpochSum / float64(t.st.EpochN),
				Baseline: t.st.Baseline, Stats: t.st.EpochSums.stats(), Elapsed: elapsed(), Timing: timing,
			}
			if t.cfg.Progress != nil {
				writeBar(t.cfg.Progress, p)
			}
			if t.cfg.OnBatch != nil {
				t.cfg.OnBatch(p)
			}
		}
		t.st.EpochMeans = append(t.st.EpochMeans, t.st.EpochSum/float64(max(t.st.EpochN, 1)))
		t.st.EpochStats = append(t.st.EpochStats, t.st.EpochSums.stats())
		if t.cfg.Progress != nil {
			fmt.Fprintf(t.cfg.Progress, "epoch %d: %s\n", t.st.Epoch+1, t.st.EpochSums.stats())
		}
		if t.cfg.Validate != nil {
			score, err := t.cfg.Validate(ctx, t.st.Epoch+1)
			if err != nil {
				t.st.EpochMeans = t.st.EpochMeans[:len(t.st.EpochMeans)-1]
				t.st.EpochStats = t.st.EpochStats[:len(t.st.EpochStats)-1]
				return t.summary(), fmt.Errorf("policy: validate epoch %d: %w", t.st.Epoch+1, err)
			}
			t.st.ValScores = append(t.st.ValScores, score)
			if t.st.BestEpoch == 0 || score > t.st.BestScore {
				t.st.BestEpoch, t.st.BestScore = t.st.Epoch+1, score
				t.bestSaved = snapshot(t.params)
			}
			if t.cfg.Progress != nil {
				fmt.Fprintf(t.cfg.Progress, "epoch %d validation %.4f (best %.4f, epoch %d)\n",
					t.st.Epoch+1, score, t.st.BestScore, t.st.BestEpoch)
			}
		}
		t.st.Epoch, t.st.Batch, t.st.Order = t.st.Epoch+1, 0, nil
		if t.cfg.CheckpointPath != "" {
			t.st.ElapsedBefore = elapsed()
			if err := t.saveCheckpoint(t.cfg.CheckpointPath); err != nil {
				return t.summary(), err
			}
		}
	}
	if t.bestSaved != nil {
		if err := restore(t.params, t.bestSaved, "policy and encoder"); err != nil {
			return t.summary(), err
		}
	}
	return t.summary(), nil
}

func (t *Trainer) summary() Summary {
	return Summary{
		EpochMeanReward: append([]float64(nil), t.st.EpochMeans...),
		Epochs:          append([]EpochStats(nil), t.st.EpochStats...),
		ValidationScore: append([]float64(nil), t.st.ValScores...),
		BestEpoch:       t.st.BestEpoch,
		BestScore:       t.st.BestScore,
		Steps:           t.st.Steps,
	}
}

// episodeStats is what an episode tells about training.
type episodeStats struct {
	reward              float64
	entropy, maxEntropy []float64
	replaced            bool
}

// step plays one mini-batch of episodes on the given cases and applies one
// Adam update. It returns the episodes' statistics in case order.
func (t *Trainer) step(ctx context.Context, cases []int) ([]episodeStats, Timing, error) {
	// Per-episode random sources are drawn here, in order, so that the
	// sampling does not depend on goroutine scheduling and the master
	// source's state is exact at every mini-batch boundary.
	seeds := make([][2]uint64, len(cases))
	for k := range seeds {
		seeds[k] = [2]uint64{t.rng.Uint64(), t.rng.Uint64()}
	}
	var (
		rewards []episodeStats
		timing  Timing
		err     error
	)
	if m, ok := t.cfg.Policy.(*MLP); ok {
		rewards, timing, err = t.stepTape(ctx, m, cases, seeds)
	} else {
		rewards, timing, err = t.stepGraph(ctx, cases, seeds)
	}
	if err != nil {
		zeroGrads(t.params)
		return nil, timing, err
	}
	t0 := time.Now()
	for _, p := range t.params {
		// Parameters without a gradient (none of this batch's episodes
		// reached them, or every advantage was 0) are left as they are.
		if p.HasGrad() {
			if err := t.opt.OptimizeParams(p); err != nil { // synchronous: Optimizer.Optimize races in spago v1.1.0
				zeroGrads(t.params)
				return nil, timing, fmt.Errorf("adam: %w", err)
			}
		}
	}
	t.opt.IncExample()
	t.st.Steps++
	timing.Update = time.Since(t0)
	return rewards, timing, nil
}

// forEachEpisode runs play(k, ci) for the batch's cases on up to Workers
// goroutines, stopping the others at the first error, and returns the
// errors joined and the timings summed.
func (t *Trainer) forEachEpisode(ctx context.Context, cases []int, play func(ctx context.Context, k, ci int) (Timing, error)) (Timing, error) {
	errs := make([]error, len(cases))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, t.cfg.Workers)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		timing Timing
	)
	for k, ci := range cases {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			tm, err := play(ctx, k, ci)
			mu.Lock()
			timing.Add(tm)
			mu.Unlock()
			if err != nil {
				errs[k] = fmt.Errorf("case %d: %w", ci, err)
				cancel()
			}
		}()
	}
	wg.Wait() // no episode is in flight past this point
	return timing, errors.Join(errs...)
}

// stepTape plays the batch with the MLP's graph-free training pass (tape.go)
// and leaves the batch's gradient in the parameters, summed in a fixed
// order, so that training is bitwise reproducible for a seed, whatever the
// number of workers:
//   - x̂ of every case is computed first, in case order (the encoder draws
//     its dropout masks from a source of its own: the order fixes them);
//   - the episodes run concurrently, each drawing its policy dropout masks
//     from a source seeded by the episode, and each gradient goes into a
//     buffer of its own;
//   - the buffers are added in case order, and x̂'s gradients are
//     back-propagated into the encoder one case after the other (each of
//     its weights is used once per case, so spago adds one term per pass).
func (t *Trainer) stepTape(ctx context.Context, m *MLP, cases []int, seeds [][2]uint64) ([]episodeStats, Timing, error) {
	var timing Timing
	xs := make([]mat.Tensor, len(cases))
	xv := make([][]float32, len(cases))
	for k, ci := range cases {
		t0 := time.Now()
		x, err := t.cfg.Cases.Patient(ctx, ci, true)
		if err != nil {
			return nil, timing, fmt.Errorf("case %d: patient encoding: %w", ci, err)
		}
		if x != nil {
			xs[k], xv[k] = x, append([]float32(nil), x.Value().Data().F32()...)
		}
		timing.Patient += time.Since(t0)
	}
	rewards := make([]episodeStats, len(cases))
	grads := make([]*gradients, len(cases))
	tm, err := t.forEachEpisode(ctx, cases, func(ctx context.Context, k, ci int) (Timing, error) {
		var (
			tm  Timing
			err error
		)
		rewards[k], grads[k], tm, err = t.episodeTape(ctx, m, ci, seeds[k], xv[k], len(cases))
		return tm, err
	})
	timing.Add(tm)
	if err != nil {
		return nil, timing, err
	}
	t0 := time.Now()
	var total *gradients
	for _, g := range grads {
		switch {
		case g == nil:
		case total == nil:
			total = g
		default:
			total.add(g)
		}
	}
	if total != nil {
		for i, p := range m.Params() {
			p.AccGrad(mat.NewDense[T](mat.WithShape(p.Shape()...), mat.WithBacking(total.params[i])))
		}
	}
	for k, x := range xs {
		if grads[k] == nil || x == nil || !x.RequiresGrad() || x.Size() != len(grads[k].patient) {
			continue // no gradient, or a policy without a patient input
		}
		x.AccGrad(mat.NewDense[T](mat.WithShape(x.Shape()...), mat.WithBacking(grads[k].patient)))
		if err := ag.Backward(x); err != nil {
			return nil, timing, fmt.Errorf("case %d: backward into the patient encoder: %w", cases[k], err)
		}
	}
	timing.Backward += time.Since(t0)
	return rewards, timing, nil
}

// episodeTape plays one training episode through the MLP's tape and returns
// its gradient of −((reward − baseline)·Σ log π + β·Σ H)/batch, or nil when
// that loss is constant (zero advantage and no entropy bonus).
func (t *Trainer) episodeTape(ctx context.Context, m *MLP, ci int, seed [2]uint64, x []float32, batch int) (episodeStats, *gradients, Timing, error) {
	var (
		out episodeStats
		tm  Timing
	)
	rng := rand.New(rand.NewPCG(seed[0], seed[1]))
	var drop *dropout.Source
	if m.cfg.Dropout > 0 {
		drop = dropout.New(seed[1] ^ seed[0]<<1) // a stream of the episode's own
	}
	var spec *Replacement
	if ec, ok := t.cfg.Cases.(EditCases); ok {
		spec = ec.Replacement(ci)
	}
	var tapes []*stepTape
	score := func(words, edits [][]float32) ([]float64, error) {
		tp, z, err := m.forwardTape(words, edits, x, drop)
		if err != nil {
			return nil, err
		}
		tapes = append(tapes, tp)
		return z, nil
	}
	pl, err := play(ctx, t.cfg.Text, t.cfg.Cases.Prompt(ci), t.cfg.Steps, spec, nil, chooser(false, rng), score)
	if err != nil {
		return out, nil, tm, err
	}
	tm.Encode, tm.Policy = pl.encodeTime, pl.policyTime
	for i, p := range pl.probs {
		out.entropy = append(out.entropy, stat.Entropy(p))
		out.maxEntropy = append(out.maxEntropy, math.Log(float64(len(p))))
		out.replaced = out.replaced || pl.Deletions[i].Replacement != ""
	}
	t0 := time.Now()
	r, err := t.cfg.Reward(ctx, ci, pl.Final)
	tm.Reward = time.Since(t0)
	if err != nil {
		return out, nil, tm, fmt.Errorf("reward: %w", err)
	}
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return out, nil, tm, fmt.Errorf("reward: non-finite value %v", r)
	}
	out.reward = r
	scale := 1 / float64(batch) // average the gradients over the batch
	adv, beta := (r-t.st.Baseline)*scale, t.cfg.EntropyBonus*scale
	if len(tapes) == 0 || (adv == 0 && beta == 0) {
		return out, nil, tm, nil
	}
	t1 := time.Now()
	g := m.newGradients()
	for i, tp := range tapes {
		m.backwardTape(tp, scoreGradient(pl.probs[i], pl.actions[i], adv, beta), g)
	}
	tm.Backward = time.Since(t1)
	return out, g, tm, nil
}

// stepGraph plays the batch through the policy's spago graph (any Policy)
// and back-propagates each episode's loss as it finishes. spago sums
// gradients in the order its goroutines finish, so this path is not
// bitwise reproducible.
func (t *Trainer) stepGraph(ctx context.Context, cases []int, seeds [][2]uint64) ([]episodeStats, Timing, error) {
	baseline := t.st.Baseline
	scale := 1 / float64(len(cases)) // average the gradients over the batch
	rewards := make([]episodeStats, len(cases))
	timing, err := t.forEachEpisode(ctx, cases, func(ctx context.Context, k, ci int) (Timing, error) {
		r, tm, err := t.episode(ctx, ci, seeds[k], baseline, scale)
		rewards[k] = r
		return tm, err
	})
	return rewards, timing, err
}

// episode plays one training episode and back-propagates
// −scale·((reward − baseline)·Σ log π + β·Σ H) into the shared parameters.
func (t *Trainer) episode(ctx context.Context, ci int, seed [2]uint64, baseline, scale float64) (episodeStats, Timing, error) {
	var (
		tm  Timing
		out episodeStats
	)
	t0 := time.Now()
	x, err := t.cfg.Cases.Patient(ctx, ci, true)
	if err != nil {
		return out, tm, fmt.Errorf("patient encoding: %w", err)
	}
	if x != nil {
		x.Value() // spago computes asynchronously: wait, so the time is the encoder's
	}
	tm.Patient = time.Since(t0)
	rng := rand.New(rand.NewPCG(seed[0], seed[1]))
	opts := Options{Steps: t.cfg.Steps, Train: true}
	if ec, ok := t.cfg.Cases.(EditCases); ok {
		opts.Replace = ec.Replacement(ci)
	}
	ep, err := Run(ctx, t.cfg.Policy, t.cfg.Text, t.cfg.Cases.Prompt(ci), x, opts, rng)
	if err != nil {
		return out, tm, err
	}
	tm.Encode, tm.Policy = ep.EncodeTime, ep.PolicyTime
	out.entropy, out.maxEntropy = ep.Entropy, ep.MaxEntropy
	for _, d := range ep.Deletions {
		out.replaced = out.replaced || d.Replacement != ""
	}
	t1 := time.Now()
	r, err := t.cfg.Reward(ctx, ci, ep.Final)
	if err != nil {
		return out, tm, fmt.Errorf("reward: %w", err)
	}
	tm.Reward = time.Since(t1)
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return out, tm, fmt.Errorf("reward: non-finite value %v", r)
	}
	t2 := time.Now()
	sum := ep.SumLogProb()
	if sum != nil {
		// Wait for the forward pass to finish (spago runs it in
		// goroutines) even when there is nothing to back-propagate: the
		// optimizer must not run while any of it is in flight.
		sum.Value()
	}
	var terms []mat.Tensor
	if adv := r - baseline; sum != nil && adv != 0 {
		terms = append(terms, ag.ProdScalar(sum, mat.Scalar(T(-adv*scale))))
	}
	if beta := t.cfg.EntropyBonus; beta > 0 && len(ep.Logits) > 0 {
		terms = append(terms, ag.ProdScalar(sumEntropy(ep.Logits), mat.Scalar(T(-beta*scale))))
	}
	if len(terms) > 0 {
		loss := terms[0]
		if len(terms) == 2 {
			loss = ag.Add(terms[0], terms[1])
		}
		if err := ag.Backward(loss); err != nil {
			return out, tm, fmt.Errorf("backward: %w", err)
		}
	}
	tm.Backward = time.Since(t2)
	out.reward = r
	return out, tm, nil
}

// sumEntropy returns Σ_i H(softmax(z_i)) over the steps' scores as a graph
// node, with H(softmax(z)) = logsumexp(z) − softmax(z)·z.
func sumEntropy(logits []mat.Tensor) mat.Tensor {
	hs := make([]mat.Tensor, len(logits))
	for i, z := range logits {
		hs[i] = ag.Sub(ag.LogSumExp(z), ag.Dot(ag.Softmax(z), z))
	}
	if len(hs) == 1 {
		return hs[0]
	}
	return ag.Sum(hs...)
}

// ParamsOf lists the parameters of a spago model in traversal order (struct
// fields in declaration order, sub-models included), the order that
// checkpoints rely on.
func ParamsOf(m nn.Model) []*nn.Param {
	var ps []*nn.Param
	nn.ForEachParam(m, func(p *nn.Param) { ps = append(ps, p) })
	return ps
}

func zeroGrads(ps []*nn.Param) {
	for _, p := range ps {
		p.ZeroGrad()
	}
}

// writeBar draws a one-line progress bar, rewritten in place with '\r' and
// ended with a newline at the end of each epoch.
func writeBar(w io.Writer, p Progress) {
	const width = 24
	done := width * p.Batch / max(p.Batches, 1)
	end := ""
	if p.Batch == p.Batches {
		end = "\n"
	}
	fmt.Fprintf(w, "\repoch %d/%d [%s%s] %d/%d reward %+.4f mean %+.4f %s%s",
		p.Epoch, p.Epochs, strings.Repeat("=", done), strings.Repeat(" ", width-done),
		p.Batch, p.Batches, p.BatchReward, p.EpochMeanReward, p.Elapsed.Round(time.Second), end)
}
