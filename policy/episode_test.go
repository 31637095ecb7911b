package policy

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/encoder"
	"github.com/pmlm-go/pmlm/internal/stats"
)

func testPolicy(t *testing.T, dw, dp int, seed uint64) *MLP {
	t.Helper()
	m, err := New(Config{WordDim: dw, PatientDim: dp, Hidden: 16, Layers: 3, Dropout: 0.4}, seed)
	require.NoError(t, err)
	return m
}

func TestRunRecordsDeletions(t *testing.T) {
	s0 := "the patient is likely to have mild anemia and should eat iron rich food"
	words := strings.Fields(s0)
	text := randomVectors(words, 5, 1)
	m := testPolicy(t, 5, 3, 2)
	rng := rand.New(rand.NewPCG(5, 6))
	ep, err := Run(context.Background(), m, text, s0, column(0.1, 0.2, 0.3), Options{Steps: 4, Train: true}, rng)
	require.NoError(t, err)

	assert.Equal(t, s0, ep.Coarse)
	require.Len(t, ep.Deletions, 4)
	require.Len(t, ep.LogProbs, 4)
	assert.EqualValues(t, 4, text.calls.Load(), "E is recomputed on every state")

	// Replay the deletions on s0 to check both positions of each word.
	state := append([]string(nil), words...)
	deleted := map[int]bool{}
	for i, d := range ep.Deletions {
		assert.Equal(t, i, d.Step)
		assert.Equal(t, words[d.Index], d.Word, "index in s0")
		assert.Equal(t, d.Word, state[d.StateIndex], "index in the state")
		assert.False(t, deleted[d.Index])
		deleted[d.Index] = true
		assert.Greater(t, d.Prob, 0.0)
		assert.LessOrEqual(t, d.Prob, 1.0)
		lp := ep.LogProbs[i].Value().Data().F64()[0]
		assert.InDelta(t, math.Log(d.Prob), lp, 1e-4, "log-prob node matches the sampling probability")
		state = append(state[:d.StateIndex], state[d.StateIndex+1:]...)
	}
	assert.Equal(t, strings.Join(state, " "), ep.Final)
	assert.Len(t, strings.Fields(ep.Final), len(words)-4)
	sum := ep.SumLogProb().Value().Data().F64()[0]
	var want float64
	for _, d := range ep.Deletions {
		want += math.Log(d.Prob)
	}
	assert.InDelta(t, want, sum, 1e-4)
}

func TestRunStopsAtOneWord(t *testing.T) {
	text := randomVectors([]string{"a", "b", "c"}, 4, 1)
	m := testPolicy(t, 4, 2, 1)
	ep, err := Run(context.Background(), m, text, "a  b\tc", column(1, 1), Options{}, rand.New(rand.NewPCG(1, 1)))
	require.NoError(t, err)
	assert.Len(t, ep.Deletions, 2, "default n=10 but only 2 words can go")
	assert.Len(t, strings.Fields(ep.Final), 1)

	ep, err = Run(context.Background(), m, text, "a", column(1, 1), Options{}, rand.New(rand.NewPCG(1, 1)))
	require.NoError(t, err)
	assert.Empty(t, ep.Deletions)
	assert.Equal(t, "a", ep.Final)
	assert.Nil(t, ep.SumLogProb())
}

func TestRunErrors(t *testing.T) {
	text := randomVectors([]string{"a", "b"}, 4, 1)
	m := testPolicy(t, 4, 2, 1)
	ctx := context.Background()
	x := column(1, 1)
	_, err := Run(ctx, m, text, "  ", x, Options{}, rand.New(rand.NewPCG(1, 1)))
	assert.ErrorIs(t, err, ErrEmptyPrompt)
	_, err = Run(ctx, m, text, "a b", x, Options{}, nil)
	assert.Error(t, err, "sampling needs a random source")
	_, err = Run(ctx, m, text, "a b", x, Options{Steps: -1, Greedy: true}, nil)
	assert.Error(t, err)
	_, err = Run(ctx, m, randomVectors(nil, 3, 1), "a b", x, Options{Greedy: true}, nil)
	assert.ErrorIs(t, err, ErrShape, "encoder dimension differs from the policy's")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = Run(cancelled, m, text, "a b", x, Options{Greedy: true}, nil)
	assert.True(t, errors.Is(err, context.Canceled))
	_, err = Run(ctx, m, wrongCount{text}, "a b", x, Options{Greedy: true}, nil)
	assert.ErrorContains(t, err, "reports 3 words")
}

// wrongCount is a broken TextEncoder that miscounts words.
type wrongCount struct{ *staticText }

func (w wrongCount) Encode(ctx context.Context, s string) (*encoder.Encoded, error) {
	e, err := w.staticText.Encode(ctx, s)
	if err == nil {
		e.NumWords++
	}
	return e, err
}

func TestGreedyIsDeterministicArgmax(t *testing.T) {
	s0 := "one two three four five six seven"
	text := randomVectors(strings.Fields(s0), 6, 3)
	m := testPolicy(t, 6, 2, 4)
	x := column(0.3, -0.7)
	a, err := Refine(context.Background(), m, text, s0, x, 3)
	require.NoError(t, err)
	b, err := Refine(context.Background(), m, text, s0, x, 3)
	require.NoError(t, err)
	assert.Equal(t, a, b)
	require.Len(t, a.Deletions, 3)
	// The first deletion is the argmax of π(e|s0).
	p, err := Probabilities(context.Background(), m, text, s0, x)
	require.NoError(t, err)
	assert.Equal(t, stats.Argmax(p), a.Deletions[0].StateIndex)
	assert.InDelta(t, p[stats.Argmax(p)], a.Deletions[0].Prob, 1e-9)
}

func TestSampledFollowsSeed(t *testing.T) {
	s0 := "one two three four five six seven eight nine ten eleven twelve"
	text := randomVectors(strings.Fields(s0), 6, 3)
	m := testPolicy(t, 6, 2, 4)
	x := column(0.3, -0.7)
	run := func(seed uint64) Result {
		ep, err := Run(context.Background(), m, text, s0, x, Options{Steps: 5}, rand.New(rand.NewPCG(seed, 0)))
		require.NoError(t, err)
		return ep.Result
	}
	assert.Equal(t, run(1), run(1), "same seed, same episode (no dropout)")
	differs := false
	for seed := uint64(2); seed < 12 && !differs; seed++ {
		differs = run(seed).Final != run(1).Final
	}
	assert.True(t, differs, "different seeds give different episodes")
}

func TestSampleAndSoftmax(t *testing.T) {
	p := stats.Softmax([]float64{1000, 1000, -1000})
	assert.InDeltaSlice(t, []float64{0.5, 0.5, 0}, p, 1e-12)
	assert.Equal(t, 0, sample(p, 0.2))
	assert.Equal(t, 1, sample(p, 0.7))
	assert.Equal(t, 1, sample(p, 1.0), "rounding never picks a zero-probability word")
	_, err := probabilities(column(1, T(math.NaN())))
	assert.ErrorIs(t, err, ErrNotFinite)
	lp := ag.Sub(ag.At(column(1000, -1000), 1, 0), ag.LogSumExp(column(1000, -1000)))
	assert.InDelta(t, -2000, lp.Value().Data().F64()[0], 1e-3, "log-prob stays finite")
}
