package pmlm

import (
	"context"
	"fmt"
	"slices"

	"github.com/pmlm-go/pmlm/encoder"
	"github.com/pmlm-go/pmlm/encoder/mlp"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/predict"
	"github.com/pmlm-go/pmlm/pmlm/prompt"
	"github.com/pmlm-go/pmlm/similarity"
)

// PromptBuilder builds coarse prompts: predictor → patient encoder →
// recommender → template. It is the one place where a coarse prompt is
// made: Train builds the training patients' prompts with it, Respond the
// prompt it refines, the "pmlm prompt" command the prompt it prints, and
// the neighbour study queries its recommender, so that they agree by
// construction. A PromptBuilder is safe for concurrent use.
type PromptBuilder struct {
	labels []string
	k      int
	// noSelf and noPeer are the ablations of TrainOptions: no predicted
	// label (predictor is nil), no similar patients in the prompt.
	noSelf, noPeer bool
	predictor      predict.Predictor
	encoder        encoder.Encoder
	recommender    similarity.Recommender
	template       *prompt.Template
	templateText   string
	// refs are the training patients' references the recommender was
	// built from (nil after Load: only training needs them).
	refs []similarity.Reference
	// keys turns patient IDs into the keys of the references (nil: the
	// IDs themselves, as in models saved before PatientKeys).
	keys *keyer
}

// Coarse is a patient's coarse prompt s0 and what it was built from.
type Coarse struct {
	// PredictedLabel is the predictor's label ("unknown" when it named
	// none or, without self-informed personalization, there is no
	// predictor).
	PredictedLabel string
	// Similar are the similar training patients' labels with counts.
	Similar []prompt.LabelCount
	// Prompt is the coarse prompt. It holds no identifier and no lab
	// value.
	Prompt string
	// Probabilities are the predictor's class probabilities, in the
	// cohort's label order, when Build asked the predictor; nil otherwise
	// (no self-informed personalization, a label given to BuildWithLabel,
	// or a predictor that gives none). The prompt does not show them.
	Probabilities []float64
}

// NewPromptBuilder fits the parts of the prompt builder on the cohort's
// training split exactly as Train does with opts (the predictor on all
// training patients, the patient encoder, the recommender's index), without
// the policy: the coarse prompts it builds are those a pipeline trained
// with the same options shows.
func NewPromptBuilder(ctx context.Context, c *cohort.Cohort, opts TrainOptions) (*PromptBuilder, error) {
	t, err := prepare(c, &opts)
	if err != nil {
		return nil, err
	}
	var pred predict.Predictor
	switch {
	case opts.NoSelfPersonalization:
	case opts.Fitted != nil:
		pred = opts.Fitted.predictor
	default:
		if pred, err = fitOne(ctx, opts, opts.Seed+seedPredictor, t.series, t.labels, len(c.Labels)); err != nil {
			return nil, err
		}
	}
	return newBuilder(ctx, c, opts, t, pred, newKeyer(opts.KeySalt, opts.Seed, c.Digest()))
}

// trainingSet is the training split as the parts see it.
type trainingSet struct {
	patients []*cohort.Patient
	series   [][][]float64
	labels   []int
}

// prepare checks the cohort, fills in opts's defaults and returns the
// training split.
func prepare(c *cohort.Cohort, opts *TrainOptions) (*trainingSet, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: nil cohort", ErrOptions)
	}
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	train, _, _ := c.Split(opts.Split)
	if len(train) == 0 {
		return nil, ErrNoTraining
	}
	t := &trainingSet{patients: train, series: make([][][]float64, len(train)), labels: make([]int, len(train))}
	for i, p := range train {
		t.series[i] = p.Matrix()
		t.labels[i] = c.LabelIndex(p.Label)
		if t.labels[i] < 0 {
			return nil, fmt.Errorf("%w: training patient %d has a label outside the label set", ErrOptions, i)
		}
	}
	return t, nil
}

