package pmlm_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/encoder/wordvec"
	"github.com/pmlm-go/pmlm/llm"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/prompt"
	"github.com/pmlm-go/pmlm/reward"
)

// bayesLabels and bayesAdvice are three diagnoses and a doctor's reply
// for each.
var (
	bayesLabels = []string{"normal", "uterine scar", "gestational diabetes"}
	bayesAdvice = map[string]string{
		"normal":               "routine antenatal care, keep regular check ups and a balanced diet with light exercise",
		"uterine scar":         "plan the delivery carefully because of the uterine scar and watch for signs of rupture",
		"gestational diabetes": "monitor blood glucose every day, follow a diabetic diet and see the endocrinologist",
	}
)

// firstDiagnosis answers with the advice for the diagnosis named first in
// the prompt, as a responder that reads the prompt's words does; it counts
// the prompts it answers.
type firstDiagnosis struct{ asked []string }

func (f *firstDiagnosis) Respond(_ context.Context, q string) (llm.Response, error) {
	f.asked = append(f.asked, q)
	best, at := "", len(q)+1
	for _, l := range bayesLabels {
		if i := strings.Index(q, l); i >= 0 && i < at {
			best, at = l, i
		}
	}
	if best == "" {
		return llm.Response{Text: "see your doctor"}, nil
	}
	return llm.Response{Text: bayesAdvice[best]}, nil
}

func (f *firstDiagnosis) ask(ctx context.Context, q string) (llm.Response, error) {
	return f.Respond(ctx, q)
}

func bayesScorer(t *testing.T) *reward.BERTScorer {
	t.Helper()
	wv, err := wordvec.Default()
	require.NoError(t, err)
	return reward.NewBERTScorer(wv, reward.BERTScoreOptions{})
}

func bayesReplies() []pmlm.LabelledReply {
	var out []pmlm.LabelledReply
	for i, l := range bayesLabels {
		out = append(out, pmlm.LabelledReply{Key: "k" + string(rune('a'+i)), Label: l, Reply: bayesAdvice[l]})
	}
	return out
}

func TestBayesRefinerFollowsTheBelief(t *testing.T) {
	ctx := context.Background()
	scorer := bayesScorer(t)
	b, err := pmlm.NewBayesRefiner(bayesLabels, bayesReplies(), scorer, pmlm.BayesOptions{})
	require.NoError(t, err)
	text := "Patient: her predicted discharge diagnosis is uterine scar. Similar patients: the discharge diagnosis was normal for 5, uterine scar for 3, gestational diabetes for 2."
	coarse := pmlm.Coarse{PredictedLabel: "uterine scar", Prompt: text, Similar: []prompt.LabelCount{
		{Label: "normal", Count: 5}, {Label: "uterine scar", Count: 3}, {Label: "gestational diabetes", Count: 2}}}

	// The predictor is sure of gestational diabetes, which the coarse
	// prompt names last: the refiner keeps it alone.
	coarse.Probabilities = []float64{0.05, 0.05, 0.9}
	r := &firstDiagnosis{}
	got, err := b.Refine(ctx, coarse, r.ask, nil)
	require.NoError(t, err)
	assert.Equal(t, bayesAdvice["gestational diabetes"], got.Response.Text)
	assert.Equal(t, "Patient: her predicted discharge diagnosis is Similar patients: the discharge diagnosis was for 5, for 3, gestational diabetes for 2.",
		got.Result.Final)
	assert.Greater(t, got.Expected, got.CoarseExpected)
	// Seven candidates, each answered once: the coarse prompt, and for each
	// of the three diagnoses the others deleted and it deleted.
	assert.Equal(t, 7, got.Candidates)
	assert.Len(t, r.asked, 7)
	assert.Equal(t, text, r.asked[0], "the coarse prompt is answered first")
	// The deletions rebuild the final prompt from the coarse one.
	words := prompt.Words(text)
	del := map[int]bool{}
	for i, d := range got.Result.Deletions {
		assert.Equal(t, words[d.Index], d.Word)
		assert.Equal(t, i, d.Step)
		del[d.Index] = true
	}
	var kept []string
	for i, w := range words {
		if !del[i] {
			kept = append(kept, w)
		}
	}
	assert.Equal(t, got.Result.Final, prompt.Join(kept))

	// The expected reward is the belief-weighted BERTScore-F1 against the
	// replies, computed here directly.
	var want float64
	for i, l := range bayesLabels {
		s, err := scorer.Score(ctx, []string{bayesAdvice["gestational diabetes"]}, [][]string{{bayesAdvice[l]}})
		require.NoError(t, err)
		want += coarse.Probabilities[i] * s.Pairs[0].F
	}
	assert.InDelta(t, want, got.Expected, 1e-9)

	// Believing the predicted label keeps the coarse prompt, whose answer is
	// already about it (ties keep the coarse prompt).
	coarse.Probabilities = []float64{0.1, 0.8, 0.1}
	got, err = b.Refine(ctx, coarse, (&firstDiagnosis{}).ask, nil)
	require.NoError(t, err)
	assert.Equal(t, text, got.Result.Final)
	assert.Empty(t, got.Result.Deletions)
	assert.Equal(t, bayesAdvice["uterine scar"], got.Response.Text)

	// Without probabilities the similar patients' frequencies are the
	// belief: normal (5 of 10) wins.
	coarse.Probabilities = nil
	got, err = b.Refine(ctx, coarse, (&firstDiagnosis{}).ask, nil)
	require.NoError(t, err)
	assert.Equal(t, bayesAdvice["normal"], got.Response.Text)
}

