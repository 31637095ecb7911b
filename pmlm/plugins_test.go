package pmlm_test

import (
	"context"
	"encoding/gob"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/encoder"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/predict"
	"github.com/pmlm-go/pmlm/pmlm/prompt"
	"github.com/pmlm-go/pmlm/policy"
	"github.com/pmlm-go/pmlm/similarity"
)

// rarest is a label predictor that always answers the rarest label of its
// training data: nothing like MiniRocket, and its effect on every prompt is
// plain to see.
type rarest struct{ Label, NumClasses int }

func (r *rarest) Fit(_ context.Context, _ [][][]float64, labels []int, numClasses int) error {
	counts := make([]int, numClasses)
	for _, l := range labels {
		counts[l]++
	}
	r.Label, r.NumClasses = 0, numClasses
	for i, n := range counts {
		if n > 0 && (counts[r.Label] == 0 || n < counts[r.Label]) {
			r.Label = i
		}
	}
	return nil
}

func (r *rarest) Predict(context.Context, [][]float64) (predict.Prediction, error) {
	probs := make([]float64, r.NumClasses)
	probs[r.Label] = 1
	return predict.Prediction{Label: r.Label, Probs: probs}, nil
}
func (r *rarest) Name() string           { return "rarest" }
func (r *rarest) Kind() string           { return "test.rarest" }
func (r *rarest) Save(w io.Writer) error { return gob.NewEncoder(w).Encode(r) }
func loadRarest(rd io.Reader) (predict.Predictor, error) {
	var r rarest
	return &r, gob.NewDecoder(rd).Decode(&r)
}

// meanEncoder encodes a patient as the mean of each metric over the
// visits (missing values skipped): no learning, no spago.
type meanEncoder struct{ Metrics int }

func (m *meanEncoder) Dim() int { return m.Metrics }
func (m *meanEncoder) Encode(visits [][]float64) ([]float32, error) {
	out := make([]float32, m.Metrics)
	for j := range out {
		s, n := 0.0, 0
		for _, v := range visits {
			if !math.IsNaN(v[j]) {
				s, n = s+v[j], n+1
			}
		}
		if n > 0 {
			out[j] = float32(s / float64(n))
		}
	}
	return out, nil
}
func (m *meanEncoder) Kind() string           { return "test.mean" }
func (m *meanEncoder) Save(w io.Writer) error { return gob.NewEncoder(w).Encode(m) }
func loadMean(r io.Reader) (encoder.Encoder, error) {
	var m meanEncoder
	return &m, gob.NewDecoder(r).Decode(&m)
}

// firstKeys is a recommender that ignores the query and returns the
// references with the smallest keys: as different from cosine top-k as a
// recommender gets, and it must still honour exclusion by key.
type firstKeys struct{ Refs []similarity.Reference }

func (f *firstKeys) Recommend(_ context.Context, q similarity.Query) ([]similarity.Neighbor, error) {
	var out []similarity.Neighbor
	for _, r := range f.Refs {
		if len(out) == q.K {
			break
		}
		if !slices.Contains(q.Exclude, r.Key) {
			out = append(out, similarity.Neighbor{Index: -1, Key: r.Key, Label: r.Label, Similarity: 1})
		}
	}
	return out, nil
}
func (f *firstKeys) Kind() string           { return "test.first-keys" }
func (f *firstKeys) Save(w io.Writer) error { return gob.NewEncoder(w).Encode(f) }
func newFirstKeys(_ context.Context, refs []similarity.Reference) (similarity.Recommender, error) {
	refs = slices.Clone(refs)
	sort.Slice(refs, func(i, j int) bool { return refs[i].Key < refs[j].Key })
	return &firstKeys{Refs: refs}, nil
}
func loadFirstKeys(r io.Reader) (similarity.Recommender, error) {
	var f firstKeys
	return &f, gob.NewDecoder(r).Decode(&f)
}

