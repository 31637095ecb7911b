package bert

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/nlpodyssey/spago/nn/linear"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sampleText uses the last vocabulary row ("zebra"), subwords, an accent,
// a hyphen, CJK and an unknown word.
const sampleText = "The patient, high-dose Café zebra: unbelievable pre-eclampsia 中文 xyzzy (30%)!"

func loadTiny(t testing.TB, spec tinySpec, format string, opts Options) (*Model, map[string][]float32) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tiny-bert")
	w := writeTiny(t, dir, spec, format, 1)
	m, err := Load(context.Background(), dir, opts)
	require.NoError(t, err)
	return m, w
}

func TestForwardMatchesReference(t *testing.T) {
	spec := defaultTinySpec()
	m, w := loadTiny(t, spec, "F32", Options{})
	ctx := context.Background()
	ids := m.Tokenizer().Tokenize(sampleText).IDs
	require.Contains(t, ids, len(tinyVocab)-1, "the sample must use the last vocabulary row")

	ref := refForward(w, spec, ids, refOpts{eps: spec.eps, erfGELU: true})
	stock := refForward(w, spec, ids, refOpts{eps: 1e-5, erfGELU: false}) // cybertron's own numerics
	for layer := 0; layer <= spec.layers; layer++ {
		got, err := m.HiddenStatesIDs(ctx, ids, layer)
		require.NoError(t, err)
		require.Len(t, got, len(ids))
		d := maxAbsDiff(got, ref[layer])
		assert.Less(t, d, 1e-5, "layer %d: max |cybertron - HF reference|", layer)
		t.Logf("layer %d: max |go - reference| = %.2g, stock cybertron numerics would differ by %.2g",
			layer, d, maxAbsDiff(got, stock[layer]))
	}
	// The check is sensitive: HF numerics and cybertron's stock numerics
	// (eps 1e-5, tanh GELU) differ far beyond the tolerance.
	assert.Greater(t, maxAbsDiff(toF32(ref[spec.layers]), stock[spec.layers]), 1e-4)
}

func toF32(x [][]float64) [][]float32 {
	out := make([][]float32, len(x))
	for i, r := range x {
		out[i] = make([]float32, len(r))
		for j, v := range r {
			out[i][j] = float32(v)
		}
	}
	return out
}

