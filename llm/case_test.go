package llm

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmlm-go/pmlm/encoder"
	"github.com/pmlm-go/pmlm/encoder/wordvec"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tinyEncoder is a static TextEncoder over a handful of chosen 3-d word
// vectors (test data); unknown words get id -1 and a zero vector.
type tinyEncoder struct {
	vecs  map[string][]float32
	calls int
}

func newTinyEncoder() *tinyEncoder {
	return &tinyEncoder{vecs: map[string][]float32{
		"anemia":       {1, 0, 0},
		"iron":         {0.9, 0.1, 0},
		"preeclampsia": {0, 1, 0},
		"hypertension": {0.1, 0.9, 0},
		"normal":       {0, 0, 1},
		"predicted":    {0.5, 0.5, 0.5},
		"label":        {0.4, 0.6, 0.5},
		"similar":      {0.6, 0.4, 0.5},
		"patients":     {0.5, 0.4, 0.6},
	}}
}

func (e *tinyEncoder) Name() string { return "tiny-3d" }
func (e *tinyEncoder) Dim() int     { return 3 }

func (e *tinyEncoder) Encode(_ context.Context, text string) (*encoder.Encoded, error) {
	e.calls++
	words := encoder.Words(text)
	out := &encoder.Encoded{NumWords: len(words)}
	for i, w := range words {
		w = strings.ToLower(w)
		v, ok := e.vecs[w]
		id := -1
		if ok {
			id = len(w) // any stable id will do for the responder
		} else {
			v = make([]float32, 3)
		}
		out.Tokens = append(out.Tokens, w)
		out.IDs = append(out.IDs, id)
		out.Vectors = append(out.Vectors, v)
		out.Special = append(out.Special, false)
		out.WordOf = append(out.WordOf, i)
	}
	return out, nil
}

// The template words (predicted, label, similar, patients) are in every
// prompt, so their idf is 0 and only the labels decide.
var testCases = []Case{
	{ID: "p1", Prompt: "predicted label anemia similar patients anemia anemia", Reply: "Reply one: oral iron."},
	{ID: "p2", Prompt: "predicted label preeclampsia similar patients preeclampsia", Reply: "Reply two: blood pressure."},
	{ID: "p3", Prompt: "predicted label normal similar patients normal", Reply: "Reply three: routine check."},
	{ID: "p4", Prompt: "predicted label anemia similar patients anemia normal", Reply: "Reply four: iron and check."},
	{ID: "p5", Prompt: "predicted label anemia similar patients anemia anemia", Reply: "Reply five: same prompt as one."},
}

func embedders() map[string]encoder.TextEncoder {
	return map[string]encoder.TextEncoder{"tiny": newTinyEncoder(), "lexical": nil}
}

func TestCaseResponderNearest(t *testing.T) {
	for name, enc := range embedders() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			r, err := NewCaseResponder(ctx, testCases, CaseOptions{Encoder: enc})
			require.NoError(t, err)
			resp, err := r.Respond(ctx, "predicted label preeclampsia similar patients preeclampsia")
			require.NoError(t, err)
			assert.Equal(t, testCases[1].Reply, resp.Text)
			assert.Equal(t, "case", resp.Provider)
			assert.Zero(t, resp.TotalTokens)

			// Equal similarity (p1 and p5 have the same prompt): the earlier case wins.
			resp, err = r.Respond(ctx, testCases[0].Prompt)
			require.NoError(t, err)
			assert.Equal(t, testCases[0].Reply, resp.Text)
			nb, err := r.Nearest(ctx, testCases[0].Prompt, 3, "")
			require.NoError(t, err)
			require.Len(t, nb, 3)
			assert.Equal(t, []string{"p1", "p5", "p4"}, []string{nb[0].ID, nb[1].ID, nb[2].ID})
			assert.InDelta(t, 1, nb[0].Similarity, 1e-6)
			assert.Equal(t, nb[0].Similarity, nb[1].Similarity)
			assert.Greater(t, nb[1].Similarity, nb[2].Similarity)

			// Only template words: every case is equally near (similarity 0); the first answers.
			resp, err = r.Respond(ctx, "predicted label similar patients")
			require.NoError(t, err)
			assert.Equal(t, testCases[0].Reply, resp.Text)
		})
	}
}

