package bert

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tinyDir writes a valid F32 safetensors model and returns its directory.
func tinyDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "m")
	writeTiny(t, dir, defaultTinySpec(), "F32", 3)
	return dir
}

func TestMissingFiles(t *testing.T) {
	ctx := context.Background()
	for _, f := range []string{ConfigFile, VocabFile, SafetensorsFile} {
		dir := tinyDir(t)
		require.NoError(t, os.Remove(filepath.Join(dir, f)))
		_, err := Load(ctx, dir, Options{})
		require.ErrorIs(t, err, ErrMissingFile, f)
		assert.Contains(t, err.Error(), filepath.Dir(filepath.Join(dir, f)), "the error names the path")
	}
	// tokenizer_config.json is optional: HF's defaults apply.
	dir := tinyDir(t)
	require.NoError(t, os.Remove(filepath.Join(dir, TokenizerConfigFile)))
	m, err := Load(ctx, dir, Options{})
	require.NoError(t, err)
	assert.Equal(t, DefaultTokenizerConfig(), m.Tokenizer().Config())
	assert.Equal(t, 512, m.Tokenizer().MaxLen())

	dir = tinyDir(t)
	require.NoError(t, os.Rename(filepath.Join(dir, SafetensorsFile), filepath.Join(dir, SafetensorsFile+".index.json")))
	_, err = Load(ctx, dir, Options{})
	assert.ErrorIs(t, err, ErrUnsupported, "sharded checkpoints")
}

func TestBadConfigAndVocab(t *testing.T) {
	ctx := context.Background()
	edit := func(t *testing.T, file, old, new string) string {
		dir := tinyDir(t)
		p := filepath.Join(dir, file)
		raw, err := os.ReadFile(p)
		require.NoError(t, err)
		require.Contains(t, string(raw), old)
		require.NoError(t, os.WriteFile(p, []byte(strings.Replace(string(raw), old, new, 1)), 0o644))
		return dir
	}
	for _, tc := range []struct {
		name, file, old, new string
		want                 error
		msg                  string
	}{
		{"unsupported activation", ConfigFile, `"hidden_act": "gelu"`, `"hidden_act": "gelu_fast"`, ErrUnsupported, "gelu_fast"},
		{"roberta", ConfigFile, `"model_type": "bert"`, `"model_type": "roberta"`, ErrUnsupported, "roberta"},
		{"heads", ConfigFile, `"num_attention_heads": 4`, `"num_attention_heads": 5`, ErrBadConfig, "multiple"},
		{"relative positions", ConfigFile, `"position_embedding_type": "absolute"`, `"position_embedding_type": "relative_key"`, ErrUnsupported, "relative_key"},
		{"vocab size", ConfigFile, `"vocab_size": 60`, `"vocab_size": 61`, ErrBadVocab, "61"},
		{"vocab shorter", VocabFile, "zebra\n", "", ErrBadVocab, "59 entries"},
		{"no [SEP]", VocabFile, "[SEP]\n", "[SEP2]\n", ErrBadVocab, "sep_token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(ctx, edit(t, tc.file, tc.old, tc.new), Options{})
			require.ErrorIs(t, err, tc.want)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
	t.Run("json syntax", func(t *testing.T) {
		_, err := Load(ctx, edit(t, ConfigFile, `"model_type": "bert",`, `"model_type": "bert" oops`), Options{})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "line ")
		assert.Contains(t, err.Error(), ConfigFile)
	})
	t.Run("tokenizer config type", func(t *testing.T) {
		_, err := Load(ctx, edit(t, TokenizerConfigFile, `"do_lower_case": true`, `"do_lower_case": "yes"`), Options{})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "do_lower_case")
	})
}

// writeSafetensors replaces a model's weights with a corrupted image.
func writeSafetensors(t *testing.T, dir string, image []byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, SafetensorsFile), image, 0o644))
}