func TestWeightFormatsAgree(t *testing.T) {
	spec := defaultTinySpec()
	ctx := context.Background()
	f32, _ := loadTiny(t, spec, "F32", Options{})
	ids := f32.Tokenizer().Tokenize(sampleText).IDs
	want, err := f32.HiddenStatesIDs(ctx, ids, spec.layers)
	require.NoError(t, err)

	t.Run("pytorch_model.bin", func(t *testing.T) {
		// bert.-prefixed names, a transposed (strided) tensor, biases sharing
		// one storage, and an int64 buffer.
		s := spec
		s.prefix = "bert."
		bin, stored := loadTiny(t, s, "bin", Options{})
		got, err := bin.HiddenStatesIDs(ctx, ids, spec.layers)
		require.NoError(t, err)
		assert.Equal(t, want, got, "pytorch_model.bin and F32 safetensors must agree exactly")
		assert.True(t, bin.HasPooler())
		pooler := bin.Cybertron().Pooler.Model[0].(*linear.Model).W.Value().Data().F32()
		assert.Equal(t, stored["pooler.dense.weight"], pooler, "the transposed view must be gathered")
	})
	t.Run("gamma/beta names", func(t *testing.T) {
		// TF-converted checkpoints name LayerNorm parameters gamma and beta.
		dir := filepath.Join(t.TempDir(), "tf")
		writeTiny(t, dir, spec, "F32", 1)
		ts := randomWeights(spec, len(tinyVocab), 1)
		for i := range ts {
			ts[i].name = strings.Replace(ts[i].name, "LayerNorm.weight", "LayerNorm.gamma", 1)
			ts[i].name = "bert." + strings.Replace(ts[i].name, "LayerNorm.bias", "LayerNorm.beta", 1)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, SafetensorsFile), encodeSafetensors(ts, "F32", nil), 0o644))
		m, err := Load(ctx, dir, Options{})
		require.NoError(t, err)
		got, err := m.HiddenStatesIDs(ctx, ids, spec.layers)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	})
	t.Run("pytorch_model.bin half", func(t *testing.T) {
		// cybertron's converter silently skips HalfStorage tensors (they stay
		// zero); here they load, rounded as torch stores them.
		dir := filepath.Join(t.TempDir(), "half")
		stored := writeTiny(t, dir, spec, "F16", 1) // for the rounded weights and the other files
		require.NoError(t, os.Remove(filepath.Join(dir, SafetensorsFile)))
		entries, storages := torchStateDict(randomWeights(spec, len(tinyVocab), 1), "")
		for k, st := range storages {
			if st.class == "FloatStorage" {
				st.class = "HalfStorage"
				storages[k] = st
			}
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, PytorchFile), encodeTorchZip(entries, storages), 0o644))
		m, err := Load(ctx, dir, Options{})
		require.NoError(t, err)
		got, err := m.HiddenStatesIDs(ctx, ids, spec.layers)
		require.NoError(t, err)
		ref := refForward(stored, spec, ids, refOpts{eps: spec.eps, erfGELU: true})
		assert.Less(t, maxAbsDiff(got, ref[spec.layers]), 1e-5)
	})
	for _, tc := range []struct {
		dtype string
		tol   float64 // vs the F32 model: the format's precision
	}{{"F16", 2e-2}, {"BF16", 2e-1}} {
		t.Run(tc.dtype, func(t *testing.T) {
			m, stored := loadTiny(t, spec, tc.dtype, Options{})
			got, err := m.HiddenStatesIDs(ctx, ids, spec.layers)
			require.NoError(t, err)
			// Exact decoding: the model equals the reference run on the
			// rounded weights.
			ref := refForward(stored, spec, ids, refOpts{eps: spec.eps, erfGELU: true})
			assert.Less(t, maxAbsDiff(got, ref[spec.layers]), 1e-5)
			d := maxAbsDiff(got, toF64(want))
			assert.Less(t, d, tc.tol)
			assert.Greater(t, d, 0.0, "rounding must show")
			t.Logf("%s vs F32: max |diff| = %.3g", tc.dtype, d)
		})
	}
}

func toF64(x [][]float32) [][]float64 {
	out := make([][]float64, len(x))
	for i, r := range x {
		out[i] = make([]float64, len(r))
		for j, v := range r {
			out[i][j] = float64(v)
		}
	}
	return out
}

func TestLayerSelection(t *testing.T) {
	spec := defaultTinySpec()
	spec.layers = 3
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "tiny-bert")
	w := writeTiny(t, dir, spec, "F32", 2)

	full, err := Load(ctx, dir, Options{})
	require.NoError(t, err)
	assert.Equal(t, "tiny-bert/layer-3", full.Name())
	assert.Equal(t, 32, full.Dim())
	tok := full.Tokenizer().Tokenize(sampleText)

	// A full run through cybertron's own API gives the last layer.
	var all [][]float32
	for _, x := range full.Cybertron().EncodeTokens(tok.Tokens) {
		all = append(all, x.Value().Data().F32())
	}
	last, err := full.Encode(ctx, sampleText)
	require.NoError(t, err)
	// Equal up to float32 rounding: cybertron sums word+position+type,
	// this package word+type+position as HuggingFace does.
	assert.Less(t, maxAbsDiff(last.Vectors, toF64(all)), 1e-5, "stopping at the last layer equals cybertron's full EncodeTokens")

	ref := refForward(w, spec, tok.IDs, refOpts{eps: spec.eps, erfGELU: true})
	for k := 0; k <= spec.layers; k++ {
		m, err := Load(ctx, dir, Options{Layer: LayerOf(k)})
		require.NoError(t, err)
		assert.Equal(t, "tiny-bert/layer-"+strconv.Itoa(k), m.Name())
		enc, err := m.Encode(ctx, sampleText)
		require.NoError(t, err)
		hs, err := full.HiddenStates(ctx, sampleText, k)
		require.NoError(t, err)
		assert.Equal(t, hs.Vectors, enc.Vectors, "layer %d: Encode of a layer-%d model equals HiddenStates(%d)", k, k, k)
		assert.Less(t, maxAbsDiff(enc.Vectors, ref[k]), 1e-5, "layer %d of a full reference run", k)
	}
	if k := 1; true {
		a, _ := full.HiddenStates(ctx, sampleText, k)
		b, _ := full.HiddenStates(ctx, sampleText, k+1)
		assert.NotEqual(t, a.Vectors, b.Vectors)
	}
	_, err = Load(ctx, dir, Options{Layer: LayerOf(4)})
	assert.ErrorIs(t, err, ErrBadLayer)
	_, err = Load(ctx, dir, Options{Layer: LayerOf(-1)})
	assert.ErrorIs(t, err, ErrBadLayer)
	_, err = full.HiddenStates(ctx, "x", 4)
	assert.ErrorIs(t, err, ErrBadLayer)
}

