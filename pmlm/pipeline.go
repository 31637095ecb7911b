package pmlm

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nlpodyssey/spago/mat"

	"github.com/pmlm-go/pmlm/encoder"
	"github.com/pmlm-go/pmlm/encoder/mlp"
	"github.com/pmlm-go/pmlm/encoder/wordvec"
	"github.com/pmlm-go/pmlm/llm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/predict"
	"github.com/pmlm-go/pmlm/policy"
	"github.com/pmlm-go/pmlm/reward"
)

// Pipeline is a trained PMLM: a PromptBuilder (predictor → patient encoder
// → recommender → coarse prompt), the policy that refines the prompt, and
// the responder that answers it. It is safe for concurrent Respond calls.
type Pipeline struct {
	metrics []cohort.Metric
	builder *PromptBuilder
	steps   int
	// patient is the copy of the encoder that REINFORCE fine-tunes together
	// with the policy (paper: gradients flow into the encoder); it feeds x̂
	// to the policy only. Nil when the retrieval encoder cannot be
	// differentiated: the policy then sees its x̂ as a constant.
	patient mlp.Differentiable
	// trainKeys are the training patients' opaque keys (PatientKeys):
	// a training patient is
	// never its own neighbour, and the responder never answers it from its
	// own record.
	trainKeys map[string]bool
	// trainDigest is trainingDigest of the training patients ("" for
	// models saved before it was recorded: not checked).
	trainDigest string
	policy      policy.Policy
	// frozen is the policy's graph-free snapshot for inference (set after
	// training and at load); nil for a policy that is not a
	// policy.Freezer, which then answers through its graph.
	frozen policy.Scorer
	// actions is TrainOptions.Actions; replacements holds the replace
	// actions of each training case (parallel to cases; nil entries: none).
	actions      string
	replacements []*policy.Replacement
	// training is what training did (zero for a loaded model).
	training TrainingReport
	text     encoder.TextEncoder
	// cases are the training patients' coarse prompts and doctor replies,
	// the knowledge of the default CaseResponder.
	cases     []llm.Case
	responder llm.Responder
	scorer    *reward.BERTScorer
	// split and digest describe the data the pipeline was trained on, for
	// the manifest.
	split  cohort.SplitBoundaries
	digest string
	// storeCases is TrainOptions.StoreCases (true for a loaded model that
	// stored its cases).
	storeCases bool
	// read is how the cohort was read (TrainOptions.Read, defaults
	// filled in).
	read ReadSettings
}

// differentiableCopier is implemented by patient encoders whose copy the
// policy can fine-tune (encoder/mlp.MLP).
type differentiableCopier interface {
	DifferentiableCopy(seed uint64) (mlp.Differentiable, error)
}

