package pmlm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/nlpodyssey/spago/mat"

	"github.com/pmlm-go/pmlm/encoder"
	"github.com/pmlm-go/pmlm/encoder/mlp"
	"github.com/pmlm-go/pmlm/encoder/wordvec"
	"github.com/pmlm-go/pmlm/llm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/predict"
	"github.com/pmlm-go/pmlm/pmlm/prompt"
	"github.com/pmlm-go/pmlm/policy"
	"github.com/pmlm-go/pmlm/reward"
	"github.com/pmlm-go/pmlm/similarity"
)

// TrainOptions configures Pipeline training. The zero value trains the
// paper's configuration on the embedded defaults: MiniRocket, the embedded
// word vectors, the offline case responder, k = 10, n = 10, lr = 0.005.
type TrainOptions struct {
	// Split selects the training and validation patients; the zero value
	// means DefaultSplit.
	Split cohort.SplitBoundaries
	// Predictor is the label predictor, unfitted; nil means MiniRocket with
	// ridge, seeded with Seed. Save needs a MiniRocket predictor.
	Predictor predict.Predictor
	// Fitted, if set, is a predictor already fitted by FitPredictor on the
	// same cohort and split; Train uses it instead of fitting one, so that
	// several trainings (ablations, sweeps) share the costly fit.
	Fitted *PredictorFit
	// NoSelfPersonalization leaves the predicted label out of the prompt
	// (the paper's ablation "w/o SP"): no predictor is fitted and the
	// default template loses its "Patient:" sentence. A custom
	// PromptTemplate is used as given, with "unknown" as the label.
	NoSelfPersonalization bool
	// NoPeerPersonalization leaves the similar patients out of the prompt
	// (the paper's ablation "w/o PP"): the template sees no neighbours.
	NoPeerPersonalization bool
	// CrossFitFolds > 1 gives the training patients' prompts out-of-fold
	// predicted labels, so that the policy trains on prompts whose predicted
	// labels are as fallible as those it will see at test time (in-sample
	// predictions of MiniRocket are nearly always right). 0 means 3; 1 uses
	// in-sample predictions, as the paper's algorithm 1 does.
	CrossFitFolds int
	// Text embeds prompt words for the policy and responses for BERTScore;
	// nil means the embedded word vectors (wordvec.Default).
	Text encoder.TextEncoder
	// Responder is the LLM that answers prompts (LLM_r). Nil means the
	// offline CaseResponder over the training patients' coarse prompts and
	// doctor replies.
	Responder llm.Responder
	// PromptTemplate is the text/template of the coarse prompt over
	// prompt.Data; empty means prompt.DefaultText.
	PromptTemplate string
	// K is the number of similar patients (paper: 10); Steps the number of
	// deleted words n (paper: 10).
	K, Steps int
	// WarmStart trains the patient encoder to place same-label patients
	// close before it is used (beyond the paper; see mlp.MLP.WarmStart).
	WarmStart bool
	// Epochs, BatchSize, Workers and LearningRate configure the REINFORCE
	// trainer (defaults 1, 8, GOMAXPROCS, 0.005).
	Epochs, BatchSize, Workers int
	LearningRate               float64
	// BaselineDecay subtracts a running mean of rewards (variance reduction,
	// not in the paper); 0 keeps the paper's loss.
	BaselineDecay float64
	// RewardComponent selects the BERTScore component of the reward: "F"
	// (default, the paper's F1), "P" or "R".
	RewardComponent string
	// MaxEpisodes, if > 0, trains each epoch on that many training patients
	// (a seeded subset) instead of all of them; MaxValidation likewise
	// bounds the validation patients used to select the best epoch.
	MaxEpisodes, MaxValidation int
	// Seed seeds every random choice.
	Seed uint64
	// CheckpointPath, if set, receives the trainer's checkpoints; with
	// Resume, training continues from it when it exists.
	CheckpointPath string
	Resume         bool
	// Progress, if set, receives progress lines and the trainer's bar.
	Progress io.Writer
}