// newBuilder fits the patient encoder and builds the recommender over the
// training patients; pred is the fitted predictor (nil without
// self-informed personalization); the references are keyed by keys.
func newBuilder(ctx context.Context, c *cohort.Cohort, opts TrainOptions, t *trainingSet, pred predict.Predictor, keys *keyer) (*PromptBuilder, error) {
	tmpl, err := prompt.NewTemplate(opts.PromptTemplate)
	if err != nil {
		return nil, fmt.Errorf("%w: prompt template: %w", ErrOptions, err)
	}
	b := &PromptBuilder{
		labels: c.Labels, k: opts.K, noSelf: opts.NoSelfPersonalization, noPeer: opts.NoPeerPersonalization,
		predictor: pred, template: tmpl, templateText: opts.PromptTemplate, keys: keys,
	}
	b.encoder, err = opts.NewEncoder(ctx, EncoderData{
		Series: t.series, Labels: t.labels, NumLabels: len(c.Labels),
		NumMetrics: len(c.Metrics), MaxVisits: c.MaxVisits(),
		WarmStart: opts.WarmStart, Seed: opts.Seed + seedEncoder,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEncoder, err)
	}
	if b.encoder == nil {
		return nil, fmt.Errorf("%w: the encoder factory returned nil", ErrEncoder)
	}
	refs := make([]similarity.Reference, len(t.series))
	for i, s := range t.series {
		v, err := b.encoder.Encode(s)
		if err != nil {
			return nil, fmt.Errorf("%w: training patient %d: %w", ErrEncoder, i, err)
		}
		refs[i] = similarity.Reference{Key: keys.key(t.patients[i].ID), Vector: v, Label: c.Labels[t.labels[i]]}
	}
	if opts.NewVersionedRecommender != nil {
		version, verr := EncoderVersion(b.encoder)
		if verr != nil {
			return nil, fmt.Errorf("%w: %w", ErrRecommender, verr)
		}
		b.recommender, err = opts.NewVersionedRecommender(ctx, version, refs)
	} else {
		b.recommender, err = opts.NewRecommender(ctx, refs)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRecommender, err)
	}
	if b.recommender == nil {
		return nil, fmt.Errorf("%w: the recommender factory returned nil", ErrRecommender)
	}
	b.refs = refs
	return b, nil
}

// trainingNeighbors returns the table of the training patients' k nearest
// other training patients when the recommender answers as
// similarity.Exact does over them (Exact itself, or an index that
// declares it with similarity.ExactEquivalent): Train then looks the
// training patients' neighbours up instead of querying the index once per
// patient. It returns nil for other recommenders, which are queried.
func (b *PromptBuilder) trainingNeighbors(ctx context.Context) (*similarity.NeighborTable, error) {
	if b.noPeer || b.refs == nil {
		return nil, nil
	}
	var exact *similarity.Exact
	switch r := b.recommender.(type) {
	case *similarity.Exact:
		exact = r
	case similarity.ExactEquivalent:
		var err error
		if exact, err = similarity.NewIndex(b.refs); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrRecommender, err)
		}
	default:
		return nil, nil
	}
	t, err := exact.NeighborTable(ctx, b.k)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRecommender, err)
	}
	return t, nil
}

// defaultEncoder is the paper's MLP patient encoder over the padded
// visits, optionally warm-started on the labels.
func defaultEncoder(ctx context.Context, d EncoderData) (encoder.Encoder, error) {
	std, err := mlp.FitStandardizer(d.Series)
	if err != nil {
		return nil, err
	}
	cfg := mlp.DefaultConfig(d.NumMetrics)
	cfg.MaxVisits = max(cfg.MaxVisits, d.MaxVisits)
	enc, err := mlp.New(cfg, std, d.Seed)
	if err != nil {
		return nil, err
	}
	if d.WarmStart {
		ws := mlp.DefaultWarmStartOptions()
		ws.Seed = d.Seed + (seedWarmStart - seedEncoder)
		if _, err := enc.WarmStart(ctx, d.Series, d.Labels, d.NumLabels, ws); err != nil {
			return nil, fmt.Errorf("warm start: %w", err)
		}
	}
	return enc, nil
}

// PatientKey returns the opaque key under which the builder's recommender
// knows the patient with the ID (PatientKeys): the Key of the neighbours
// Similar returns. For a model saved before PatientKeys it is the ID.
func (b *PromptBuilder) PatientKey(id string) string { return b.keys.key(id) }

// Build returns the coarse prompt of a patient whose visits are given:
// the predictor's label, and the labels of the k most similar training
// patients other than those whose IDs are in exclude.
func (b *PromptBuilder) Build(ctx context.Context, visits [][]float64, exclude []string) (Coarse, error) {
	return b.build(ctx, visits, b.keys.keys(exclude))
}