func TestCaseResponderDenseUsesVectors(t *testing.T) {
	// "hypertension" is in no training prompt: the lexical embedder cannot
	// place it, the word vectors put it next to preeclampsia.
	ctx := context.Background()
	r, err := NewCaseResponder(ctx, testCases, CaseOptions{Encoder: newTinyEncoder()})
	require.NoError(t, err)
	resp, err := r.Respond(ctx, "predicted label hypertension")
	require.NoError(t, err)
	assert.Equal(t, testCases[1].Reply, resp.Text)
}

func TestCaseResponderNeverAnswersWithOwnReply(t *testing.T) {
	for name, enc := range embedders() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			r, err := NewCaseResponder(ctx, testCases, CaseOptions{Encoder: enc, K: 1})
			require.NoError(t, err)
			for _, c := range testCases {
				// Through the request (what the training loop uses) and explicitly.
				resp, err := r.RespondTo(ctx, Request{Prompt: c.Prompt, Exclude: []string{c.ID}})
				require.NoError(t, err)
				assert.NotEqual(t, c.Reply, resp.Text, c.ID)
				resp2, err := r.RespondExcluding(ctx, c.Prompt, c.ID)
				require.NoError(t, err)
				assert.Equal(t, resp.Text, resp2.Text)
				// Without the exclusion the case itself (or an identical, earlier prompt) answers.
				self, err := r.Respond(ctx, c.Prompt)
				require.NoError(t, err)
				if c.ID != "p5" {
					assert.Equal(t, c.Reply, self.Text, c.ID)
				}
			}
			// p1 excluded: its identical twin p5 is nearest.
			resp, err := r.RespondExcluding(ctx, testCases[0].Prompt, "p1")
			require.NoError(t, err)
			assert.Equal(t, testCases[4].Reply, resp.Text)
		})
	}
}

func TestCaseResponderDeterministic(t *testing.T) {
	ctx := context.Background()
	queries := []string{"anemia", "normal normal anemia", "preeclampsia iron", "predicted label", "unknown words only"}
	for name, enc := range embedders() {
		t.Run(name, func(t *testing.T) {
			a, err := NewCaseResponder(ctx, testCases, CaseOptions{Encoder: enc, K: 3})
			require.NoError(t, err)
			b, err := NewCaseResponder(ctx, testCases, CaseOptions{Encoder: enc, K: 3})
			require.NoError(t, err)
			for _, q := range queries {
				var first []CaseMatch
				for range 5 {
					na, err := a.Nearest(ctx, q, 5, "")
					require.NoError(t, err)
					nb, err := b.Nearest(ctx, q, 5, "")
					require.NoError(t, err)
					assert.Equal(t, na, nb, q)
					if first == nil {
						first = na
					}
					assert.Equal(t, first, na, q)
				}
			}
			assert.Equal(t, a.Identity(), b.Identity())
		})
	}
}

func TestCaseResponderVote(t *testing.T) {
	ctx := context.Background()
	cases := []Case{
		{ID: "a", Prompt: "anemia anemia anemia", Reply: "X"},
		{ID: "b", Prompt: "anemia anemia normal", Reply: "Y"},
		{ID: "c", Prompt: "anemia normal normal", Reply: " Y "},
		{ID: "d", Prompt: "preeclampsia", Reply: "Z"},
	}
	for name, enc := range embedders() {
		t.Run(name, func(t *testing.T) {
			one, err := NewCaseResponder(ctx, cases, CaseOptions{Encoder: enc})
			require.NoError(t, err)
			resp, err := one.Respond(ctx, "anemia")
			require.NoError(t, err)
			assert.Equal(t, "X", resp.Text)

			three, err := NewCaseResponder(ctx, cases, CaseOptions{Encoder: enc, K: 3})
			require.NoError(t, err)
			resp, err = three.Respond(ctx, "anemia")
			require.NoError(t, err)
			assert.Equal(t, "Y", resp.Text, "two of the three nearest say Y (whitespace aside); the nearer one's text is returned")

			two, err := NewCaseResponder(ctx, cases, CaseOptions{Encoder: enc, K: 2})
			require.NoError(t, err)
			resp, err = two.Respond(ctx, "anemia")
			require.NoError(t, err)
			assert.Equal(t, "X", resp.Text, "a 1-1 tie goes to the nearer reply")
			assert.NotEqual(t, one.Identity(), two.Identity())
		})
	}
}