func TestBayesRefinerLeavesOutExcludedReplies(t *testing.T) {
	ctx := context.Background()
	scorer := bayesScorer(t)
	replies := append(bayesReplies(), pmlm.LabelledReply{Key: "self", Label: "normal", Reply: "an entirely different reply about something else"})
	b, err := pmlm.NewBayesRefiner(bayesLabels, replies, scorer, pmlm.BayesOptions{})
	require.NoError(t, err)
	coarse := pmlm.Coarse{PredictedLabel: "normal", Prompt: "diagnosis is normal. Similar: normal for 10.",
		Similar: []prompt.LabelCount{{Label: "normal", Count: 10}}, Probabilities: []float64{1, 0, 0}}
	with, err := b.Refine(ctx, coarse, (&firstDiagnosis{}).ask, nil)
	require.NoError(t, err)
	without, err := b.Refine(ctx, coarse, (&firstDiagnosis{}).ask, []string{"self"})
	require.NoError(t, err)
	// Without the excluded reply, the answer is scored against its own
	// advice only: F = 1.
	assert.InDelta(t, 1, without.CoarseExpected, 1e-6)
	assert.Less(t, with.CoarseExpected, without.CoarseExpected)
	// The cache does not leak the excluded estimate into a later call.
	again, err := b.Refine(ctx, coarse, (&firstDiagnosis{}).ask, nil)
	require.NoError(t, err)
	assert.InDelta(t, with.CoarseExpected, again.CoarseExpected, 1e-12)
}

func TestBayesRefinerErrors(t *testing.T) {
	ctx := context.Background()
	scorer := bayesScorer(t)
	_, err := pmlm.NewBayesRefiner(bayesLabels, bayesReplies(), nil, pmlm.BayesOptions{})
	require.ErrorIs(t, err, pmlm.ErrBayes)
	_, err = pmlm.NewBayesRefiner(nil, bayesReplies(), scorer, pmlm.BayesOptions{})
	require.ErrorIs(t, err, pmlm.ErrBayes)
	dup := append(bayesReplies(), bayesReplies()[0])
	_, err = pmlm.NewBayesRefiner(bayesLabels, dup, scorer, pmlm.BayesOptions{})
	require.ErrorIs(t, err, pmlm.ErrBayes, "a patient's reply given twice would weigh twice")
	assert.Contains(t, err.Error(), "same key")
	_, err = pmlm.NewBayesRefiner(bayesLabels, []pmlm.LabelledReply{{Label: "eclampsia", Reply: "x"}}, scorer, pmlm.BayesOptions{})
	require.ErrorIs(t, err, pmlm.ErrBayes)
	assert.Contains(t, err.Error(), `reply 1: diagnosis "eclampsia"`)
	_, err = pmlm.NewBayesRefiner(bayesLabels, nil, scorer, pmlm.BayesOptions{})
	require.ErrorIs(t, err, pmlm.ErrBayes)
	_, err = pmlm.NewBayesRefiner(bayesLabels, bayesReplies(), scorer, pmlm.BayesOptions{References: -1})
	require.ErrorIs(t, err, pmlm.ErrBayes)

	b, err := pmlm.NewBayesRefiner(bayesLabels, bayesReplies(), scorer, pmlm.BayesOptions{})
	require.NoError(t, err)
	coarse := pmlm.Coarse{PredictedLabel: "normal", Prompt: "diagnosis is normal.", Probabilities: []float64{1, 0}}
	_, err = b.Refine(ctx, coarse, (&firstDiagnosis{}).ask, nil)
	require.ErrorIs(t, err, pmlm.ErrBayes, "probabilities of another label set are refused")
	coarse.Probabilities = nil
	_, err = b.Refine(ctx, coarse, (&firstDiagnosis{}).ask, nil)
	require.ErrorIs(t, err, pmlm.ErrBayes, "no belief at all is refused, not guessed")
	coarse.Probabilities = []float64{1, 0, 0}
	boom := errors.New("responder down")
	_, err = b.Refine(ctx, coarse, func(context.Context, string) (llm.Response, error) { return llm.Response{}, boom }, nil)
	require.ErrorIs(t, err, boom)
}