// Train fits every learned part of the pipeline on the cohort's training
// split and selects the policy's best epoch on the validation split.
func Train(ctx context.Context, c *cohort.Cohort, opts TrainOptions) (*Pipeline, error) {
	t, err := prepare(c, &opts)
	if err != nil {
		return nil, err
	}
	logf := func(format string, args ...any) {
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, format+"\n", args...)
		}
	}
	_, validation, _ := c.Split(opts.Split)
	p := &Pipeline{metrics: c.Metrics, steps: opts.Steps, text: opts.Text, split: opts.Split, digest: c.Digest(), actions: opts.Actions,
		read: opts.Read.withDefaults(), storeCases: opts.StoreCases}
	if p.text == nil {
		wv, err := wordvec.Default()
		if err != nil {
			return nil, fmt.Errorf("pmlm: embedded word vectors: %w", err)
		}
		p.text = wv
	}

	// 1. Self-informed personalization: the label predictor.
	start := time.Now()
	var pred predict.Predictor
	var predicted []int
	switch {
	case opts.NoSelfPersonalization:
		predicted = make([]int, len(t.series))
		for i := range predicted {
			predicted[i] = -1
		}
		logf("no predictor (ablation without self-informed personalization)")
	case opts.Fitted != nil:
		if len(opts.Fitted.promptLabels) != len(t.series) || len(opts.Fitted.labels) != len(c.Labels) {
			return nil, fmt.Errorf("%w: fitted on %d training patients and %d labels, the split has %d and %d",
				ErrFitMismatch, len(opts.Fitted.promptLabels), len(opts.Fitted.labels), len(t.series), len(c.Labels))
		}
		pred, predicted = opts.Fitted.predictor, opts.Fitted.promptLabels
		logf("predictor %s reused (fitted before on %d patients)", pred.Name(), len(t.series))
	default:
		if pred, predicted, err = fitPredictor(ctx, opts, t.series, t.labels, len(c.Labels)); err != nil {
			return nil, err
		}
		logf("predictor %s fitted on %d patients (%d-fold out-of-fold labels for their prompts) in %s",
			pred.Name(), len(t.series), opts.CrossFitFolds, time.Since(start).Round(time.Millisecond))
	}

	// 2. Peer-informed personalization: encoder and recommender, which
	// knows the training patients by opaque keys (PatientKeys).
	start = time.Now()
	keys := newKeyer(opts.KeySalt, opts.Seed, p.digest)
	if p.builder, err = newBuilder(ctx, c, opts, t, pred, keys); err != nil {
		return nil, err
	}
	logf("patient encoder and index of %d patients built in %s", len(t.series), time.Since(start).Round(time.Millisecond))

	// 3. Coarse prompts of the training patients, and the responder.
	// Their neighbours come from a table built once where the recommender
	// allows (see trainingNeighbors), else from one query each.
	start = time.Now()
	table, err := p.builder.trainingNeighbors(ctx)
	if err != nil {
		return nil, err
	}
	if table != nil {
		logf("neighbour table of %d training patients (k = %d) built in %s", len(t.patients), table.K(), time.Since(start).Round(time.Millisecond))
	}
	p.cases = make([]llm.Case, len(t.patients))
	p.replacements = make([]*policy.Replacement, len(t.patients))
	p.trainKeys = make(map[string]bool, len(t.patients))
	p.trainDigest = trainingDigest(keys, t.patients)
	for i, pt := range t.patients {
		label := "unknown"
		if predicted[i] >= 0 && predicted[i] < len(c.Labels) {
			label = c.Labels[predicted[i]]
		}
		var s0 Coarse
		key := keys.key(pt.ID)
		if nb, ok := table.Lookup(key, p.builder.k); ok {
			s0, err = p.builder.render(label, nb)
		} else {
			s0, err = p.builder.buildWithLabel(ctx, t.series[i], label, []string{key})
		}
		if err != nil {
			return nil, err
		}
		p.cases[i] = llm.Case{ID: key, Prompt: s0.Prompt, Reply: pt.Response}
		p.replacements[i] = p.replacementFor(s0)
		p.trainKeys[key] = true
		if n := len(strings.Fields(s0.Prompt)); 2*opts.Steps > n {
			return nil, fmt.Errorf("%w: Steps %d would delete more than half of a training coarse prompt of %d words", ErrOptions, opts.Steps, n)
		}
	}
	if err := p.setResponder(ctx, opts.Responder); err != nil {
		return nil, err
	}
	p.scorer = reward.NewBERTScorer(p.text, reward.BERTScoreOptions{})

	// 4. Fine-grained prompts: REINFORCE on the policy and a copy of the
	// patient encoder.
	if dc, ok := p.builder.encoder.(differentiableCopier); ok {
		if p.patient, err = dc.DifferentiableCopy(opts.Seed + seedPolicyEncoder); err != nil {
			return nil, fmt.Errorf("%w: copy for the policy: %w", ErrEncoder, err)
		}
	}
	if p.policy, err = opts.NewPolicy(p.text.Dim(), p.builder.encoder.Dim(), opts.Seed+seedPolicy); err != nil {
		return nil, fmt.Errorf("pmlm: policy: %w", err)
	}
	if p.policy == nil {
		return nil, fmt.Errorf("%w: the policy factory returned nil", ErrOptions)
	}
	if err := p.trainPolicy(ctx, opts, t.patients, validation, t.series); err != nil {
		return nil, err
	}
	p.freeze()
	return p, nil
}

// freeze takes the graph-free snapshot of the policy's current weights
// that inference uses, when the policy offers one.
func (p *Pipeline) freeze() {
	p.frozen = nil
	if f, ok := p.policy.(policy.Freezer); ok {
		p.frozen = f.Freeze()
	}
}

// refine deletes words from s0 greedily for the patient with visits:
// through the frozen snapshot when there is one, through the policy's
// graph otherwise. zeroPatient shows the policy x̂ = 0; rep holds the
// prompt's replace actions (nil: deletions only).
func (p *Pipeline) refine(ctx context.Context, s0 string, visits [][]float64, zeroPatient bool, rep *policy.Replacement) (policy.Result, error) {
	x, err := p.patientVector(visits)
	if err != nil {
		return policy.Result{}, err
	}
	if zeroPatient {
		x = make([]float32, len(x))
	}
	var res policy.Result
	switch {
	case p.frozen != nil:
		res, err = policy.RefineWithEdits(ctx, p.frozen, p.text, s0, x, p.steps, rep)
	case rep != nil:
		var ep *policy.Episode
		if ep, err = policy.Run(ctx, p.policy, p.text, s0, column(x), policy.Options{Steps: p.steps, Greedy: true, Replace: rep}, nil); err == nil {
			res = ep.Result
		}
	default:
		res, err = policy.Refine(ctx, p.policy, p.text, s0, column(x), p.steps)
	}
	if err != nil {
		return res, fmt.Errorf("pmlm: refine: %w", err)
	}
	return res, nil
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

// Predictor returns the fitted predictor.
func (f *PredictorFit) Predictor() predict.Predictor { return f.predictor }

// FitPredictor fits the label predictor as Train would with opts (its
// Split, NewPredictor, CrossFitFolds and Seed), for TrainOptions.Fitted.
func FitPredictor(ctx context.Context, c *cohort.Cohort, opts TrainOptions) (*PredictorFit, error) {
	t, err := prepare(c, &opts)
	if err != nil {
		return nil, err
	}
	pred, predicted, err := fitPredictor(ctx, opts, t.series, t.labels, len(c.Labels))
	if err != nil {
		return nil, err
	}
	return &PredictorFit{predictor: pred, promptLabels: predicted, labels: append([]string(nil), c.Labels...)}, nil
}

// fitPredictor fits the predictor on all training patients and returns it
// with the labels their prompts show: out-of-fold predictions with
// CrossFitFolds > 1, each fold's predictor made by opts.NewPredictor.
func fitPredictor(ctx context.Context, opts TrainOptions, series [][][]float64, labels []int, numLabels int) (predict.Predictor, []int, error) {
	pred, err := fitOne(ctx, opts, opts.Seed+seedPredictor, series, labels, numLabels)
	if err != nil {
		return nil, nil, err
	}
	if opts.CrossFitFolds <= 1 || len(series) < 2*opts.CrossFitFolds {
		out, err := predict.PredictAll(ctx, pred, series)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrPredictor, err)
		}
		return pred, out, nil
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
		fold, err := fitOne(ctx, opts, opts.Seed+seedFolds+uint64(f), fitS, fitL, numLabels)
		if err != nil {
			return nil, nil, fmt.Errorf("fold %d: %w", f, err)
		}
		got, err := predict.PredictAll(ctx, fold, heldS)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: fold %d: %w", ErrPredictor, f, err)
		}
		for j, i := range held {
			out[i] = got[j]
		}
	}
	return pred, out, nil
}

