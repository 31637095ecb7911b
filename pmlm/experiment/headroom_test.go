package experiment

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/llm"
	"github.com/pmlm-go/pmlm/llm/lm"
	"github.com/pmlm-go/pmlm/llm/lm/corpus"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/predict"
	"github.com/pmlm-go/pmlm/pmlm/prompt"
	"github.com/pmlm-go/pmlm/pmlm/synth"
)

func TestMeasureHeadroom(t *testing.T) {
	opts := synth.DefaultOptions()
	opts.Seed, opts.Patients, opts.Visits = 2, 80, 0
	c, err := synth.Generate(opts)
	require.NoError(t, err)
	m, _, _, err := pmlm.TrainLM(context.Background(), c, pmlm.LMOptions{Seed: 1, Epochs: 1, Validation: -1,
		Config: lm.Config{Dim: 16, Heads: 2, Layers: 1, Hidden: 32, Context: 512, MaxPrompt: 192},
		Corpus: corpus.Options{LabPerIndicator: -1}})
	require.NoError(t, err)
	r, err := llm.NewGenerative(m, lm.GenerateOptions{MaxTokens: 24})
	require.NoError(t, err)
	_, val, _ := c.Split(cohort.DefaultSplit())
	require.NotEmpty(t, val)
	h, err := MeasureHeadroom(context.Background(), c, HeadroomConfig{
		Train: pmlm.TrainOptions{Seed: 1, K: 5, NewPredictor: func(seed uint64) (predict.Predictor, error) {
			return &predict.MiniRocketClassifier{Config: predict.MiniRocketConfig{NumFeatures: 840, Seed: seed}}, nil
		}},
		Responder: r, Probes: 2, Seed: 3, BayesReferences: 3,
		Bootstrap: BootstrapOptions{Resamples: 200},
	})
	require.NoError(t, err)
	assert.Equal(t, len(val), h.Patients)
	assert.Equal(t, 3, h.BayesReferences)
	assert.Contains(t, h.Markdown(), "against 3 training replies of that diagnosis")
	assert.Equal(t, 2*len(val), h.Probed)
	assert.LessOrEqual(t, h.Changed, h.Probed)
	assert.GreaterOrEqual(t, h.Oracle, h.Coarse, "the oracle keeps the coarse prompt when nothing helps")
	assert.GreaterOrEqual(t, h.Gain, 0.0)
	assert.LessOrEqual(t, h.GainCI.Low, h.Gain+1e-9)
	assert.GreaterOrEqual(t, h.GainCI.High, h.Gain-1e-9)
	assert.LessOrEqual(t, h.Improved, h.Patients)
	assert.Contains(t, h.Markdown(), "oracle − coarse")
	require.Len(t, h.Rules, len(DeletionRules()))
	assert.Equal(t, BayesRuleName, h.Bayes.Name)
	for _, rg := range append(h.Rules, h.Bayes) {
		assert.LessOrEqual(t, rg.CI.Low, rg.Gain+1e-9, rg.Name)
		assert.GreaterOrEqual(t, rg.CI.High, rg.Gain-1e-9, rg.Name)
		assert.LessOrEqual(t, rg.Improved+rg.Worsened, h.Patients, rg.Name)
		assert.LessOrEqual(t, rg.Right, h.Patients, rg.Name)
		assert.Contains(t, h.Markdown(), rg.Name)
	}

	_, err = MeasureHeadroom(context.Background(), c, HeadroomConfig{})
	require.ErrorIs(t, err, ErrHeadroom)
	_, err = MeasureHeadroom(context.Background(), c, HeadroomConfig{Responder: r, BayesReferences: -1})
	require.ErrorIs(t, err, ErrHeadroom)
}

func TestDeletionRules(t *testing.T) {
	labels := []string{"normal", "uterine scar", "thalassemia", "gestational diabetes"}
	c := pmlm.Coarse{PredictedLabel: "uterine scar", Similar: []prompt.LabelCount{
		{Label: "normal", Count: 5}, {Label: "uterine scar", Count: 3}, {Label: "thalassemia", Count: 1}, {Label: "gestational diabetes", Count: 1}},
		Probabilities: []float64{0.30, 0.45, 0.01, 0.15}}
	want := map[string][]string{
		"keep only the predicted diagnosis":                                                    {"normal", "thalassemia", "gestational diabetes"},
		"keep only the similar patients' most frequent diagnosis":                              {"uterine scar", "thalassemia", "gestational diabetes"},
		"delete the predicted diagnosis where the similar patients' most frequent one differs": {"uterine scar"},
		"delete the similar patients' diagnoses named once (not the predicted one)":            {"thalassemia", "gestational diabetes"},
		"delete the diagnoses the predictor gives less than 5 %":                               {"thalassemia"},
		"delete the diagnoses the predictor gives less than 20 %":                              {"thalassemia", "gestational diabetes"},
	}
	rules := DeletionRules()
	require.Len(t, rules, len(want))
	for _, r := range rules {
		assert.Equal(t, want[r.Name], r.Delete(c, labels), r.Name)
	}
	// Where predictor and neighbours agree, the third rule deletes nothing;
	// the rules never see the truth, so they cannot depend on it.
	agree := pmlm.Coarse{PredictedLabel: "normal", Similar: c.Similar}
	assert.Empty(t, rules[2].Delete(agree, labels))
	assert.Empty(t, rules[2].Delete(pmlm.Coarse{PredictedLabel: "normal"}, labels), "no similar patients")
	// Least likely first; nothing without probabilities.
	c.Probabilities = []float64{0.30, 0.45, 0.1, 0.05}
	assert.Equal(t, []string{"gestational diabetes", "thalassemia"}, rules[5].Delete(c, labels))
	c.Probabilities = nil
	assert.Empty(t, rules[5].Delete(c, labels))
}
