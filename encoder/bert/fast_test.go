package bert

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fastTolerance is the largest max |fast - cybertron| accepted on hidden
// states: both run in float32, in different summation orders.
const fastTolerance = 1e-5

func randomModel(t testing.TB, cfg Config, seed uint64) *Model {
	t.Helper()
	vocab := make([]string, cfg.VocabSize)
	copy(vocab, []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"})
	for i := 5; i < len(vocab); i++ {
		vocab[i] = fmt.Sprintf("w%d", i)
	}
	m, err := NewRandom(cfg, DefaultTokenizerConfig(), vocab, rand.New(rand.NewPCG(seed, 1)), Options{})
	require.NoError(t, err)
	return m
}

func randomIDs(rng *rand.Rand, n, vocab int) []int {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = 5 + rng.IntN(vocab-5)
	}
	ids[0] = 2
	if n > 1 {
		ids[n-1] = 3
	}
	return ids
}

func maxDiff(a, b [][]float32) float64 {
	var d float64
	for i := range a {
		for j := range a[i] {
			d = max(d, math.Abs(float64(a[i][j])-float64(b[i][j])))
		}
	}
	return d
}

func tinyConfig(act string) Config {
	return Config{
		ModelType: "bert", HiddenSize: 48, NumHiddenLayers: 3, NumAttentionHeads: 4,
		IntermediateSize: 100, HiddenAct: act, MaxPositionEmbeddings: 64, TypeVocabSize: 2,
		VocabSize: 200, LayerNormEps: 1e-12, PositionEmbeddingType: "absolute",
	}
}

func TestFastMatchesCybertron(t *testing.T) {
	ctx := context.Background()
	for _, act := range []string{"gelu", "gelu_new", "relu"} {
		t.Run(act, func(t *testing.T) {
			cfg := tinyConfig(act)
			fast := randomModel(t, cfg, 3)
			ref := fast.WithForward(ForwardCybertron)
			rng := rand.New(rand.NewPCG(4, 5))
			// Lengths around the kernel's 6×16 tiles and a single token.
			batch := [][]int{randomIDs(rng, 1, cfg.VocabSize), randomIDs(rng, 7, cfg.VocabSize),
				randomIDs(rng, 17, cfg.VocabSize), randomIDs(rng, 64, cfg.VocabSize)}
			for layer := 0; layer <= cfg.NumHiddenLayers; layer++ {
				got, err := fast.HiddenStatesBatch(ctx, batch, layer)
				require.NoError(t, err)
				require.Len(t, got, len(batch))
				for s, ids := range batch {
					want, err := ref.HiddenStatesIDs(ctx, ids, layer)
					require.NoError(t, err)
					require.Len(t, got[s], len(ids))
					d := maxDiff(got[s], want)
					assert.Less(t, d, fastTolerance, "layer %d sentence %d", layer, s)
					one, err := fast.HiddenStatesIDs(ctx, ids, layer)
					require.NoError(t, err)
					assert.Less(t, maxDiff(one, want), fastTolerance, "layer %d sentence %d alone", layer, s)
				}
			}
		})
	}
}

// TestFastMatchesCybertronBertBase checks one forward of bert-base's layer
// shape (hidden 768, 12 heads, 3072 intermediate) on 128 tokens, two
// layers deep, with a small vocabulary to keep the build quick.
func TestFastMatchesCybertronBertBase(t *testing.T) {
	if testing.Short() {
		t.Skip("bert-base-sized forward")
	}
	cfg := BaseConfig()
	cfg.NumHiddenLayers, cfg.VocabSize = 2, 1000
	fast := randomModel(t, cfg, 7)
	ids := randomIDs(rand.New(rand.NewPCG(8, 9)), 128, cfg.VocabSize)
	ctx := context.Background()
	got, err := fast.HiddenStatesIDs(ctx, ids, 2)
	require.NoError(t, err)
	want, err := fast.WithForward(ForwardCybertron).HiddenStatesIDs(ctx, ids, 2)
	require.NoError(t, err)
	d := maxDiff(got, want)
	t.Logf("bert-base shape, 128 tokens, layer 2: max |fast - cybertron| = %.3g", d)
	assert.Less(t, d, fastTolerance)
}

