package policy

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// editFirst wraps the real MLP and raises the score of the edits by a
// margin, so that a greedy episode takes the first edit first: the test
// checks what Run does with a replace action, not what the MLP prefers.
type editFirst struct {
	*MLP
	margin float32
}

func (e editFirst) LogitsWithEdits(words, edits [][]float32, patient mat.Tensor, train bool) (mat.Tensor, error) {
	z, err := e.MLP.LogitsWithEdits(words, edits, patient, train)
	if err != nil {
		return nil, err
	}
	v := z.Value().Data().F32()
	for i := len(words); i < len(v); i++ {
		v[i] += e.margin * float32(len(v)-i) // the first edit highest
	}
	return mat.NewDense[T](mat.WithShape(len(v), 1), mat.WithBacking(v)), nil
}

func (e editFirst) Params() []*nn.Param { return e.MLP.Params() }

func TestReplaceActionPutsTheCandidateInPlace(t *testing.T) {
	s0 := "the predicted diagnosis is gestational diabetes. similar: anemia for 6 and preeclampsia for 4"
	text := randomVectors(strings.Fields(s0+" other"), 8, 1)
	m, err := New(DefaultConfig(8, 0), 1)
	require.NoError(t, err)
	rep := &Replacement{From: 4, To: 6, Candidates: []string{"anemia", "preeclampsia"}}
	ep, err := Run(context.Background(), editFirst{m, 1000}, text, s0, nil,
		Options{Steps: 3, Greedy: true, Replace: rep}, nil)
	require.NoError(t, err)
	require.Len(t, ep.Deletions, 3)
	first := ep.Deletions[0]
	assert.Equal(t, "gestational diabetes.", first.Word)
	assert.Equal(t, "anemia.", first.Replacement, "the first candidate, with the phrase's punctuation")
	assert.Equal(t, 4, first.Index)
	assert.Equal(t, 4, first.StateIndex)
	assert.NotContains(t, ep.Final, "gestational", "the label was replaced: %q", ep.Final)
	for _, d := range ep.Deletions[1:] {
		assert.Empty(t, d.Replacement, "one replacement per episode")
	}
	// Every step's distribution covered the edits while they were offered.
	assert.InDelta(t, mathLog(len(strings.Fields(s0))+2), ep.MaxEntropy[0], 1e-9)
	assert.InDelta(t, mathLog(len(strings.Fields(s0))-1), ep.MaxEntropy[1], 1e-9, "two words became one; no edit after the replacement")
}

func TestReplaceIsOfferedOnlyWhileThePhraseIsWhole(t *testing.T) {
	s0 := "is gestational diabetes. or anemia"
	text := randomVectors(strings.Fields(s0), 4, 2)
	m, err := New(DefaultConfig(4, 0), 2)
	require.NoError(t, err)
	rep := &Replacement{From: 1, To: 3, Candidates: []string{"anemia"}}
	r, err := newReplacer(context.Background(), text, rep, 5)
	require.NoError(t, err)
	enc, err := text.Encode(context.Background(), s0)
	require.NoError(t, err)
	edits, at := r.edits(enc.WordVectors(), []int{0, 1, 2, 3, 4})
	require.Len(t, edits, 1)
	assert.Equal(t, 1, at)
	// The edit vector is mean(phrase) − mean(candidate).
	v := enc.WordVectors()
	for j := range edits[0] {
		assert.InDelta(t, (v[1][j]+v[2][j])/2-v[4][j], edits[0][j], 1e-6)
	}
	edits, _ = r.edits([][]float32{v[0], v[2], v[3], v[4]}, []int{0, 2, 3, 4})
	assert.Nil(t, edits, "a word of the phrase was deleted")

	_, err = newReplacer(context.Background(), text, &Replacement{From: 3, To: 9, Candidates: []string{"x"}}, 5)
	assert.Error(t, err, "a phrase beyond the prompt")
	_, err = Run(context.Background(), plainPolicy{m}, text, s0, nil, Options{Greedy: true, Replace: rep}, nil)
	assert.ErrorContains(t, err, "EditScorer")
}

// plainPolicy hides the MLP's EditScorer.
type plainPolicy struct{ m *MLP }

func (p plainPolicy) Logits(w [][]float32, x mat.Tensor, train bool) (mat.Tensor, error) {
	return p.m.Logits(w, x, train)
}
func (p plainPolicy) Params() []*nn.Param { return p.m.Params() }