func TestBadSafetensors(t *testing.T) {
	ctx := context.Background()
	spec := defaultTinySpec()
	ts := randomWeights(spec, len(tinyVocab), 4)
	entry := func(h map[string]any, name string) map[string]any { return h[name].(map[string]any) }
	for _, tc := range []struct {
		name  string
		image func() []byte
		want  error
		msg   string
	}{
		{"shape lies", func() []byte {
			return encodeSafetensors(ts, "F32", func(h map[string]any) {
				entry(h, "embeddings.LayerNorm.bias")["shape"] = []int{33}
			})
		}, ErrBadWeights, "needs 132 bytes"},
		{"offsets past the end", func() []byte {
			return encodeSafetensors(ts, "F32", func(h map[string]any) {
				e := entry(h, "embeddings.position_ids")
				o := e["data_offsets"].([]int)
				e["data_offsets"] = []int{o[0] + 8, o[1] + 8}
			})
		}, ErrBadWeights, "outside the data area"},
		{"overlap", func() []byte {
			return encodeSafetensors(ts, "F32", func(h map[string]any) {
				a, b := entry(h, "embeddings.LayerNorm.weight"), entry(h, "embeddings.LayerNorm.bias")
				b["data_offsets"] = a["data_offsets"]
			})
		}, ErrBadWeights, "overlap"},
		{"unknown dtype", func() []byte {
			return encodeSafetensors(ts, "F32", func(h map[string]any) { entry(h, "pooler.dense.bias")["dtype"] = "F12" })
		}, ErrBadWeights, `unknown dtype "F12"`},
		{"integer weight", func() []byte {
			return encodeSafetensors(ts, "F32", func(h map[string]any) { entry(h, "pooler.dense.bias")["dtype"] = "I32" })
		}, ErrBadWeights, "dtype I32"},
		{"header length", func() []byte {
			img := encodeSafetensors(ts, "F32", nil)
			img[7] = 0x7f
			return img
		}, ErrBadWeights, "header length"},
		{"truncated", func() []byte {
			img := encodeSafetensors(ts, "F32", nil)
			return img[:len(img)-100]
		}, ErrBadWeights, "outside the data area"},
		{"tiny file", func() []byte { return []byte{1, 2, 3} }, ErrBadWeights, "shorter"},
		{"header not JSON", func() []byte {
			img := encodeSafetensors(ts, "F32", nil)
			img[8] = '['
			return img
		}, ErrBadWeights, "header"},
		{"shape disagrees with config", func() []byte {
			bad := append([]tensor(nil), ts...)
			bad[4] = tensor{bad[4].name, []int{16, 2}, bad[4].data} // LayerNorm bias as [16 2]
			return encodeSafetensors(bad, "F32", nil)
		}, ErrBadWeights, "config.json implies [32]"},
		{"NaN weight", func() []byte {
			bad := append([]tensor(nil), ts...)
			data := slices.Clone(bad[4].data)
			data[3] = float32(math.NaN())
			bad[4] = tensor{bad[4].name, bad[4].shape, data}
			return encodeSafetensors(bad, "F32", nil)
		}, ErrBadWeights, "holds NaN at index 3"},
		{"infinite weight", func() []byte {
			bad := append([]tensor(nil), ts...)
			data := slices.Clone(bad[0].data)
			data[0] = float32(math.Inf(-1))
			bad[0] = tensor{bad[0].name, bad[0].shape, data}
			return encodeSafetensors(bad, "F32", nil)
		}, ErrBadWeights, "holds -Inf at index 0"},
		{"missing tensor", func() []byte {
			var kept []tensor
			for _, x := range ts {
				if x.name != "encoder.layer.1.intermediate.dense.bias" {
					kept = append(kept, x)
				}
			}
			return encodeSafetensors(kept, "F32", nil)
		}, ErrMissingTensor, "encoder.layer.1.intermediate.dense.bias"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tinyDir(t)
			writeSafetensors(t, dir, tc.image())
			_, err := Load(ctx, dir, Options{})
			require.ErrorIs(t, err, tc.want)
			assert.Contains(t, err.Error(), tc.msg)
			assert.Contains(t, err.Error(), SafetensorsFile)
		})
	}
}