func (o *TrainOptions) setDefaults() error {
	if o.Split == (cohort.SplitBoundaries{}) {
		o.Split = cohort.DefaultSplit()
	}
	if err := o.Split.Validate(); err != nil {
		return err
	}
	if o.CrossFitFolds == 0 {
		o.CrossFitFolds = 3
	}
	if o.K == 0 {
		o.K = 10
	}
	if o.Steps == 0 {
		o.Steps = policy.DefaultSteps
	}
	if o.Epochs == 0 {
		o.Epochs = 1
	}
	if o.BatchSize == 0 {
		o.BatchSize = 8
	}
	if o.Workers == 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.LearningRate == 0 {
		o.LearningRate = 0.005
	}
	switch o.RewardComponent {
	case "":
		o.RewardComponent = "F"
	case "F", "P", "R":
	default:
		return fmt.Errorf("pmlm: reward component %q: want F, P or R", o.RewardComponent)
	}
	if o.K < 1 || o.Steps < 1 || o.Epochs < 1 || o.BatchSize < 1 || o.CrossFitFolds < 1 {
		return fmt.Errorf("pmlm: K, Steps, Epochs, BatchSize and CrossFitFolds must be positive")
	}
	if o.PromptTemplate == "" {
		o.PromptTemplate = prompt.DefaultText
		if o.NoSelfPersonalization {
			o.PromptTemplate = withoutSelfSentence
		}
	}
	return nil
}

// selfSentence is the sentence of prompt.DefaultText that shows the
// predicted label; withoutSelfSentence is the default template of the
// ablation without self-informed personalization.
const selfSentence = "Patient: her predicted discharge diagnosis is {{.PredictedLabel}}.\n"

var withoutSelfSentence = strings.Replace(prompt.DefaultText, selfSentence, "", 1)

// Pipeline is a trained PMLM: predictor → patient encoder → recommender →
// coarse prompt → policy → responder. It is safe for concurrent Respond
// calls.
type Pipeline struct {
	metrics []cohort.Metric
	labels  []string
	k       int
	steps   int
	// noSelf and noPeer are the ablations of TrainOptions: no predicted
	// label (predictor is nil), no similar patients in the prompt.
	noSelf, noPeer bool

	predictor predict.Predictor
	// retrieval is the patient encoder the recommender's index was built
	// with; it is frozen so that queries and index share one space.
	retrieval *mlp.MLP
	// patient is the copy of the encoder that REINFORCE fine-tunes together
	// with the policy (paper: gradients flow into the encoder); it feeds x̂
	// to the policy only.
	patient *mlp.MLP
	index   *similarity.Exact
	// refVectors and refLabels are what index was built from: the training
	// patients' retrieval encodings and true labels (kept for Save).
	refVectors [][]float32
	refLabels  []string
	// trainIDs maps index rows to patient IDs, so that a training patient
	// is never its own neighbour.
	trainIDs     []string
	template     *prompt.Template
	templateText string
	policy       *policy.MLP
	text         encoder.TextEncoder
	// cases are the training patients' coarse prompts and doctor replies,
	// the knowledge of the default CaseResponder.
	cases     []llm.Case
	responder llm.Responder
	scorer    *reward.BERTScorer
}

// ErrNoTraining is returned when the split leaves no training patient.
var ErrNoTraining = errors.New("pmlm: no training patients in the split")

func matrices(ps []*cohort.Patient) [][][]float64 {
	out := make([][][]float64, len(ps))
	for i, p := range ps {
		out[i] = p.Matrix()
	}
	return out
}