func TestLogitsWithEditsKeepsTheWordsScores(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	m, err := New(DefaultConfig(6, 3), 4)
	require.NoError(t, err)
	words, edits := randomWords(5, 6, rng), randomWords(2, 6, rng)
	x := column(0.1, -0.2, 0.3)
	plain, err := m.Logits(words, x, false)
	require.NoError(t, err)
	with, err := m.LogitsWithEdits(words, edits, x, false)
	require.NoError(t, err)
	require.Equal(t, 7, with.Size())
	a, b := plain.Value().Data().F32(), with.Value().Data().F32()
	for j := range a {
		assert.InDelta(t, a[j], b[j], 1e-5, "word %d: mean(E) is the words' mean, edits aside", j)
	}
	// An edit equal to a word's vector scores as that word's deletion.
	same, err := m.LogitsWithEdits(words, [][]float32{words[2]}, x, false)
	require.NoError(t, err)
	assert.InDelta(t, a[2], same.Value().Data().F32()[5], 1e-5)
	_, err = m.LogitsWithEdits(words, [][]float32{{1}}, x, false)
	assert.ErrorIs(t, err, ErrShape)
}

func TestSampledEpisodesWithReplaceFollowTheSeed(t *testing.T) {
	s0 := "her predicted diagnosis is anemia. similar: preeclampsia for 5, diabetes for 3"
	text := randomVectors(strings.Fields(s0), 8, 5)
	m, err := New(DefaultConfig(8, 0), 5)
	require.NoError(t, err)
	rep := &Replacement{From: 4, To: 5, Candidates: []string{"preeclampsia", "diabetes"}}
	run := func(seed uint64) *Episode {
		ep, err := Run(context.Background(), m, text, s0, nil, Options{Steps: 6, Replace: rep}, rand.New(rand.NewPCG(seed, 9)))
		require.NoError(t, err)
		return ep
	}
	replaced := 0
	for seed := uint64(0); seed < 40; seed++ {
		a, b := run(seed), run(seed)
		assert.Equal(t, a.Result, b.Result, "seed %d", seed)
		for _, d := range a.Deletions {
			if d.Replacement != "" {
				replaced++
				assert.Contains(t, []string{"preeclampsia.", "diabetes."}, d.Replacement)
			}
		}
	}
	assert.Positive(t, replaced, "sampling reaches the replace actions")
}

func mathLog(n int) float64 { return math.Log(float64(n)) }

// TestRefineWithEditsEqualsRun checks the graph-free path (Frozen,
// RefineWithEdits) against greedy episodes through the graph with the same
// replace actions, with a context-free embedder as well.
func TestRefineWithEditsEqualsRun(t *testing.T) {
	m, err := New(DefaultConfig(16, 8), 7)
	require.NoError(t, err)
	vocab := make([]string, 40)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("w%d", i)
	}
	text := randomVectors(vocab, 16, 8)
	f := m.Freeze()
	rng := rand.New(rand.NewPCG(9, 10))
	ctx := context.Background()
	replaced := 0
	for trial := range 60 {
		n := 3 + rng.IntN(30)
		words := make([]string, n)
		for i := range words {
			words[i] = vocab[rng.IntN(len(vocab))]
		}
		from := rng.IntN(n - 1)
		rep := &Replacement{From: from, To: from + 1 + rng.IntN(2), Candidates: []string{
			vocab[rng.IntN(len(vocab))], vocab[rng.IntN(len(vocab))] + " " + vocab[rng.IntN(len(vocab))]}}
		x := make([]float32, 8)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		s0 := strings.Join(words, " ")
		want, err := Run(ctx, m, text, s0, column(x...), Options{Steps: 6, Greedy: true, Replace: rep}, nil)
		require.NoError(t, err)
		got, err := RefineWithEdits(ctx, f, text, s0, x, 6, rep)
		require.NoError(t, err)
		require.Equal(t, want.Final, got.Final, "trial %d", trial)
		static, err := RefineWithEdits(ctx, f, contextFree{text}, s0, x, 6, rep)
		require.NoError(t, err)
		assert.Equal(t, got, static, "trial %d", trial)
		require.Len(t, got.Deletions, len(want.Deletions))
		for i, w := range want.Deletions {
			g := got.Deletions[i]
			assert.Equal(t, w.Index, g.Index)
			assert.Equal(t, w.Word, g.Word)
			assert.Equal(t, w.Replacement, g.Replacement)
			if g.Replacement != "" {
				replaced++
			}
		}
	}
	assert.Positive(t, replaced, "some greedy refinements replace")
	t.Logf("%d of 60 refinements replaced", replaced)
	_, err = RefineWithEdits(ctx, frozenOnly{f}, text, "w1 w2 w3", nil, 2, &Replacement{From: 0, To: 1, Candidates: []string{"w4"}})
	assert.ErrorContains(t, err, "EditScores")
}

// frozenOnly hides the Frozen's EditScores.
type frozenOnly struct{ s Scorer }

func (f frozenOnly) Scores(w [][]float32, x []float32) ([]float64, error) { return f.s.Scores(w, x) }