// build is Build with the excluded patients given by their keys.
func (b *PromptBuilder) build(ctx context.Context, visits [][]float64, excludeKeys []string) (Coarse, error) {
	if len(visits) == 0 {
		return Coarse{}, ErrNoVisits
	}
	label := "unknown"
	var probs []float64
	if b.predictor != nil {
		pred, err := b.predictor.Predict(ctx, visits)
		if err != nil {
			return Coarse{}, fmt.Errorf("%w: %w", ErrPredictor, err)
		}
		if pred.Label >= 0 && pred.Label < len(b.labels) {
			label = b.labels[pred.Label]
		}
		if len(pred.Probs) == len(b.labels) {
			probs = slices.Clone(pred.Probs) // the caller's to keep; a predictor may reuse its slice
		}
	}
	c, err := b.buildWithLabel(ctx, visits, label, excludeKeys)
	if err == nil && !b.noSelf {
		c.Probabilities = probs
	}
	return c, err
}

// BuildWithLabel is Build with the predicted label given (Train passes the
// training patients' out-of-fold labels); it is shown as "unknown" without
// self-informed personalization.
func (b *PromptBuilder) BuildWithLabel(ctx context.Context, visits [][]float64, predicted string, exclude []string) (Coarse, error) {
	return b.buildWithLabel(ctx, visits, predicted, b.keys.keys(exclude))
}

// buildWithLabel is BuildWithLabel with the excluded patients given by
// their keys.
func (b *PromptBuilder) buildWithLabel(ctx context.Context, visits [][]float64, predicted string, excludeKeys []string) (Coarse, error) {
	if len(visits) == 0 {
		return Coarse{}, ErrNoVisits
	}
	if b.noSelf || predicted == "" {
		predicted = "unknown"
	}
	var nb []similarity.Neighbor
	if !b.noPeer {
		var err error
		if nb, err = b.similar(ctx, visits, b.k, excludeKeys); err != nil {
			return Coarse{}, err
		}
	}
	return b.render(predicted, nb)
}

// render fills the template with the predicted label and the similar
// patients (ignored without peer-informed personalization).
func (b *PromptBuilder) render(predicted string, nb []similarity.Neighbor) (Coarse, error) {
	if b.noSelf || predicted == "" {
		predicted = "unknown"
	}
	d := prompt.Data{PredictedLabel: predicted}
	if !b.noPeer {
		d = prompt.FromNeighbors(predicted, nb)
	}
	s0, err := b.template.Render(d)
	if err != nil {
		return Coarse{}, fmt.Errorf("pmlm: render the prompt: %w", err)
	}
	return Coarse{PredictedLabel: d.PredictedLabel, Similar: d.Similar, Prompt: s0}, nil
}

// Similar returns the k training patients most similar to a patient, by
// the retrieval encoder and the recommender, leaving out the patients
// whose IDs are in exclude. The neighbours' Key is the patient's opaque
// key (PatientKey), not its ID.
func (b *PromptBuilder) Similar(ctx context.Context, visits [][]float64, k int, exclude []string) ([]similarity.Neighbor, error) {
	return b.similar(ctx, visits, k, b.keys.keys(exclude))
}

// similar is Similar with the excluded patients given by their keys.
func (b *PromptBuilder) similar(ctx context.Context, visits [][]float64, k int, excludeKeys []string) ([]similarity.Neighbor, error) {
	x, err := b.encoder.Encode(visits)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEncoder, err)
	}
	nb, err := b.recommender.Recommend(ctx, similarity.Query{Vector: x, K: k, Exclude: excludeKeys})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRecommender, err)
	}
	return nb, nil
}

// K is the number of similar patients a prompt shows.
func (b *PromptBuilder) K() int { return b.k }

// Encoder returns the retrieval encoder.
func (b *PromptBuilder) Encoder() encoder.Encoder { return b.encoder }

// Recommender returns the recommender.
func (b *PromptBuilder) Recommender() similarity.Recommender { return b.recommender }

// Predictor returns the fitted label predictor (nil without self-informed
// personalization).
func (b *PromptBuilder) Predictor() predict.Predictor { return b.predictor }