// Train fits every learned part of the pipeline on the cohort's training
// split and selects the policy's best epoch on the validation split.
func Train(ctx context.Context, c *cohort.Cohort, opts TrainOptions) (*Pipeline, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	logf := func(format string, args ...any) {
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, format+"\n", args...)
		}
	}
	train, validation, _ := c.Split(opts.Split)
	if len(train) == 0 {
		return nil, ErrNoTraining
	}
	tmpl, err := prompt.NewTemplate(opts.PromptTemplate)
	if err != nil {
		return nil, fmt.Errorf("pmlm: prompt template: %w", err)
	}
	p := &Pipeline{
		metrics: c.Metrics, labels: c.Labels, k: opts.K, steps: opts.Steps,
		noSelf: opts.NoSelfPersonalization, noPeer: opts.NoPeerPersonalization,
		template: tmpl, templateText: opts.PromptTemplate, text: opts.Text,
	}
	if p.text == nil {
		wv, err := wordvec.Default()
		if err != nil {
			return nil, fmt.Errorf("pmlm: embedded word vectors: %w", err)
		}
		p.text = wv
	}
	series := matrices(train)
	labels, err := labelIndices(c, train)
	if err != nil {
		return nil, err
	}

	// 1. Self-informed personalization: the label predictor.
	start := time.Now()
	var predicted []int
	switch {
	case opts.NoSelfPersonalization:
		predicted = make([]int, len(train))
		for i := range predicted {
			predicted[i] = -1
		}
		logf("no predictor (ablation without self-informed personalization)")
	case opts.Fitted != nil:
		if len(opts.Fitted.promptLabels) != len(train) || len(opts.Fitted.labels) != len(c.Labels) {
			return nil, fmt.Errorf("%w: fitted on %d training patients and %d labels, the split has %d and %d",
				ErrFitMismatch, len(opts.Fitted.promptLabels), len(opts.Fitted.labels), len(train), len(c.Labels))
		}
		p.predictor, predicted = opts.Fitted.predictor, opts.Fitted.promptLabels
		logf("predictor %s reused (fitted before on %d patients)", p.predictor.Name(), len(train))
	default:
		if p.predictor, predicted, err = fitPredictor(ctx, opts, series, labels, len(c.Labels)); err != nil {
			return nil, err
		}
		logf("predictor %s fitted on %d patients (%d-fold out-of-fold labels for their prompts) in %s",
			p.predictor.Name(), len(train), opts.CrossFitFolds, time.Since(start).Round(time.Millisecond))
	}

	// 2. Peer-informed personalization: encoder and recommender.
	start = time.Now()
	if err := p.fitEncoder(ctx, opts, c, series, labels); err != nil {
		return nil, err
	}
	logf("patient encoder and index of %d patients built in %s", len(train), time.Since(start).Round(time.Millisecond))

	// 3. Coarse prompts of the training patients, and the responder.
	p.cases = make([]llm.Case, len(train))
	for i, pt := range train {
		s0, err := p.coarsePrompt(series[i], predicted[i], i)
		if err != nil {
			return nil, err
		}
		p.cases[i] = llm.Case{ID: pt.ID, Prompt: s0, Reply: pt.Response}
	}
	if err := p.setResponder(ctx, opts.Responder); err != nil {
		return nil, err
	}
	p.scorer = reward.NewBERTScorer(p.text, reward.BERTScoreOptions{})

	// 4. Fine-grained prompts: REINFORCE.
	pol, err := policy.New(policy.DefaultConfig(p.text.Dim(), p.patient.Dim()), opts.Seed+3)
	if err != nil {
		return nil, err
	}
	p.policy = pol
	if err := p.trainPolicy(ctx, opts, train, validation, series); err != nil {
		return nil, err
	}
	return p, nil
}

func labelIndices(c *cohort.Cohort, ps []*cohort.Patient) ([]int, error) {
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = c.LabelIndex(p.Label)
		if out[i] < 0 {
			return nil, fmt.Errorf("pmlm: patient %d of the split has label %q outside the label set", i, p.Label)
		}
	}
	return out, nil
}