// frontPolicy scores word j of a state with -w·j: with w > 0 it deletes
// the first word at every step, whatever the words are.
type frontPolicy struct{ W *nn.Param }

func newFrontPolicy(int, int, uint64) (policy.Policy, error) {
	return &frontPolicy{W: nn.NewParam(mat.NewDense[float32](mat.WithShape(1, 1), mat.WithBacking([]float32{5})))}, nil
}
func (p *frontPolicy) Logits(words [][]float32, _ mat.Tensor, _ bool) (mat.Tensor, error) {
	pos := make([]float32, len(words))
	for j := range pos {
		pos[j] = -float32(j)
	}
	return ag.ProdScalar(mat.NewDense[float32](mat.WithShape(len(words), 1), mat.WithBacking(pos)), p.W), nil
}
func (p *frontPolicy) Params() []*nn.Param { return []*nn.Param{p.W} }
func (p *frontPolicy) Kind() string        { return "test.front" }
func (p *frontPolicy) Save(w io.Writer) error {
	return gob.NewEncoder(w).Encode(p.W.Value().Data().F32())
}
func loadFrontPolicy(r io.Reader) (policy.Policy, error) {
	var w []float32
	if err := gob.NewDecoder(r).Decode(&w); err != nil {
		return nil, err
	}
	if len(w) != 1 {
		return nil, errors.New("front policy: want one weight")
	}
	return &frontPolicy{W: nn.NewParam(mat.NewDense[float32](mat.WithShape(1, 1), mat.WithBacking(w)))}, nil
}

// trainSaveLoad trains with opts, saves, checks that Load without the
// custom loaders fails on the unknown kind, and loads with them.
func trainSaveLoad(t *testing.T, c *cohort.Cohort, opts pmlm.TrainOptions, loaders pmlm.Loaders) *pmlm.Pipeline {
	t.Helper()
	ctx := context.Background()
	p, err := pmlm.Train(ctx, c, opts)
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "model")
	require.NoError(t, p.Save(dir))
	_, err = pmlm.Load(ctx, dir, pmlm.LoadOptions{})
	require.ErrorIs(t, err, pmlm.ErrModel)
	assert.Contains(t, err.Error(), "no loader for")
	q, err := pmlm.Load(ctx, dir, pmlm.LoadOptions{Loaders: loaders})
	require.NoError(t, err)
	return q
}

func pluginOptions() pmlm.TrainOptions {
	return pmlm.TrainOptions{CrossFitFolds: 2, MaxEpisodes: 4, MaxValidation: 2, BatchSize: 4, Seed: 7, StoreCases: true}
}

// sharedFit is the default predictor fitted once for the tests that plug
// in other parts, so that they do not each fit MiniRocket.
var sharedFit = sync.OnceValues(func() (*pmlm.PredictorFit, error) {
	c, err := smallCohort()
	if err != nil {
		return nil, err
	}
	return pmlm.FitPredictor(context.Background(), c, pluginOptions())
})

// fittedOptions are pluginOptions with the shared predictor fit.
func fittedOptions(t *testing.T) pmlm.TrainOptions {
	t.Helper()
	fit, err := sharedFit()
	require.NoError(t, err)
	opts := pluginOptions()
	opts.Fitted = fit
	return opts
}

func TestPluginPredictor(t *testing.T) {
	_, c := trainedOrFail(t)
	var made atomic.Int64
	opts := pluginOptions()
	opts.NewPredictor = func(uint64) (predict.Predictor, error) { made.Add(1); return &rarest{}, nil }
	q := trainSaveLoad(t, c, opts, pmlm.Loaders{Predictors: map[string]func(io.Reader) (predict.Predictor, error){"test.rarest": loadRarest}})
	assert.EqualValues(t, 1+opts.CrossFitFolds, made.Load(), "the factory makes the kept predictor and every fold's")
	train, _, test := c.Split(cohort.DefaultSplit())
	want := &rarest{}
	labels := make([]int, len(train))
	for i, p := range train {
		labels[i] = c.LabelIndex(p.Label)
	}
	require.NoError(t, want.Fit(context.Background(), nil, labels, len(c.Labels)))
	for _, pt := range test[:5] {
		a, err := q.Respond(context.Background(), pt, pmlm.RespondOptions{})
		require.NoError(t, err)
		assert.Equal(t, c.Labels[want.Label], a.PredictedLabel)
		assert.Contains(t, a.Coarse, "predicted discharge diagnosis is "+c.Labels[want.Label]+".")
		assert.NotEmpty(t, a.Response.Text)
	}
}