func TestPipelineRespondsWithBayesRefinement(t *testing.T) {
	p, c := trainedOrFail(t)
	train, _, test := c.Split(cohort.DefaultSplit())
	// Few references and patients: each refinement scores every candidate's
	// answer against the references, the bulk of this test's time (18 s
	// with 16 references and 10 patients; over 4 minutes under -race).
	b, err := p.BayesRefiner(train, pmlm.BayesOptions{Seed: 1, References: 4})
	require.NoError(t, err)
	// The same patients in another order (data stored in another row
	// order) give the same refiner.
	reversed := slices.Clone(train)
	slices.Reverse(reversed)
	rb, err := p.BayesRefiner(reversed, pmlm.BayesOptions{Seed: 1, References: 4})
	require.NoError(t, err)
	_, err = p.BayesRefiner(append(train[:3:3], test[0]), pmlm.BayesOptions{Seed: 1})
	require.ErrorIs(t, err, pmlm.ErrBayes, "a patient the model was not trained on is refused")
	ctx := context.Background()
	for _, pt := range append(test[:min(3, len(test))], train[:2]...) {
		a, err := p.Respond(ctx, pt, pmlm.RespondOptions{Bayes: b, Coarse: true})
		require.NoError(t, err)
		// The final prompt is the coarse one less whole words, and the answer
		// is the responder's answer to it.
		assert.Equal(t, len(prompt.Words(a.Coarse))-len(a.Deletions), len(prompt.Words(a.Final)))
		assert.LessOrEqual(t, len(a.Deletions), pmlm.DefaultSteps)
		asked, err := p.Ask(ctx, pt, a.Final)
		require.NoError(t, err)
		assert.Equal(t, asked.Text, a.Response.Text)
		direct, err := p.Respond(ctx, pt, pmlm.RespondOptions{Bayes: b, SkipFinal: true})
		require.NoError(t, err)
		assert.Equal(t, a.Final, direct.Final, "deterministic")
		other, err := p.Respond(ctx, pt, pmlm.RespondOptions{Bayes: rb, SkipFinal: true})
		require.NoError(t, err)
		assert.Equal(t, a.Final, other.Final, "independent of the patients' order")
		assert.Equal(t, a.Bayes, other.Bayes)
		assert.NotEqual(t, pt.Response, a.Response.Text, "a training patient is never answered from her own record")
	}
}

func TestBayesRefinerPriorIgnoresThePatient(t *testing.T) {
	ctx := context.Background()
	replies := bayesReplies()
	for i := range 4 { // normal is the commonest diagnosis
		replies = append(replies, pmlm.LabelledReply{Key: "n" + string(rune('0'+i)), Label: "normal", Reply: bayesAdvice["normal"]})
	}
	b, err := pmlm.NewBayesRefiner(bayesLabels, replies, bayesScorer(t), pmlm.BayesOptions{Prior: true})
	require.NoError(t, err)
	text := "Patient: her predicted discharge diagnosis is gestational diabetes. Similar patients: the discharge diagnosis was normal for 5, gestational diabetes for 5."
	for _, probs := range [][]float64{{0.05, 0.05, 0.9}, {0.9, 0.05, 0.05}} {
		coarse := pmlm.Coarse{PredictedLabel: "gestational diabetes", Prompt: text, Probabilities: probs,
			Similar: []prompt.LabelCount{{Label: "normal", Count: 5}, {Label: "gestational diabetes", Count: 5}}}
		got, err := b.Refine(ctx, coarse, (&firstDiagnosis{}).ask, nil)
		require.NoError(t, err)
		assert.Equal(t, bayesAdvice["normal"], got.Response.Text, "the prior (5 of 7 replies normal) decides, whatever the predictor says: %v", probs)
	}
}