// PredictorFit is a label predictor fitted on the training split of a
// cohort, with the labels the training patients' prompts show. It is
// read-only once made, so several trainings may share it
// (TrainOptions.Fitted).
type PredictorFit struct {
	predictor    predict.Predictor
	promptLabels []int
	labels       []string
}

// ErrFitMismatch is returned by Train when TrainOptions.Fitted was fitted on
// another training split or label set.
var ErrFitMismatch = errors.New("pmlm: fitted predictor does not match the cohort's split")

// Predictor returns the fitted predictor.
func (f *PredictorFit) Predictor() predict.Predictor { return f.predictor }

// FitPredictor fits the label predictor as Train would with opts (its
// Split, Predictor, CrossFitFolds and Seed), for TrainOptions.Fitted.
func FitPredictor(ctx context.Context, c *cohort.Cohort, opts TrainOptions) (*PredictorFit, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	train, _, _ := c.Split(opts.Split)
	if len(train) == 0 {
		return nil, ErrNoTraining
	}
	labels, err := labelIndices(c, train)
	if err != nil {
		return nil, err
	}
	pred, predicted, err := fitPredictor(ctx, opts, matrices(train), labels, len(c.Labels))
	if err != nil {
		return nil, err
	}
	return &PredictorFit{predictor: pred, promptLabels: predicted, labels: append([]string(nil), c.Labels...)}, nil
}

// fitPredictor fits the predictor on all training patients and returns it
// with the labels their prompts show: out-of-fold predictions with
// CrossFitFolds > 1.
func fitPredictor(ctx context.Context, opts TrainOptions, series [][][]float64, labels []int, numLabels int) (predict.Predictor, []int, error) {
	newPredictor := func(seed uint64) (predict.Predictor, error) {
		if opts.Predictor != nil && seed == opts.Seed {
			return opts.Predictor, nil
		}
		name := "minirocket"
		if opts.Predictor != nil {
			name = opts.Predictor.Name()
		}
		return predict.New(name, seed)
	}
	pred, err := newPredictor(opts.Seed)
	if err != nil {
		return nil, nil, err
	}
	if err := pred.Fit(ctx, series, labels, numLabels); err != nil {
		return nil, nil, fmt.Errorf("pmlm: fit predictor: %w", err)
	}
	if opts.CrossFitFolds <= 1 || len(series) < 2*opts.CrossFitFolds {
		out, err := predict.PredictAll(ctx, pred, series)
		return pred, out, err
	}
	out := make([]int, len(series))
	for f := 0; f < opts.CrossFitFolds; f++ {
		var fitS, heldS [][][]float64
		var fitL, held []int
		for i := range series {
			if i%opts.CrossFitFolds == f {
				heldS = append(heldS, series[i])
				held = append(held, i)
			} else {
				fitS = append(fitS, series[i])
				fitL = append(fitL, labels[i])
			}
		}
		fold, err := newPredictor(opts.Seed + 100 + uint64(f))
		if err != nil {
			return nil, nil, err
		}
		if err := fold.Fit(ctx, fitS, fitL, numLabels); err != nil {
			return nil, nil, fmt.Errorf("pmlm: fit predictor fold %d: %w", f, err)
		}
		got, err := predict.PredictAll(ctx, fold, heldS)
		if err != nil {
			return nil, nil, err
		}
		for j, i := range held {
			out[i] = got[j]
		}
	}
	return pred, out, nil
}

