package policy

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFrozenScoresEqualLogits compares the graph-free scores with the
// graph's logits (no dropout) for several network shapes and state sizes,
// after the weights have moved away from their initial values.
func TestFrozenScoresEqualLogits(t *testing.T) {
	for _, cfg := range []Config{
		DefaultConfig(100, 128),
		{WordDim: 7, PatientDim: 0, Hidden: 5, Layers: 2},
		{WordDim: 9, PatientDim: 3, Hidden: 1, Layers: 1},
		{WordDim: 17, PatientDim: 33, Hidden: 40, Layers: 4, Dropout: 0.4},
	} {
		t.Run(fmt.Sprintf("%d-%d-%dx%d", cfg.WordDim, cfg.PatientDim, cfg.Layers, cfg.Hidden), func(t *testing.T) {
			m, err := New(cfg, 7)
			require.NoError(t, err)
			rng := rand.New(rand.NewPCG(7, 8))
			// Non-zero biases, so that a bias left out would show.
			for _, p := range m.Params() {
				d := p.Value().Data().F32()
				for i := range d {
					d[i] += float32(0.1 * rng.NormFloat64())
				}
			}
			f := m.Freeze()
			for _, n := range []int{1, 2, 5, 17, 100} {
				words := randomWords(n, cfg.WordDim, rng)
				var x []float32
				for range cfg.PatientDim {
					x = append(x, float32(rng.NormFloat64()))
				}
				want, err := m.Logits(words, column(x...), false)
				require.NoError(t, err)
				got, err := f.Scores(words, x)
				require.NoError(t, err)
				w := want.Value().Data().F64()
				require.Len(t, got, len(w))
				scale := 0.0
				for _, v := range w {
					scale = max(scale, math.Abs(v))
				}
				for j := range w {
					assert.InDelta(t, w[j], got[j], 1e-5*max(scale, 1), "n=%d word %d", n, j)
				}
			}
		})
	}
}

func TestFrozenShapeErrors(t *testing.T) {
	m, err := New(Config{WordDim: 4, PatientDim: 2, Hidden: 3, Layers: 2}, 1)
	require.NoError(t, err)
	f := m.Freeze()
	_, err = f.Scores(nil, []float32{1, 2})
	assert.ErrorIs(t, err, ErrShape)
	_, err = f.Scores([][]float32{{1, 2, 3, 4}}, []float32{1})
	assert.ErrorIs(t, err, ErrShape)
	_, err = f.Scores([][]float32{{1, 2, 3, 4}, {1, 2}}, []float32{1, 2})
	assert.ErrorIs(t, err, ErrShape)
	assert.ErrorContains(t, err, "word 1")
}

// TestFrozenIsASnapshot checks that training the MLP after Freeze leaves
// the snapshot as it was.
func TestFrozenIsASnapshot(t *testing.T) {
	m, err := New(Config{WordDim: 4, PatientDim: 0, Hidden: 3, Layers: 2}, 1)
	require.NoError(t, err)
	f := m.Freeze()
	words := [][]float32{{1, 2, 3, 4}, {0, 1, 0, 1}}
	before, err := f.Scores(words, nil)
	require.NoError(t, err)
	for _, p := range m.Params() {
		d := p.Value().Data().F32()
		for i := range d {
			d[i] += 1
		}
	}
	after, err := f.Scores(words, nil)
	require.NoError(t, err)
	assert.Equal(t, before, after)
	changed, err := m.Freeze().Scores(words, nil)
	require.NoError(t, err)
	assert.NotEqual(t, before, changed)
}

// TestRefineWithEqualsRefine plays greedy refinements of many random
// prompts through the graph and through the frozen snapshot: the same
// deletions, in the same order, with the same probabilities (to float
// rounding).
func TestRefineWithEqualsRefine(t *testing.T) {
	m, err := New(DefaultConfig(32, 16), 3)
	require.NoError(t, err)
	vocab := make([]string, 60)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("w%d", i)
	}
	text := randomVectors(vocab, 32, 4)
	f := m.Freeze()
	rng := rand.New(rand.NewPCG(5, 6))
	ctx := context.Background()
	deleted := 0
	for trial := range 40 {
		n := 1 + rng.IntN(50)
		words := make([]string, n)
		for i := range words {
			words[i] = vocab[rng.IntN(len(vocab))]
		}
		x := make([]float32, 16)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		s0 := strings.Join(words, " ")
		want, err := Refine(ctx, m, text, s0, column(x...), 10)
		require.NoError(t, err)
		got, err := RefineWith(ctx, f, text, s0, x, 10)
		require.NoError(t, err)
		require.Equal(t, want.Final, got.Final, "trial %d", trial)
		// A context-free embedder is asked once per refinement.
		before := text.calls.Load()
		once, err := RefineWith(ctx, f, contextFree{text}, s0, x, 10)
		require.NoError(t, err)
		assert.Equal(t, got, once, "trial %d", trial)
		asked := int64(1)
		if n == 1 {
			asked = 0 // nothing to delete
		}
		assert.Equal(t, asked, text.calls.Load()-before)
		require.Len(t, got.Deletions, len(want.Deletions))
		for i := range want.Deletions {
			w, g := want.Deletions[i], got.Deletions[i]
			assert.Equal(t, w.Index, g.Index)
			assert.Equal(t, w.StateIndex, g.StateIndex)
			assert.Equal(t, w.Word, g.Word)
			assert.InDelta(t, w.Prob, g.Prob, 1e-5*w.Prob+1e-9)
		}
		deleted += len(got.Deletions)
	}
	assert.Greater(t, deleted, 100)
}

func TestRefineWithErrors(t *testing.T) {
	m, err := New(Config{WordDim: 4, PatientDim: 0, Hidden: 3, Layers: 2}, 1)
	require.NoError(t, err)
	text := randomVectors([]string{"a", "b"}, 4, 1)
	_, err = RefineWith(context.Background(), m.Freeze(), text, "  ", nil, 3)
	assert.ErrorIs(t, err, ErrEmptyPrompt)
	_, err = RefineWith(context.Background(), m.Freeze(), text, "a b", nil, -1)
	assert.Error(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = RefineWith(ctx, m.Freeze(), text, "a b", nil, 3)
	assert.ErrorIs(t, err, context.Canceled)
	wrong := randomVectors([]string{"a", "b"}, 5, 1)
	_, err = RefineWith(context.Background(), m.Freeze(), wrong, "a b", nil, 3)
	assert.ErrorIs(t, err, ErrShape)
}

// contextFree declares the static test encoder context-free (its vectors
// are per word).
type contextFree struct{ *staticText }

func (contextFree) ContextFree() bool { return true }