func TestFastConcurrent(t *testing.T) {
	cfg := tinyConfig("gelu")
	m := randomModel(t, cfg, 11)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 1))
	inputs := make([][]int, 8)
	wants := make([][][]float32, len(inputs))
	for i := range inputs {
		inputs[i] = randomIDs(rng, 5+7*i, cfg.VocabSize)
		w, err := m.HiddenStatesIDs(ctx, inputs[i], 2)
		require.NoError(t, err)
		wants[i] = w
	}
	var wg sync.WaitGroup
	errs := make([]error, len(inputs))
	for i := range inputs {
		wg.Go(func() {
			got, err := m.HiddenStatesIDs(ctx, inputs[i], 2)
			if err == nil && maxDiff(got, wants[i]) != 0 {
				err = fmt.Errorf("input %d: concurrent result differs", i)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		assert.NoError(t, err)
	}
}

func TestBatchErrors(t *testing.T) {
	cfg := tinyConfig("gelu")
	m := randomModel(t, cfg, 1)
	ctx := context.Background()
	_, err := m.HiddenStatesBatch(ctx, [][]int{{2, 3}, {}}, 1)
	assert.ErrorContains(t, err, "sentence 1")
	_, err = m.HiddenStatesBatch(ctx, [][]int{{2, 999}}, 1)
	assert.ErrorContains(t, err, "outside the vocabulary")
	_, err = m.HiddenStatesBatch(ctx, [][]int{{2, 3}}, 9)
	assert.ErrorIs(t, err, ErrBadLayer)
	out, err := m.HiddenStatesBatch(ctx, nil, 1)
	require.NoError(t, err)
	assert.Empty(t, out)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = m.HiddenStatesBatch(cctx, [][]int{{2, 3}}, 1)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, "fast", ForwardFast.String())
	assert.Equal(t, "cybertron", ForwardCybertron.String())
	_, err = m.WithForward(Forward(7)).HiddenStatesBatch(ctx, [][]int{{2, 3}}, 1)
	assert.ErrorIs(t, err, ErrUnsupported)
	_, err = NewRandom(cfg, DefaultTokenizerConfig(), make([]string, cfg.VocabSize), rand.New(rand.NewPCG(1, 1)),
		Options{Forward: Forward(7)})
	assert.ErrorIs(t, err, ErrUnsupported)
}

func TestEncodeBatchMatchesEncode(t *testing.T) {
	spec := defaultTinySpec()
	m, _ := loadTiny(t, spec, "F32", Options{})
	ctx := context.Background()
	texts := []string{sampleText, "blood pressure", "the risk of pre-eclampsia was high at 30 weeks"}
	batch, err := m.EncodeBatch(ctx, texts)
	require.NoError(t, err)
	require.Len(t, batch, len(texts))
	for i, text := range texts {
		one, err := m.Encode(ctx, text)
		require.NoError(t, err)
		assert.Equal(t, one.Tokens, batch[i].Tokens)
		assert.Equal(t, one.Special, batch[i].Special)
		assert.Less(t, maxDiff(one.Vectors, batch[i].Vectors), 1e-6, "text %d", i)
	}
}

func TestFastChunksLargeBatches(t *testing.T) {
	cfg := tinyConfig("gelu")
	m := randomModel(t, cfg, 13)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(2, 3))
	// 70 sentences of up to 64 tokens: more than one chunk of chunkTokens.
	batch := make([][]int, 70)
	total := 0
	for i := range batch {
		batch[i] = randomIDs(rng, 1+rng.IntN(cfg.MaxPositionEmbeddings), cfg.VocabSize)
		total += len(batch[i])
	}
	require.Greater(t, total, chunkTokens)
	got, err := m.HiddenStatesBatch(ctx, batch, 2)
	require.NoError(t, err)
	for s, ids := range batch {
		one, err := m.HiddenStatesIDs(ctx, ids, 2)
		require.NoError(t, err)
		require.Len(t, got[s], len(ids))
		assert.Less(t, maxDiff(got[s], one), 1e-6, "sentence %d", s)
	}
}
