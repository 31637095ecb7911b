package pmlm

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
	"golang.org/x/sync/errgroup"

	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/policy"
)

// trainingCases is the training set as the policy trainer sees it: a subset
// of the training patients (rows of p.cases).
type trainingCases struct {
	p      *Pipeline
	rows   []int
	series [][][]float64
}

func (t *trainingCases) Len() int            { return len(t.rows) }
func (t *trainingCases) Prompt(i int) string { return t.p.cases[t.rows[i]].Prompt }

// Replacement returns the replace actions of case i (policy.EditCases).
func (t *trainingCases) Replacement(i int) *policy.Replacement { return t.p.replacements[t.rows[i]] }

// Patient builds x̂ with the fine-tuned patient encoder's differentiable
// forward pass, so that the REINFORCE loss reaches its parameters (a
// constant x̂ when the encoder cannot be differentiated).
func (t *trainingCases) Patient(_ context.Context, i int, train bool) (mat.Tensor, error) {
	if t.p.patient == nil {
		return t.p.patientNode(t.series[t.rows[i]])
	}
	return t.p.patient.Forward(t.series[t.rows[i]], train)
}

// subset returns n of the indices 0..total-1 drawn without replacement by a
// seeded shuffle, in increasing order; all of them when n ≤ 0 or n ≥ total.
func subset(total, n int, seed uint64) []int {
	idx := make([]int, total)
	for i := range idx {
		idx[i] = i
	}
	if n <= 0 || n >= total {
		return idx
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	rng.Shuffle(total, func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	idx = idx[:n]
	sort.Ints(idx)
	return idx
}

// scoreAll returns the reward component of BERTScore of the responder's
// answers to prompts against refs; the patient with key excludeIDs[i] (may
// be "") is left out of the responder's knowledge for prompt i. Responses
// are computed concurrently.
func (p *Pipeline) scoreAll(ctx context.Context, prompts, refs, excludeIDs []string, comp string, workers int) ([]float64, error) {
	resp := make([]string, len(prompts))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for i := range prompts {
		g.Go(func() error {
			var exclude []string
			if excludeIDs[i] != "" {
				exclude = []string{excludeIDs[i]}
			}
			r, err := p.respond(gctx, prompts[i], exclude)
			resp[i] = r.Text
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	rr := make([][]string, len(refs))
	for i, r := range refs {
		rr[i] = []string{r}
	}
	s, err := p.scorer.Score(ctx, resp, rr)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(s.Pairs))
	for i, pair := range s.Pairs {
		out[i] = component(pair, comp)
	}
	return out, nil
}

func (p *Pipeline) trainPolicy(ctx context.Context, opts TrainOptions, train, validation []*cohort.Patient, series [][][]float64) error {
	cases := &trainingCases{p: p, rows: subset(len(train), opts.MaxEpisodes, opts.Seed+seedEpisodes), series: series}

	// r̂0 and its score never change across epochs: computed once.
	prompts := make([]string, cases.Len())
	refs := make([]string, cases.Len())
	ids := make([]string, cases.Len())
	for i, row := range cases.rows {
		prompts[i], refs[i], ids[i] = p.cases[row].Prompt, p.cases[row].Reply, p.cases[row].ID
	}
	base, err := p.scoreAll(ctx, prompts, refs, ids, opts.RewardComponent, opts.Workers)
	if err != nil {
		return err
	}
	rewardFn := func(ctx context.Context, i int, final string) (float64, error) {
		s, err := p.scoreAll(ctx, []string{final}, refs[i:i+1], ids[i:i+1], opts.RewardComponent, 1)
		if err != nil {
			return 0, err
		}
		return s[0] - base[i], nil
	}

	validate, err := p.validator(ctx, opts, validation)
	if err != nil {
		return err
	}
	var encoderParams []*nn.Param
	if p.patient != nil {
		encoderParams = policy.ParamsOf(p.patient)
	}
	tr, err := policy.NewTrainer(policy.TrainerConfig{
		Policy:          p.policy,
		Text:            p.text,
		Cases:           cases,
		Reward:          rewardFn,
		EncoderParams:   encoderParams,
		Validate:        validate,
		Epochs:          opts.Epochs,
		BatchSize:       opts.BatchSize,
		Workers:         opts.Workers,
		Steps:           opts.Steps,
		LearningRate:    opts.LearningRate,
		BaselineDecay:   opts.BaselineDecay,
		EntropyBonus:    opts.EntropyBonus,
		Seed:            opts.Seed + seedTrainer,
		CheckpointPath:  opts.CheckpointPath,
		CheckpointEvery: 1,
		Origin:          p.origin(opts),
		Progress:        opts.Progress,
	})
	if err != nil {
		return err
	}
	if opts.Resume && opts.CheckpointPath != "" {
		switch err := tr.Resume(opts.CheckpointPath); {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return fmt.Errorf("pmlm: resume: %w", err)
		default:
			e, b := tr.Position()
			if opts.Progress != nil {
				fmt.Fprintf(opts.Progress, "resumed from %s at epoch %d, mini-batch %d\n", opts.CheckpointPath, e+1, b+1)
			}
		}
	}
	sum, err := tr.Train(ctx)
	if err != nil {
		return fmt.Errorf("pmlm: train policy: %w", err)
	}
	p.training.Summary = sum
	if opts.Progress != nil {
		if sum.BestEpoch > 0 {
			fmt.Fprintf(opts.Progress, "kept the policy of epoch %d of %d (best validation score %.4f)\n", sum.BestEpoch, len(sum.EpochMeanReward), sum.BestScore)
		} else {
			fmt.Fprintf(opts.Progress, "no validation patients: kept the policy of the last epoch (%d)\n", len(sum.EpochMeanReward))
		}
	}
	return nil
}

// origin describes what a policy checkpoint belongs to: the data (cohort
// digest, split), the parts it was trained with and every option that
// changes the training, so that a resume on other data or settings is
// refused with the differences named.
func (p *Pipeline) origin(opts TrainOptions) map[string]string {
	pred := "none"
	if p.builder.predictor != nil {
		pred = p.builder.predictor.Name()
	}
	return map[string]string{
		"cohort digest":           p.digest,
		"split train end":         opts.Split.TrainEnd.Format(time.DateOnly),
		"split validation end":    opts.Split.ValidationEnd.Format(time.DateOnly),
		"predictor":               pred,
		"text encoder":            p.text.Name(),
		"responder":               responderInfo(p.responder).String(),
		"k":                       strconv.Itoa(opts.K),
		"prompt template":         opts.PromptTemplate,
		"episodes per epoch":      strconv.Itoa(opts.MaxEpisodes),
		"validation patients":     strconv.Itoa(opts.MaxValidation),
		"cross-fit folds":         strconv.Itoa(opts.CrossFitFolds),
		"warm start":              strconv.FormatBool(opts.WarmStart),
		"learning rate":           strconv.FormatFloat(opts.LearningRate, 'g', -1, 64),
		"baseline decay":          strconv.FormatFloat(opts.BaselineDecay, 'g', -1, 64),
		"reward component":        opts.RewardComponent,
		"actions":                 opts.Actions,
		"no self-personalization": strconv.FormatBool(opts.NoSelfPersonalization),
		"no peer-personalization": strconv.FormatBool(opts.NoPeerPersonalization),
	}
}

// validator returns the trainer's validation hook: the mean gain in the
// reward component of greedy refinement over the coarse prompt, on (a seeded
// subset of) the validation patients. Nil when there are none.
func (p *Pipeline) validator(ctx context.Context, opts TrainOptions, validation []*cohort.Patient) (policy.ValidateFunc, error) {
	rows := subset(len(validation), opts.MaxValidation, opts.Seed+seedValidation)
	if len(rows) == 0 {
		return nil, nil
	}
	series := make([][][]float64, len(rows))
	coarse := make([]string, len(rows))
	edits := make([]*policy.Replacement, len(rows))
	refs := make([]string, len(rows))
	for i, r := range rows {
		series[i] = validation[r].Matrix()
		refs[i] = validation[r].Response
		c, err := p.builder.Build(ctx, series[i], nil)
		if err != nil {
			return nil, err
		}
		coarse[i] = c.Prompt
		edits[i] = p.replacementFor(c)
	}
	noExclusion := make([]string, len(rows))
	base, err := p.scoreAll(ctx, coarse, refs, noExclusion, opts.RewardComponent, opts.Workers)
	if err != nil {
		return nil, err
	}
	oracle := math.NaN()
	if opts.OracleValidation {
		if oracle, err = p.oracleGain(ctx, opts, validation, rows, base); err != nil {
			return nil, err
		}
		p.training.OracleGain, p.training.OraclePatients = oracle, len(rows)
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, "refinement oracle on the validation patients: gain %+.4f BERTScore-%s over the coarse prompt (%d patients)\n",
				oracle, opts.RewardComponent, len(rows))
		}
	}
	return func(ctx context.Context, epoch int) (float64, error) {
		final := make([]string, len(rows))
		// The epoch's weights, frozen for the greedy refinements.
		p.freeze()
		defer func() { p.frozen = nil }()
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(opts.Workers)
		for i := range rows {
			g.Go(func() error {
				res, err := p.refine(gctx, coarse[i], series[i], false, edits[i])
				final[i] = res.Final
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return 0, err
		}
		got, err := p.scoreAll(ctx, final, refs, noExclusion, opts.RewardComponent, opts.Workers)
		if err != nil {
			return 0, err
		}
		gain := 0.0
		for i := range got {
			gain += got[i] - base[i]
		}
		gain /= float64(len(got))
		if opts.Progress != nil {
			of := ""
			if oracle > 0 {
				of = fmt.Sprintf(", %.0f %% of the oracle's %+.4f", 100*gain/oracle, oracle)
			}
			fmt.Fprintf(opts.Progress, "epoch %d: validation gain %+.4f BERTScore-%s over the coarse prompt (%d patients)%s\n",
				epoch, gain, opts.RewardComponent, len(got), of)
		}
		return gain, nil
	}, nil
}

// oracleGain is the refinement oracle's mean gain over the coarse prompt
// (whose scores are base) on the validation patients rows.
func (p *Pipeline) oracleGain(ctx context.Context, opts TrainOptions, validation []*cohort.Patient, rows []int, base []float64) (float64, error) {
	best := slices.Clone(base)
	var prompts, refs, none []string
	var owner []int
	for i, r := range rows {
		c, err := p.builder.Build(ctx, validation[r].Matrix(), nil)
		if err != nil {
			return 0, err
		}
		for _, q := range OraclePrompts(c, validation[r].Label, p.steps) {
			prompts, refs, none, owner = append(prompts, q), append(refs, validation[r].Response), append(none, ""), append(owner, i)
		}
	}
	got, err := p.scoreAll(ctx, prompts, refs, none, opts.RewardComponent, opts.Workers)
	if err != nil {
		return 0, err
	}
	for k, s := range got {
		best[owner[k]] = max(best[owner[k]], s)
	}
	var gain float64
	for i := range best {
		gain += best[i] - base[i]
	}
	return gain / float64(len(best)), nil
}

// TrainingReport is what Train did: the REINFORCE trainer's summary (per
// epoch: the rewards' mean and spread, the share of episodes that changed
// the answer, the policy's entropy, the validation gain) and, with
// TrainOptions.OracleValidation, the refinement oracle's gain on the same
// validation patients, which no deletion policy can exceed on average.
type TrainingReport struct {
	policy.Summary
	// OracleGain is the oracle's mean gain in the reward component over
	// the coarse prompt on OraclePatients validation patients (0 and 0
	// without OracleValidation).
	OracleGain     float64
	OraclePatients int
}