func TestPluginEncoder(t *testing.T) {
	_, c := trainedOrFail(t)
	opts := fittedOptions(t)
	opts.NewEncoder = func(_ context.Context, d pmlm.EncoderData) (encoder.Encoder, error) {
		return &meanEncoder{Metrics: d.NumMetrics}, nil
	}
	q := trainSaveLoad(t, c, opts, pmlm.Loaders{Encoders: map[string]func(io.Reader) (encoder.Encoder, error){"test.mean": loadMean}})
	train, _, test := c.Split(cohort.DefaultSplit())
	// Oracle: cosine top-k over the mean vectors, computed here.
	enc := &meanEncoder{Metrics: len(c.Metrics)}
	cosine := func(a, b []float32) float64 {
		var ab, aa, bb float64
		for i := range a {
			ab += float64(a[i]) * float64(b[i])
			aa += float64(a[i]) * float64(a[i])
			bb += float64(b[i]) * float64(b[i])
		}
		return ab / math.Sqrt(aa*bb)
	}
	for _, pt := range test[:5] {
		x, err := enc.Encode(pt.Matrix())
		require.NoError(t, err)
		type scored struct {
			label string
			sim   float64
		}
		var all []scored
		for _, r := range train {
			v, err := enc.Encode(r.Matrix())
			require.NoError(t, err)
			all = append(all, scored{r.Label, cosine(x, v)})
		}
		sort.SliceStable(all, func(i, j int) bool { return all[i].sim > all[j].sim })
		want := map[string]int{}
		for _, s := range all[:pmlm.DefaultK] {
			want[s.label]++
		}
		a, err := q.Respond(context.Background(), pt, pmlm.RespondOptions{SkipFinal: true})
		require.NoError(t, err)
		got := map[string]int{}
		for _, s := range a.Similar {
			got[s.Label] = s.Count
		}
		assert.Equal(t, want, got, pt.ID)
	}
}

func TestPluginRecommender(t *testing.T) {
	_, c := trainedOrFail(t)
	opts := fittedOptions(t)
	opts.NewRecommender = newFirstKeys
	q := trainSaveLoad(t, c, opts, pmlm.Loaders{Recommenders: map[string]func(io.Reader) (similarity.Recommender, error){"test.first-keys": loadFirstKeys}})
	train, _, test := c.Split(cohort.DefaultSplit())
	byKey := slices.Clone(train)
	// The recommender sees the patients' opaque keys, not their IDs.
	key := q.PromptBuilder().PatientKey
	sort.Slice(byKey, func(i, j int) bool { return key(byKey[i].ID) < key(byKey[j].ID) })
	counts := func(ps []*cohort.Patient) map[string]int {
		m := map[string]int{}
		for _, p := range ps {
			m[p.Label]++
		}
		return m
	}
	similar := func(pt *cohort.Patient) map[string]int {
		a, err := q.Respond(context.Background(), pt, pmlm.RespondOptions{SkipFinal: true})
		require.NoError(t, err)
		m := map[string]int{}
		for _, s := range a.Similar {
			m[s.Label] = s.Count
		}
		return m
	}
	assert.Equal(t, counts(byKey[:pmlm.DefaultK]), similar(test[0]))
	// The first training patient by key is excluded from its own
	// neighbours by its key: the next one takes its place.
	assert.Equal(t, counts(byKey[1:pmlm.DefaultK+1]), similar(byKey[0]))
}

