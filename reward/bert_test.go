package reward

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/encoder/bert"
)

// writeTinyBERT writes a random 2-layer BERT (hidden 16) in HuggingFace
// layout, weights as F32 safetensors, and returns its directory.
func writeTinyBERT(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	words := strings.Fields("the a of and with at in severe mild preeclampsia anemia delivery blood pressure cesarean weeks baby healthy bleeding after normal ##s ##ing . , ;")
	vocab := append([]string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}, words...)
	const hidden, inter, layers, maxPos = 16, 32, 2, 64
	cfg := map[string]any{
		"architectures": []string{"BertModel"}, "model_type": "bert", "hidden_size": hidden,
		"num_hidden_layers": layers, "num_attention_heads": 2, "intermediate_size": inter,
		"hidden_act": "gelu", "max_position_embeddings": maxPos, "type_vocab_size": 2,
		"vocab_size": len(vocab), "layer_norm_eps": 1e-12, "pad_token_id": 0,
	}
	raw, err := json.Marshal(cfg)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte(strings.Join(vocab, "\n")+"\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tokenizer_config.json"),
		[]byte(`{"do_lower_case": true, "model_max_length": 64}`), 0o644))

	rng := rand.New(rand.NewPCG(3, 5))
	type tensor struct {
		name  string
		shape []int
	}
	var ts []tensor
	add := func(name string, shape ...int) { ts = append(ts, tensor{name, shape}) }
	add("embeddings.word_embeddings.weight", len(vocab), hidden)
	add("embeddings.position_embeddings.weight", maxPos, hidden)
	add("embeddings.token_type_embeddings.weight", 2, hidden)
	add("embeddings.LayerNorm.weight", hidden)
	add("embeddings.LayerNorm.bias", hidden)
	for i := range layers {
		p := fmt.Sprintf("encoder.layer.%d.", i)
		for _, proj := range []string{"query", "key", "value"} {
			add(p+"attention.self."+proj+".weight", hidden, hidden)
			add(p+"attention.self."+proj+".bias", hidden)
		}
		add(p+"attention.output.dense.weight", hidden, hidden)
		add(p+"attention.output.dense.bias", hidden)
		add(p+"attention.output.LayerNorm.weight", hidden)
		add(p+"attention.output.LayerNorm.bias", hidden)
		add(p+"intermediate.dense.weight", inter, hidden)
		add(p+"intermediate.dense.bias", inter)
		add(p+"output.dense.weight", hidden, inter)
		add(p+"output.dense.bias", hidden)
		add(p+"output.LayerNorm.weight", hidden)
		add(p+"output.LayerNorm.bias", hidden)
	}
	header := map[string]any{}
	var data []byte
	for _, tn := range ts {
		n := 1
		for _, d := range tn.shape {
			n *= d
		}
		begin := len(data)
		for range n {
			x := 0.3 * rng.NormFloat64()
			if strings.HasSuffix(tn.name, "LayerNorm.weight") {
				x += 1
			}
			data = binary.LittleEndian.AppendUint32(data, math.Float32bits(float32(x)))
		}
		header[tn.name] = map[string]any{"dtype": "F32", "shape": tn.shape, "data_offsets": []int{begin, len(data)}}
	}
	hdr, err := json.Marshal(header)
	require.NoError(t, err)
	for len(hdr)%8 != 0 {
		hdr = append(hdr, ' ')
	}
	file := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	file = append(append(file, hdr...), data...)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "model.safetensors"), file, 0o644))
	return dir
}

var tinyCands = []string{
	"Severe preeclampsia with blood pressure at 34 weeks; cesarean delivery.",
	"Mild anemia after delivery.",
	"Normal delivery, healthy baby.",
}

var tinyRefs = [][]string{
	{"Preeclampsia, severe; cesarean at 34 weeks for blood pressure."},
	{"Anemia, mild, after bleeding.", "Bleeding after delivery."},
	{"A healthy baby after normal delivery.", "Normal delivery."},
}

// TestBERTScoreTinyBERT runs BERTScore over the hidden states of a tiny
// random BERT (layer 1 of 2, [CLS]/[SEP] included, [UNK] for unknown words)
// and checks it against the independent gonum computation.
func TestBERTScoreTinyBERT(t *testing.T) {
	ctx := context.Background()
	m, err := bert.Load(ctx, writeTinyBERT(t), bert.Options{Layer: bert.LayerOf(1), Name: "tiny-bert"})
	require.NoError(t, err)
	e, err := m.Encode(ctx, tinyCands[0])
	require.NoError(t, err)
	require.Equal(t, "[CLS]", e.Tokens[0])
	require.True(t, e.Special[0] && e.Special[len(e.Special)-1])
	require.Contains(t, e.Tokens, "[UNK]")
	for _, idf := range []bool{false, true} {
		t.Run(fmt.Sprintf("idf=%v", idf), func(t *testing.T) {
			s := NewBERTScorer(m, BERTScoreOptions{IDF: idf})
			got, err := s.Score(ctx, tinyCands, tinyRefs)
			require.NoError(t, err)
			assert.Equal(t, "tiny-bert/layer-1", got.Embedder)
			want := independentBERTScore(t, m, tinyCands, tinyRefs, idf, nil)
			for i := range want {
				assert.InDelta(t, want[i].P, got.Pairs[i].P, 1e-9, "pair %d", i)
				assert.InDelta(t, want[i].R, got.Pairs[i].R, 1e-9, "pair %d", i)
				assert.InDelta(t, want[i].F, got.Pairs[i].F, 1e-9, "pair %d", i)
			}
		})
	}
	// An empty candidate is [CLS] [SEP] only: 0 and a warning.
	got, err := NewBERTScorer(m, BERTScoreOptions{}).Score(ctx, []string{"  "}, [][]string{{"mild anemia"}})
	require.NoError(t, err)
	assert.Equal(t, Score{}, got.Pairs[0])
	require.Len(t, got.Warnings, 1)
	assert.True(t, slices.ContainsFunc(got.Warnings, func(w string) bool { return strings.Contains(w, "empty candidate") }))
}

func BenchmarkBERTScoreTinyBERT(b *testing.B) {
	ctx := context.Background()
	m, err := bert.Load(ctx, writeTinyBERT(b), bert.Options{Layer: bert.LayerOf(1)})
	if err != nil {
		b.Fatal(err)
	}
	s := NewBERTScorer(m, BERTScoreOptions{})
	for b.Loop() {
		if _, err := s.Score(ctx, tinyCands, tinyRefs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(tinyCands))/b.Elapsed().Seconds(), "pairs/s")
}