func TestLoadedModelRefinesByBayesWithoutAskingTwice(t *testing.T) {
	p, c := trainedOrFail(t)
	dir := filepath.Join(t.TempDir(), "model")
	require.NoError(t, p.Save(dir))
	counter := &firstDiagnosis{}
	ctx := context.Background()
	loaded, err := pmlm.Load(ctx, dir, pmlm.LoadOptions{Responder: counter})
	require.NoError(t, err)

	train, err := loaded.TrainingPatients(c)
	require.NoError(t, err)
	want, _, test := c.Split(cohort.DefaultSplit())
	require.Len(t, train, len(want))
	for i := range want {
		assert.Equal(t, want[i].ID, train[i].ID, "matched by key, in the cohort's order")
	}
	partial := *c
	partial.Patients = slices.DeleteFunc(slices.Clone(c.Patients), func(pt cohort.Patient) bool { return pt.ID == want[0].ID })
	_, err = loaded.TrainingPatients(&partial)
	require.ErrorIs(t, err, pmlm.ErrOptions, "data without one of the model's training patients are refused")
	// The same patients with one diagnosis or one reply edited are refused:
	// a refinement estimated from them would not be the model's.
	for _, edit := range []func(pt *cohort.Patient){
		func(pt *cohort.Patient) { pt.Response += " Repeat the test in a week." },
		func(pt *cohort.Patient) { pt.Label = c.Labels[(slices.Index(c.Labels, pt.Label)+1)%len(c.Labels)] },
	} {
		edited := *c
		edited.Patients = slices.Clone(c.Patients)
		i := slices.IndexFunc(edited.Patients, func(pt cohort.Patient) bool { return pt.ID == want[len(want)-1].ID })
		edit(&edited.Patients[i])
		_, err = loaded.TrainingPatients(&edited)
		require.ErrorIs(t, err, pmlm.ErrOptions)
		assert.Contains(t, err.Error(), "differ from those it was trained on")
		_, err = p.TrainingPatients(&edited)
		require.ErrorIs(t, err, pmlm.ErrOptions, "the trained pipeline checks as the loaded one does")
	}
	// Other patients' records may change: only the training patients'
	// are the model's.
	other := *c
	other.Patients = slices.Clone(c.Patients)
	other.Patients[slices.IndexFunc(other.Patients, func(pt cohort.Patient) bool { return pt.ID == test[0].ID })].Response += " Rest."
	_, err = loaded.TrainingPatients(&other)
	require.NoError(t, err)

	// A library caller handing BayesRefiner the training patients itself is
	// checked as TrainingPatients checks the data: an edited reply, or one
	// patient listed twice in place of another, is refused.
	editedReply := *train[0]
	editedReply.Response += " Repeat the test in a week."
	for name, list := range map[string][]*cohort.Patient{
		"edited reply": append([]*cohort.Patient{&editedReply}, train[1:]...),
		"listed twice": append([]*cohort.Patient{train[1]}, train[1:]...),
	} {
		for _, pl := range []*pmlm.Pipeline{loaded, p} {
			_, err = pl.BayesRefiner(list, pmlm.BayesOptions{Seed: 1, References: 4})
			require.ErrorIs(t, err, pmlm.ErrBayes, name)
			assert.Contains(t, err.Error(), "differ from those it was trained on", name)
		}
	}

	// Part of the list cannot be checked by the digest, but a patient listed
	// twice in it is still refused.
	_, err = loaded.BayesRefiner([]*cohort.Patient{train[0], train[1], train[0]}, pmlm.BayesOptions{Seed: 1, References: 4})
	require.ErrorIs(t, err, pmlm.ErrBayes)
	assert.Contains(t, err.Error(), "same key")

	b, err := loaded.BayesRefiner(train, pmlm.BayesOptions{Seed: 1, References: 4})
	require.NoError(t, err)
	for _, pt := range test[:min(3, len(test))] {
		counter.asked = nil
		a, err := loaded.Respond(ctx, pt, pmlm.RespondOptions{Bayes: b, Coarse: true})
		require.NoError(t, err)
		require.NotNil(t, a.Bayes)
		require.NotNil(t, a.CoarseResponse)
		assert.Len(t, counter.asked, a.Bayes.Candidates, "one call per candidate: the coarse answer is the first candidate's")
		assert.Equal(t, a.Coarse, counter.asked[0])
		assert.GreaterOrEqual(t, a.Bayes.Expected, a.Bayes.CoarseExpected, "the coarse prompt is a candidate")
		coarse, err := loaded.Ask(ctx, pt, a.Coarse)
		require.NoError(t, err)
		assert.Equal(t, coarse.Text, a.CoarseResponse.Text)

		counter.asked = nil
		a, err = loaded.Respond(ctx, pt, pmlm.RespondOptions{Coarse: true})
		require.NoError(t, err)
		assert.Nil(t, a.Bayes, "the policy refined")
		assert.Len(t, counter.asked, 2, "the policy's refined prompt and the coarse one")
	}
}