func TestCaseResponderErrors(t *testing.T) {
	ctx := context.Background()
	_, err := NewCaseResponder(ctx, nil, CaseOptions{})
	require.ErrorIs(t, err, ErrNoCase)
	_, err = NewCaseResponder(ctx, []Case{{ID: "a", Prompt: "x", Reply: "y"}, {ID: "a", Prompt: "z", Reply: "w"}}, CaseOptions{})
	require.ErrorContains(t, err, `cases 0 and 1 share the ID "a"`)
	_, err = NewCaseResponder(ctx, []Case{{ID: "a", Prompt: " ", Reply: "y"}}, CaseOptions{})
	require.ErrorContains(t, err, "empty prompt")
	_, err = NewCaseResponder(ctx, []Case{{ID: "a", Prompt: "x", Reply: ""}}, CaseOptions{})
	require.ErrorContains(t, err, "empty reply")
	_, err = NewCaseResponder(ctx, []Case{{Prompt: "x", Reply: "y"}}, CaseOptions{})
	require.ErrorContains(t, err, "empty ID")

	r, err := NewCaseResponder(ctx, []Case{{ID: "only", Prompt: "x", Reply: "y"}}, CaseOptions{})
	require.NoError(t, err)
	_, err = r.RespondExcluding(ctx, "x", "only")
	require.ErrorIs(t, err, ErrNoCase)

	_, err = NewCaseResponder(ctx, testCases, CaseOptions{Encoder: failingEncoder{}})
	require.ErrorContains(t, err, `case "p1"`)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = NewCaseResponder(cctx, testCases, CaseOptions{})
	require.ErrorIs(t, err, context.Canceled)
}

type failingEncoder struct{}

func (failingEncoder) Name() string { return "failing" }
func (failingEncoder) Dim() int     { return 1 }
func (failingEncoder) Encode(context.Context, string) (*encoder.Encoded, error) {
	return nil, errors.New("boom")
}

func TestCaseResponderEmbedsTrainingOnce(t *testing.T) {
	ctx := context.Background()
	enc := newTinyEncoder()
	r, err := NewCaseResponder(ctx, testCases, CaseOptions{Encoder: enc})
	require.NoError(t, err)
	assert.Equal(t, len(testCases), enc.calls)
	for range 3 {
		_, err := r.Respond(ctx, "anemia")
		require.NoError(t, err)
	}
	assert.Equal(t, len(testCases)+3, enc.calls, "one encoding per query, none for the training prompts")
}

func TestCachedCaseResponderKeysOnExclusion(t *testing.T) {
	ctx := context.Background()
	r, err := NewCaseResponder(ctx, testCases, CaseOptions{})
	require.NoError(t, err)
	store, err := OpenCache(filepath.Join(t.TempDir(), "c.db"), nil)
	require.NoError(t, err)
	defer store.Close()
	c := Cached(r, store)
	own, err := c.Respond(ctx, testCases[1].Prompt)
	require.NoError(t, err)
	assert.Equal(t, testCases[1].Reply, own.Text)
	excl, err := c.(PatientResponder).RespondTo(ctx, Request{Prompt: testCases[1].Prompt, Exclude: []string{"p2"}})
	require.NoError(t, err)
	assert.NotEqual(t, testCases[1].Reply, excl.Text, "a cached answer of the unexcluded call must not leak")
	again, err := c.(PatientResponder).RespondTo(ctx, Request{Prompt: testCases[1].Prompt, Exclude: []string{"p2"}})
	require.NoError(t, err)
	assert.True(t, again.Cached)
	assert.Equal(t, excl.Text, again.Text)
}

