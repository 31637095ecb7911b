package pmlm

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/llm/lm"
	"github.com/pmlm-go/pmlm/llm/lm/corpus"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/synth"
)

func lmTestCohort(t *testing.T) *cohort.Cohort {
	t.Helper()
	opts := synth.DefaultOptions()
	opts.Seed, opts.Patients, opts.Visits = 4, 40, 0
	c, err := synth.Generate(opts)
	require.NoError(t, err)
	return c
}

func TestLMExamples(t *testing.T) {
	c := lmTestCohort(t)
	train, _, _ := c.Split(cohort.DefaultSplit())
	gen, val, err := LMExamples(c, LMOptions{Seed: 2, Validation: 7})
	require.NoError(t, err)
	assert.Len(t, val, 7)
	// The general corpus holds every training reply, and no lab value in
	// a diagnosis input.
	replies := map[string]bool{}
	for _, e := range gen {
		replies[e.Reply] = true
	}
	for _, p := range train {
		assert.True(t, replies[p.Response], "reply of %s", p.ID)
	}
	ft, _, err := LMExamples(c, LMOptions{Mode: LMFinetune, Validation: -1})
	require.NoError(t, err)
	require.Len(t, ft, len(train))
	want, err := FinetunePrompt(c.Metrics, train[0])
	require.NoError(t, err)
	assert.Equal(t, want, ft[0].Prompt)
	assert.Contains(t, ft[0].Prompt, "HGB")
	assert.Equal(t, train[0].Response, ft[0].Reply)

	_, _, err = LMExamples(c, LMOptions{Mode: "other"})
	require.ErrorIs(t, err, ErrOptions)
	_, _, err = LMExamples(nil, LMOptions{})
	require.ErrorIs(t, err, ErrOptions)
}

func TestGeneralCorpusKeepsSignaturesOfKnownIndicators(t *testing.T) {
	c := lmTestCohort(t)
	train, _, _ := c.Split(cohort.DefaultSplit())
	pairs, err := GeneralCorpus(c, train, corpus.Options{Seed: 1})
	require.NoError(t, err)
	all := corpus.Counts(pairs)[corpus.KindSignature]
	assert.Positive(t, all)
	// A catalogue without the obstetric indicators keeps only the
	// signatures without a lab sign (about the cohort's labels).
	c.Metrics = c.Metrics[:1]
	pairs, err = GeneralCorpus(c, train, corpus.Options{Seed: 1, LabPerIndicator: -1})
	require.NoError(t, err)
	assert.Less(t, corpus.Counts(pairs)[corpus.KindSignature], all)
}

func TestTrainLM(t *testing.T) {
	c := lmTestCohort(t)
	cfg := lm.Config{Dim: 16, Heads: 2, Layers: 1, Hidden: 32, Context: 512, MaxPrompt: 192}
	m, info, rep, err := TrainLM(context.Background(), c, LMOptions{Seed: 3, Epochs: 1, Config: cfg, Validation: 5,
		Corpus: corpus.Options{LabPerIndicator: -1}, MaskNumbers: true})
	require.NoError(t, err)
	assert.Equal(t, LMGeneral, info.Mode)
	assert.True(t, info.MaskedNumbers, "the option is recorded")
	assert.Equal(t, info, m.Info(), "the model carries its training facts")
	assert.Equal(t, c.Digest(), info.DataDigest)
	assert.Len(t, rep.ValidationPerplexity, 1)
	assert.Equal(t, cfg.Dim, m.Config().Dim)
	_, _, _, err = TrainLM(context.Background(), c, LMOptions{Epochs: -1})
	require.ErrorIs(t, err, ErrOptions)
}

func TestMaskNumbers(t *testing.T) {
	assert.Equal(t, "at # weeks, weighing # g (Apgar #); haemoglobin # g/L, down # %",
		MaskNumbers("at 38+6 weeks, weighing 2850 g (Apgar 10); haemoglobin 108.5 g/L, down -12 %"))
	assert.Equal(t, "no numbers here", MaskNumbers("no numbers here"))

	c := lmTestCohort(t)
	for _, mode := range []string{LMGeneral, LMFinetune} {
		train, val, err := LMExamples(c, LMOptions{Mode: mode, Seed: 2, Validation: 5, MaskNumbers: true})
		require.NoError(t, err)
		require.NotEmpty(t, train)
		if mode == LMFinetune {
			for _, e := range append(train, val...) {
				assert.NotRegexp(t, `\d`, e.Reply, "a patient's reply keeps a number")
			}
		}
		// The patients' replies are masked; the corpus's general statements
		// about lab values (not any patient's) keep their numbers.
		plain, _, err := LMExamples(c, LMOptions{Mode: mode, Seed: 2, Validation: 5})
		require.NoError(t, err)
		require.Len(t, plain, len(train))
		masked := 0
		for i := range train {
			if train[i].Reply != plain[i].Reply {
				masked++
				assert.Equal(t, MaskNumbers(plain[i].Reply), train[i].Reply)
			}
		}
		assert.Positive(t, masked)
	}
	train, _, _ := c.Split(cohort.DefaultSplit())
	replies := map[string]bool{}
	gen, _, err := LMExamples(c, LMOptions{Seed: 2, MaskNumbers: true, Validation: -1})
	require.NoError(t, err)
	for _, e := range gen {
		replies[e.Reply] = true
	}
	for _, p := range train {
		assert.True(t, replies[MaskNumbers(p.Response)], "the masked reply of %s", p.ID)
		if MaskNumbers(p.Response) != p.Response {
			assert.False(t, replies[p.Response], "the raw reply of %s", p.ID)
		}
	}
}

// TestDefaultLMShapeIsWhatTrainLMUses checks that the exported defaults are
// the ones an LMOptions without a shape resolves to, for both modes.
func TestDefaultLMShapeIsWhatTrainLMUses(t *testing.T) {
	for _, mode := range []string{LMGeneral, LMFinetune} {
		o, err := LMOptions{Mode: mode}.resolved()
		require.NoError(t, err)
		cfg, epochs := DefaultLMShape(mode)
		assert.Equal(t, o.Config, cfg, mode)
		assert.Equal(t, o.Epochs, epochs, mode)
	}
	general, _ := DefaultLMShape(LMGeneral)
	finetune, _ := DefaultLMShape(LMFinetune)
	assert.Equal(t, DefaultFinetuneMaxPrompt, finetune.MaxPrompt)
	assert.NotEqual(t, general.MaxPrompt, finetune.MaxPrompt)
}