func TestBadPytorchBin(t *testing.T) {
	ctx := context.Background()
	spec := defaultTinySpec()
	dir := filepath.Join(t.TempDir(), "m")
	writeTiny(t, dir, spec, "bin", 5)
	p := filepath.Join(dir, PytorchFile)

	require.NoError(t, os.WriteFile(p, []byte("definitely not a zip file"), 0o644))
	_, err := Load(ctx, dir, Options{})
	require.ErrorIs(t, err, ErrBadWeights)
	assert.Contains(t, err.Error(), PytorchFile)

	// cybertron's downloader leaves an empty file behind on failure;
	// gopickle's legacy loader would loop forever on it.
	require.NoError(t, os.WriteFile(p, nil, 0o644))
	_, err = Load(ctx, dir, Options{})
	require.ErrorIs(t, err, ErrBadWeights)
	assert.Contains(t, err.Error(), "empty file")
	require.NoError(t, os.WriteFile(p, make([]byte, 2048), 0o644))
	_, err = Load(ctx, dir, Options{})
	require.ErrorIs(t, err, ErrBadWeights)

	ts := randomWeights(spec, len(tinyVocab), 5)
	entries, storages := torchStateDict(ts[:len(ts)-3], "")
	require.NoError(t, os.WriteFile(p, encodeTorchZip(entries, storages), 0o644))
	_, err = Load(ctx, dir, Options{})
	require.ErrorIs(t, err, ErrMissingTensor)
	assert.Contains(t, err.Error(), "encoder.layer.1.output.LayerNorm")

	// A view reaching past its storage.
	entries, storages = torchStateDict(ts, "")
	entries[0].offset = 10
	require.NoError(t, os.WriteFile(p, encodeTorchZip(entries, storages), 0o644))
	_, err = Load(ctx, dir, Options{})
	require.ErrorIs(t, err, ErrBadWeights)
	assert.Contains(t, err.Error(), "past its storage")

	// A storage whose record is shorter than the pickle claims.
	entries, storages = torchStateDict(ts, "")
	st := storages[entries[3].storage]
	st.numel = len(st.f32) + 1
	storages[entries[3].storage] = st
	require.NoError(t, os.WriteFile(p, encodeTorchZip(entries, storages), 0o644))
	_, err = Load(ctx, dir, Options{})
	require.ErrorIs(t, err, ErrBadWeights)
	assert.Contains(t, err.Error(), "the record has")

	// A dtype the pickle machine does not know.
	entries, storages = torchStateDict(ts, "")
	st = storages[entries[3].storage]
	st.class = "ComplexFloatStorage"
	storages[entries[3].storage] = st
	require.NoError(t, os.WriteFile(p, encodeTorchZip(entries, storages), 0o644))
	_, err = Load(ctx, dir, Options{})
	require.ErrorIs(t, err, ErrBadWeights)
	assert.Contains(t, err.Error(), "ComplexFloatStorage")
}

func FuzzParseSafetensors(f *testing.F) {
	ts := []tensor{{"a", []int{2, 2}, []float32{1, 2, 3, 4}}, {"b", []int{3}, []float32{5, 6, 7}}}
	for _, dt := range []string{"F32", "F16", "BF16"} {
		f.Add(encodeSafetensors(ts, dt, nil))
	}
	f.Add([]byte{})
	f.Add([]byte("\x02\x00\x00\x00\x00\x00\x00\x00{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := parseSafetensors(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		for _, name := range st.names() {
			shape, _ := st.shape(name)
			v, err := st.read(name)
			if err != nil {
				continue
			}
			n, _ := shapeNumel(shape)
			if int64(len(v)) != n {
				t.Fatalf("%s: %d values for shape %v", name, len(v), shape)
			}
		}
	})
}

func FuzzOpenTorch(f *testing.F) {
	small := []tensor{{"a.weight", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}}, {"a.bias", []int{2}, []float32{7, 8}}}
	entries, storages := torchStateDict(small, "")
	f.Add(encodeTorchZip(entries, storages))
	f.Add([]byte("PK\x03\x04"))
	path := filepath.Join(f.TempDir(), PytorchFile)
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		tf, err := openTorch(path)
		if err != nil {
			return
		}
		defer tf.close()
		for _, name := range tf.names() {
			v, err := tf.read(name)
			if err != nil {
				continue
			}
			shape, _ := tf.shape(name)
			if n, _ := shapeNumel(shape); int64(len(v)) != n {
				t.Fatalf("%s: %d values for shape %v", name, len(v), shape)
			}
		}
	})
}