// fitOne makes a predictor with opts.NewPredictor and fits it.
func fitOne(ctx context.Context, opts TrainOptions, seed uint64, series [][][]float64, labels []int, numLabels int) (predict.Predictor, error) {
	p, err := opts.NewPredictor(seed)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPredictor, err)
	}
	if p == nil {
		return nil, fmt.Errorf("%w: the predictor factory returned nil", ErrPredictor)
	}
	if err := p.Fit(ctx, series, labels, numLabels); err != nil {
		return nil, fmt.Errorf("%w: fit: %w", ErrPredictor, err)
	}
	return p, nil
}

func (p *Pipeline) setResponder(ctx context.Context, r llm.Responder) error {
	if r != nil {
		p.responder = r
		return nil
	}
	cr, err := llm.NewCaseResponder(ctx, p.cases, llm.CaseOptions{Encoder: p.text})
	if err != nil {
		return fmt.Errorf("%w: case responder: %w", ErrResponder, err)
	}
	p.responder = cr
	return nil
}

// respond answers prompt, leaving out the records of the patients whose
// keys are in exclude.
func (p *Pipeline) respond(ctx context.Context, prompt string, exclude []string) (llm.Response, error) {
	r, err := llm.RespondTo(ctx, p.responder, llm.Request{Prompt: prompt, Exclude: exclude})
	if err != nil {
		return r, fmt.Errorf("%w: %w", ErrResponder, err)
	}
	return r, nil
}

// exclusions returns the keys a patient's prompt and answer must not draw
// on: the patient's own (its ID's opaque key), when it is a training
// patient.
func (p *Pipeline) exclusions(id string) []string {
	if key := p.builder.keys.key(id); p.trainKeys[key] {
		return []string{key}
	}
	return nil
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

// patientVector returns x̂ of the policy's patient encoder (no graph).
func (p *Pipeline) patientVector(visits [][]float64) ([]float32, error) {
	var enc encoder.Encoder = p.builder.encoder
	if p.patient != nil {
		enc = p.patient
	}
	x, err := enc.Encode(visits)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEncoder, err)
	}
	return x, nil
}

// patientNode returns x̂ of the policy's patient encoder as a constant node.
func (p *Pipeline) patientNode(visits [][]float64) (mat.Tensor, error) {
	x, err := p.patientVector(visits)
	if err != nil {
		return nil, err
	}
	return column(x), nil
}

// column wraps x as a [len(x) 1] constant node.
func column(x []float32) mat.Tensor {
	return mat.NewDense[float32](mat.WithShape(len(x), 1), mat.WithBacking(x))
}

// Split returns the time-based split the pipeline was trained with.
func (p *Pipeline) Split() cohort.SplitBoundaries { return p.split }

// ReadSettings returns how the training cohort was read (its manifest's
// data.read; the defaults for a model saved before it was recorded).
// The commands that answer with the model read cohorts with them unless
// told otherwise, so that a model trained on patients with up to 60
// visits reads such patients again.
func (p *Pipeline) ReadSettings() ReadSettings { return p.read }

// PromptBuilder returns the pipeline's prompt builder.
func (p *Pipeline) PromptBuilder() *PromptBuilder { return p.builder }

// Labels returns the label set the pipeline was trained with.
func (p *Pipeline) Labels() []string { return append([]string(nil), p.builder.labels...) }

// TextEncoder returns the embedder of the policy and of BERTScore (its
// Name is recorded in the manifest).
func (p *Pipeline) TextEncoder() encoder.TextEncoder { return p.text }

// Responder returns the responder that answers the prompts.
func (p *Pipeline) Responder() llm.Responder { return p.responder }