func TestPluginPolicy(t *testing.T) {
	_, c := trainedOrFail(t)
	opts := fittedOptions(t)
	opts.NewPolicy = newFrontPolicy
	q := trainSaveLoad(t, c, opts, pmlm.Loaders{Policies: map[string]func(io.Reader) (policy.Policy, error){"test.front": loadFrontPolicy}})
	_, _, test := c.Split(cohort.DefaultSplit())
	for _, pt := range test[:3] {
		a, err := q.Respond(context.Background(), pt, pmlm.RespondOptions{})
		require.NoError(t, err)
		words := prompt.Words(a.Coarse)
		assert.Equal(t, prompt.Join(words[pmlm.DefaultSteps:]), a.Final, "the front policy deletes the first words")
		assert.True(t, strings.HasPrefix(a.Coarse, "Background:"))
	}
}

func TestSaveRefusesAPartWithoutSaver(t *testing.T) {
	_, c := trainedOrFail(t)
	opts := fittedOptions(t)
	opts.NewRecommender = func(_ context.Context, refs []similarity.Reference) (similarity.Recommender, error) {
		r, err := newFirstKeys(context.Background(), refs)
		return struct{ similarity.Recommender }{r}, err // hides Kind and Save
	}
	p, err := pmlm.Train(context.Background(), c, opts)
	require.NoError(t, err)
	err = p.Save(filepath.Join(t.TempDir(), "model"))
	require.ErrorIs(t, err, pmlm.ErrNotSaveable)
}

// TestBuiltinPredictorsSaveAndLoad trains with built-in predictors other
// than the default (a neural baseline, MultiRocket): Load finds their
// loaders among the defaults, the loaded pipeline predicts the same labels,
// and a damaged predictor file is refused by its checksum.
func TestBuiltinPredictorsSaveAndLoad(t *testing.T) {
	_, c := trainedOrFail(t)
	ctx := context.Background()
	for _, tc := range []struct {
		kind string
		make func(seed uint64) predict.Predictor
	}{
		{predict.KindCNN, func(seed uint64) predict.Predictor {
			return &predict.NeuralClassifier{Config: predict.NeuralConfig{Arch: predict.ArchCNN, Hidden: 8, Epochs: 2, Seed: seed}}
		}},
		{predict.KindMultiRocket, func(seed uint64) predict.Predictor {
			return &predict.MultiRocketClassifier{Config: predict.MultiRocketConfig{NumFeatures: 2000, Seed: seed}}
		}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			opts := pluginOptions()
			opts.CrossFitFolds = 1
			opts.NewPredictor = func(seed uint64) (predict.Predictor, error) { return tc.make(seed), nil }
			p, err := pmlm.Train(ctx, c, opts)
			require.NoError(t, err)
			dir := filepath.Join(t.TempDir(), "model")
			require.NoError(t, p.Save(dir))
			m, err := pmlm.ReadManifest(dir)
			require.NoError(t, err)
			part := m.Parts[pmlm.PartPredictor]
			assert.Equal(t, tc.kind, part.Kind)
			q, err := pmlm.Load(ctx, dir, pmlm.LoadOptions{})
			require.NoError(t, err)
			_, _, test := c.Split(cohort.DefaultSplit())
			for _, pt := range test[:5] {
				want, err := p.CoarsePrompt(ctx, pt)
				require.NoError(t, err)
				got, err := q.CoarsePrompt(ctx, pt)
				require.NoError(t, err)
				assert.Equal(t, want, got)
			}

			path := filepath.Join(dir, part.File)
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			b[len(b)/2] ^= 0xff
			require.NoError(t, os.WriteFile(path, b, 0o600))
			_, err = pmlm.Load(ctx, dir, pmlm.LoadOptions{})
			require.ErrorIs(t, err, pmlm.ErrModel)
			assert.Contains(t, err.Error(), part.File+" is corrupted")
		})
	}
}