func (p *Pipeline) fitEncoder(ctx context.Context, opts TrainOptions, c *cohort.Cohort, series [][][]float64, labels []int) error {
	std, err := mlp.FitStandardizer(series)
	if err != nil {
		return fmt.Errorf("pmlm: standardizer: %w", err)
	}
	cfg := mlp.DefaultConfig(len(c.Metrics))
	cfg.MaxVisits = max(cfg.MaxVisits, c.MaxVisits())
	enc, err := mlp.New(cfg, std, opts.Seed+1)
	if err != nil {
		return err
	}
	if opts.WarmStart {
		ws := mlp.DefaultWarmStartOptions()
		ws.Seed = opts.Seed + 2
		if _, err := enc.WarmStart(ctx, series, labels, len(c.Labels), ws); err != nil {
			return fmt.Errorf("pmlm: warm start: %w", err)
		}
	}
	p.retrieval = enc
	if p.patient, err = cloneMLP(enc); err != nil {
		return err
	}
	p.patient.SetDropoutSeed(opts.Seed + 7)
	vectors := make([][]float32, len(series))
	names := make([]string, len(series))
	for i, s := range series {
		if vectors[i], err = enc.Encode(s); err != nil {
			return fmt.Errorf("pmlm: encode training patient %d: %w", i, err)
		}
		names[i] = c.Labels[labels[i]]
	}
	p.refVectors, p.refLabels = vectors, names
	if p.index, err = similarity.NewExact(vectors, names); err != nil {
		return err
	}
	return nil
}

func cloneMLP(m *mlp.MLP) (*mlp.MLP, error) {
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		return nil, err
	}
	return mlp.Load(&buf)
}

// coarsePrompt renders s0 for a patient: self is the patient's row in the
// training index (excluded from its neighbours), or -1.
func (p *Pipeline) coarsePrompt(visits [][]float64, predicted int, self int) (string, error) {
	d, err := p.promptData(visits, predicted, self)
	if err != nil {
		return "", err
	}
	return p.template.Render(d)
}

// promptData is what the template shows of a patient: the predicted label
// (index into p.labels, or -1) and the labels of the k most similar
// training patients other than row self (-1: none excluded), each left out
// by its ablation.
func (p *Pipeline) promptData(visits [][]float64, predicted int, self int) (prompt.Data, error) {
	label := "unknown"
	if !p.noSelf && predicted >= 0 && predicted < len(p.labels) {
		label = p.labels[predicted]
	}
	if p.noPeer {
		return prompt.Data{PredictedLabel: label}, nil
	}
	x, err := p.retrieval.Encode(visits)
	if err != nil {
		return prompt.Data{}, fmt.Errorf("pmlm: encode: %w", err)
	}
	var exclude []int
	if self >= 0 {
		exclude = []int{self}
	}
	nb, err := p.index.TopK(x, p.k, exclude...)
	if err != nil {
		return prompt.Data{}, err
	}
	return prompt.FromNeighbors(label, nb), nil
}

func (p *Pipeline) setResponder(ctx context.Context, r llm.Responder) error {
	if r != nil {
		p.responder = r
		return nil
	}
	cr, err := llm.NewCaseResponder(ctx, p.cases, llm.CaseOptions{Encoder: p.text})
	if err != nil {
		return fmt.Errorf("pmlm: case responder: %w", err)
	}
	p.responder = cr
	return nil
}

// respondAs answers prompt; while training, the case of patient id is left
// out of the case responder's knowledge.
func (p *Pipeline) respondAs(ctx context.Context, prompt, excludeID string) (string, error) {
	if excludeID != "" {
		ctx = llm.ExcludeCase(ctx, excludeID)
	}
	r, err := p.responder.Respond(ctx, prompt)
	if err != nil {
		return "", err
	}
	return r.Text, nil
}

func component(s reward.Score, c string) float64 {
	switch c {
	case "P":
		return s.P
	case "R":
		return s.R
	}
	return s.F
}

// patientNode returns x̂ of the policy's patient encoder as a constant node.
func (p *Pipeline) patientNode(visits [][]float64) (mat.Tensor, error) {
	x, err := p.patient.Encode(visits)
	if err != nil {
		return nil, err
	}
	return mat.NewDense[float32](mat.WithShape(len(x), 1), mat.WithBacking(x)), nil
}