func TestLastVocabRowLoaded(t *testing.T) {
	m, w := loadTiny(t, defaultTinySpec(), "F32", Options{})
	h := m.Dim()
	last := len(tinyVocab) - 1
	row := m.Cybertron().Embeddings.Tokens.Weights[last].Value().Data().F32()
	assert.Equal(t, w["embeddings.word_embeddings.weight"][last*h:(last+1)*h], row)
	assert.NotEqual(t, make([]float32, h), row)
}

func TestEncodedContract(t *testing.T) {
	m, _ := loadTiny(t, defaultTinySpec(), "F32", Options{})
	ctx := context.Background()
	text := "High-dose  Café\tunbelievable zebra"
	enc, err := m.Encode(ctx, text)
	require.NoError(t, err)
	assert.Equal(t, []string{"[CLS]", "high", "-", "dose", "cafe", "un", "##believ", "##able", "zebra", "[SEP]"}, enc.Tokens)
	assert.Equal(t, []int{-1, 0, 0, 0, 1, 2, 2, 2, 3, -1}, enc.WordOf)
	assert.Equal(t, []bool{true, false, false, false, false, false, false, false, false, true}, enc.Special)
	assert.Equal(t, 4, enc.NumWords)
	require.Len(t, enc.Vectors, len(enc.Tokens))
	for i, id := range enc.IDs {
		assert.Equal(t, tinyVocab[id], enc.Tokens[i])
		assert.Len(t, enc.Vectors[i], m.Dim())
	}
	wv := enc.WordVectors()
	require.Len(t, wv, 4)
	for j := range wv[2] {
		mean := (enc.Vectors[5][j] + enc.Vectors[6][j] + enc.Vectors[7][j]) / 3
		assert.InDelta(t, mean, wv[2][j], 1e-6)
		assert.Equal(t, enc.Vectors[8][j], wv[3][j])
	}

	empty, err := m.Encode(ctx, "")
	require.NoError(t, err)
	assert.Equal(t, []string{"[CLS]", "[SEP]"}, empty.Tokens)
	assert.Equal(t, 0, empty.NumWords)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = m.Encode(cancelled, text)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestLongTextTruncated(t *testing.T) {
	m, _ := loadTiny(t, defaultTinySpec(), "F32", Options{})
	words := make([]string, 700)
	for i := range words {
		words[i] = "blood"
	}
	words[699] = "zebra"
	text := strings.Join(words, " ")
	tok := m.Tokenizer().Tokenize(text)
	assert.True(t, tok.Truncated)
	assert.Len(t, tok.Tokens, 512)
	assert.Equal(t, "[SEP]", tok.Tokens[511])
	enc, err := m.Encode(context.Background(), text)
	require.NoError(t, err)
	assert.Len(t, enc.Vectors, 512)
	assert.Equal(t, 700, enc.NumWords)
	assert.Equal(t, 509, enc.WordOf[510])
	wv := enc.WordVectors()
	assert.Equal(t, make([]float32, m.Dim()), wv[699], "a truncated word has a zero vector")
}

func TestConcurrentEncode(t *testing.T) {
	m, _ := loadTiny(t, defaultTinySpec(), "F32", Options{})
	ctx := context.Background()
	texts := []string{sampleText, "blood pressure was high", "中文 zebra", "", "weeks of risk"}
	want := make([][][]float32, len(texts))
	for i, s := range texts {
		e, err := m.Encode(ctx, s)
		require.NoError(t, err)
		want[i] = e.Vectors
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for r := 0; r < 3; r++ {
				i := (g + r) % len(texts)
				e, err := m.Encode(ctx, texts[i])
				if err != nil {
					errs <- err.Error()
					return
				}
				for a := range e.Vectors {
					for b := range e.Vectors[a] {
						if math.Float32bits(e.Vectors[a][b]) != math.Float32bits(want[i][a][b]) {
							errs <- "concurrent result differs for " + texts[i]
							return
						}
					}
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestNewRandom(t *testing.T) {
	spec := defaultTinySpec()
	cfg := Config{
		ModelType: "bert", HiddenSize: spec.hidden, NumHiddenLayers: spec.layers, NumAttentionHeads: spec.heads,
		IntermediateSize: spec.inter, HiddenAct: "gelu", MaxPositionEmbeddings: 64, TypeVocabSize: 2,
		VocabSize: len(tinyVocab), LayerNormEps: 1e-12, PositionEmbeddingType: "absolute",
	}
	newRNG := func() *rand.Rand { return rand.New(rand.NewPCG(9, 9)) }
	a, err := NewRandom(cfg, DefaultTokenizerConfig(), tinyVocab, newRNG(), Options{Name: "rnd"})
	require.NoError(t, err)
	b, err := NewRandom(cfg, DefaultTokenizerConfig(), tinyVocab, newRNG(), Options{Layer: LayerOf(1)})
	require.NoError(t, err)
	assert.Equal(t, "rnd/layer-2", a.Name())
	assert.Equal(t, "random-bert/layer-1", b.Name())
	ctx := context.Background()
	ea, err := a.HiddenStates(ctx, sampleText, 1)
	require.NoError(t, err)
	eb, err := b.Encode(ctx, sampleText)
	require.NoError(t, err)
	assert.Equal(t, ea.Vectors, eb.Vectors, "same seed, same weights")
	long := strings.Repeat("blood ", 100)
	e, err := a.Encode(ctx, long)
	require.NoError(t, err)
	assert.Len(t, e.Tokens, 64, "truncated to max_position_embeddings")

	_, err = NewRandom(cfg, DefaultTokenizerConfig(), tinyVocab[:10], newRNG(), Options{})
	assert.ErrorIs(t, err, ErrBadVocab)
	cfg.HiddenAct = "swish"
	_, err = NewRandom(cfg, DefaultTokenizerConfig(), tinyVocab, newRNG(), Options{})
	assert.ErrorIs(t, err, ErrUnsupported)
}

func TestTokenizerConfigFromFile(t *testing.T) {
	spec := defaultTinySpec()
	spec.lower = false
	m, _ := loadTiny(t, spec, "F32", Options{})
	tc := m.Tokenizer().Config()
	assert.False(t, tc.DoLowerCase)
	assert.Nil(t, tc.StripAccents)
	assert.Equal(t, "[CLS]", tc.ClsToken, "AddedToken object form")
	assert.Equal(t, 0, tc.ModelMaxLength, "HF's 1e30 sentinel means no limit")
	assert.Equal(t, 512, m.Tokenizer().MaxLen())
	enc, err := m.Encode(context.Background(), "The zebra")
	require.NoError(t, err)
	assert.Equal(t, []string{"[CLS]", "[UNK]", "zebra", "[SEP]"}, enc.Tokens, "cased: \"The\" is not in the vocabulary")
}