func ExampleCaseResponder() {
	ctx := context.Background()
	cases := []Case{
		{ID: "p1", Prompt: "Predicted label: anemia. Similar patients: anemia, anemia.", Reply: "Oral iron; recheck hemoglobin."},
		{ID: "p2", Prompt: "Predicted label: preeclampsia. Similar patients: preeclampsia.", Reply: "Monitor blood pressure daily."},
		{ID: "p3", Prompt: "Predicted label: normal. Similar patients: normal, anemia.", Reply: "Routine 42-day check."},
	}
	r, err := NewCaseResponder(ctx, cases, CaseOptions{}) // lexical TF-IDF
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, _ := r.Respond(ctx, "Predicted label: preeclampsia. Similar patients: preeclampsia, normal.")
	fmt.Println(resp.Text)
	// While training on p1, p1's own reply is never the answer.
	resp, _ = r.RespondTo(ctx, Request{Prompt: cases[0].Prompt, Exclude: []string{"p1"}})
	fmt.Println(resp.Text)
	// Output:
	// Monitor blood pressure daily.
	// Routine 42-day check.
}

// With the embedded GloVe vectors (encoder/wordvec), a word absent from the
// training prompts can still find its case through its vector; the
// lexical embedder cannot. (Not every paraphrase works: "blood pressure
// high" lands nearer "normal" than "hypertension" with these vectors.)
func TestCaseResponderWordvec(t *testing.T) {
	wv, err := wordvec.Default()
	require.NoError(t, err)
	ctx := context.Background()
	cases := []Case{
		{ID: "a", Prompt: "Predicted label: anemia. Similar patients: anemia, anemia.", Reply: "Oral iron."},
		{ID: "b", Prompt: "Predicted label: hypertension. Similar patients: hypertension.", Reply: "Monitor blood pressure."},
		{ID: "c", Prompt: "Predicted label: normal. Similar patients: normal.", Reply: "Routine check."},
	}
	r, err := NewCaseResponder(ctx, cases, CaseOptions{Encoder: wv})
	require.NoError(t, err)
	assert.Contains(t, r.Identity().Model, wv.Name())
	for _, c := range cases {
		resp, err := r.Respond(ctx, c.Prompt)
		require.NoError(t, err)
		assert.Equal(t, c.Reply, resp.Text)
		resp, err = r.RespondTo(ctx, Request{Prompt: c.Prompt, Exclude: []string{c.ID}})
		require.NoError(t, err)
		assert.NotEqual(t, c.Reply, resp.Text)
	}
	for q, want := range map[string]string{"Predicted label: anaemia": "a", "Predicted label: hypertensive": "b"} {
		nb, err := r.Nearest(ctx, q, 3, "")
		require.NoError(t, err)
		assert.Equal(t, want, nb[0].ID, "%s: %+v", q, nb)
		lex, err := NewCaseResponder(ctx, cases, CaseOptions{})
		require.NoError(t, err)
		nl, err := lex.Nearest(ctx, q, 3, "")
		require.NoError(t, err)
		assert.Zero(t, nl[0].Similarity, "no word in common: the lexical embedder sees nothing")
	}
}

// Issue 15 item 9: a wrapper between the cache and the case responder must
// not hide the exclusion: the excluded patient's own reply never comes back,
// whatever the order of Cached and Guard.
func TestExclusionThroughWrappers(t *testing.T) {
	ctx := context.Background()
	r, err := NewCaseResponder(ctx, testCases, CaseOptions{})
	require.NoError(t, err)
	store, err := OpenCache(filepath.Join(t.TempDir(), "c.db"), nil)
	require.NoError(t, err)
	defer store.Close()
	stacks := map[string]Responder{
		"Guard(case)":          Guard(r, GuardConfig{}),
		"Cached(Guard(case))":  Cached(Guard(r, GuardConfig{}), store),
		"Guard(Cached(case))":  Guard(Cached(r, store), GuardConfig{}),
		"Cached(Cached(case))": Cached(Cached(r, store), store),
	}
	for name, s := range stacks {
		t.Run(name, func(t *testing.T) {
			// Warm the cache with the unexcluded answer first.
			own, err := s.Respond(ctx, testCases[1].Prompt)
			require.NoError(t, err)
			require.Equal(t, testCases[1].Reply, own.Text)
			for range 2 {
				excl, err := RespondTo(ctx, s, Request{Prompt: testCases[1].Prompt, Exclude: []string{testCases[1].ID}})
				require.NoError(t, err)
				assert.NotEqual(t, testCases[1].Reply, excl.Text, "the excluded patient's own reply came back")
			}
		})
	}
}
