package lm

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDecoderMatchesTrainingForward checks that the KV-cached decoder used
// for generation computes the same probabilities as the training forward.
func TestDecoderMatchesTrainingForward(t *testing.T) {
	m, err := New(tinyConfig(), tinyVocab(t), 1)
	require.NoError(t, err)
	randomize(m, 5)
	seq := m.example("diagnosis: diabetes", "Check glucose 6 weeks.")
	ws := newWorkspace(m.cfg)
	pm := new(packedModel)
	pm.pack(m.cfg, m.lay, m.params, false)
	want := lossAndGrad(ws, m.params, nil, m.lay, pm, seq, 1, false)

	d := newDecoder(m)
	logits := d.forward(seq.ids[:seq.start+1])
	var got float64
	for t := seq.start + 1; t < len(seq.ids); t++ {
		got -= logSoftmaxAt(logits, seq.ids[t])
		if t+1 < len(seq.ids) {
			logits = d.forward(seq.ids[t : t+1])
		}
	}
	assert.InDelta(t, want, got, 1e-3*math.Abs(want))
}

// memorize trains a small model on two prompt/reply pairs that differ
// only in the diagnosis word.
func memorize(t *testing.T, workers int) (*Model, Report) {
	t.Helper()
	train := []Example{
		{"Discharge diagnosis: gestational diabetes.", "Check your glucose six weeks after delivery."},
		{"Discharge diagnosis: normal.", "Routine care; come to the 42-day check."},
	}
	var texts []string
	for _, e := range train {
		texts = append(texts, e.Prompt, e.Reply)
	}
	v, err := NewVocabulary(texts, 1)
	require.NoError(t, err)
	m, err := New(Config{Dim: 32, Heads: 2, Layers: 1, Hidden: 64, Context: 48, MaxPrompt: 16}, v, 7)
	require.NoError(t, err)
	rep, err := Train(context.Background(), m, append(append([]Example{}, train...), train...), TrainOptions{
		Seed: 3, Epochs: 60, BatchSize: 4, LearningRate: 1e-2, Workers: workers, Validation: train,
	})
	require.NoError(t, err)
	return m, rep
}

func TestTrainLearnsAndIsWordingSensitive(t *testing.T) {
	m, rep := memorize(t, 2)
	require.Len(t, rep.TrainLoss, 60)
	assert.Less(t, rep.TrainLoss[59], rep.TrainLoss[0]/10)
	assert.Less(t, rep.ValidationPerplexity[59], 1.2)
	ctx := context.Background()
	g, err := m.Generate(ctx, "Discharge diagnosis: gestational diabetes.", GenerateOptions{})
	require.NoError(t, err)
	assert.Equal(t, "Check your glucose six weeks after delivery.", g.Text)
	assert.True(t, g.Finished)
	g, err = m.Generate(ctx, "Discharge diagnosis: normal.", GenerateOptions{})
	require.NoError(t, err)
	assert.Equal(t, "Routine care; come to the 42-day check.", g.Text)
	b, err := m.Generate(ctx, "Discharge diagnosis: normal.", GenerateOptions{Beam: 3})
	require.NoError(t, err)
	assert.Equal(t, g.Text, b.Text)
	short, err := m.Generate(ctx, "Discharge diagnosis: normal.", GenerateOptions{MaxTokens: 2})
	require.NoError(t, err)
	assert.Equal(t, 2, short.Tokens)
	assert.False(t, short.Finished)
}

// TestTrainReproducible: the same seed gives bitwise equal weights, for any
// number of workers.
func TestTrainReproducible(t *testing.T) {
	a, _ := memorize(t, 1)
	b, _ := memorize(t, 3)
	require.Equal(t, a.params, b.params)
}

func TestGenerateCancelled(t *testing.T) {
	m, err := New(tinyConfig(), tinyVocab(t), 1)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = m.Generate(ctx, "diagnosis", GenerateOptions{})
	require.ErrorIs(t, err, context.Canceled)
	_, err = m.Generate(ctx, "diagnosis", GenerateOptions{Beam: 2})
	require.ErrorIs(t, err, context.Canceled)
	_, err = m.Generate(context.Background(), "diagnosis", GenerateOptions{MaxTokens: -1})
	require.Error(t, err)
}

func TestLongPromptKeepsHeadAndTail(t *testing.T) {
	m, err := New(tinyConfig(), tinyVocab(t), 1)
	require.NoError(t, err)
	ids := m.promptIDs("Discharge diagnosis diagnosis diagnosis diagnosis diagnosis diagnosis diagnosis diagnosis diagnosis check")
	require.Len(t, ids, m.cfg.MaxPrompt+2)
	assert.Equal(t, "Discharge", m.vocab.Decode(ids[1:2]))
	assert.Equal(t, "check", m.vocab.Decode(ids[len(ids)-2:len(ids)-1]))
	// The reply always has room.
	seq := m.example("Discharge diagnosis diagnosis diagnosis diagnosis diagnosis diagnosis diagnosis diagnosis diagnosis",
		"Check glucose 6 weeks after delivery. Check glucose 6 weeks after delivery.")
	assert.LessOrEqual(t, len(seq.ids), m.cfg.Context+1)
	assert.Positive(t, seq.targets())
}

func TestSaveLoadRoundTrip(t *testing.T) {
	m, err := New(tinyConfig(), tinyVocab(t), 1)
	require.NoError(t, err)
	randomize(m, 9)
	dir := filepath.Join(t.TempDir(), "model")
	info := Info{Mode: "general", Seed: 3, Epochs: 2, Examples: 10, ValidationPerplexity: 3.5}
	require.NoError(t, m.Save(dir, info))
	got, gotInfo, err := Load(dir)
	require.NoError(t, err)
	assert.Equal(t, info, gotInfo)
	assert.Equal(t, m.params, got.params)
	assert.Equal(t, m.cfg, got.cfg)
	assert.Equal(t, m.vocab.Pieces(), got.vocab.Pieces())
	ctx := context.Background()
	g1, err := m.Generate(ctx, "diagnosis: diabetes", GenerateOptions{MaxTokens: 8})
	require.NoError(t, err)
	g2, err := got.Generate(ctx, "diagnosis: diabetes", GenerateOptions{MaxTokens: 8})
	require.NoError(t, err)
	assert.Equal(t, g1, g2)
	require.Error(t, m.Save(filepath.Join(t.TempDir(), "nan"), Info{ValidationPerplexity: math.NaN()}))
	// Saving again over a model directory replaces it; the bytes are the
	// same (no timestamps).
	before := readAll(t, dir)
	require.NoError(t, m.Save(dir, info))
	assert.Equal(t, before, readAll(t, dir))
}

func readAll(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		out[e.Name()] = b
	}
	return out
}

func TestSaveRefusesToReplaceOtherData(t *testing.T) {
	m, err := New(tinyConfig(), tinyVocab(t), 1)
	require.NoError(t, err)
	dir := t.TempDir()
	data := filepath.Join(dir, "patients.csv")
	require.NoError(t, os.WriteFile(data, []byte("patient_id\n"), 0o600))
	require.ErrorIs(t, m.Save(dir, Info{}), ErrModelDir)
	require.ErrorIs(t, m.Save(data, Info{}), ErrModelDir)
	b, err := os.ReadFile(data)
	require.NoError(t, err)
	assert.Equal(t, "patient_id\n", string(b))
	// A model directory with a stranger file in it is not replaced either.
	model := filepath.Join(dir, "model")
	require.NoError(t, m.Save(model, Info{}))
	require.NoError(t, os.WriteFile(filepath.Join(model, "notes.txt"), []byte("x"), 0o600))
	require.ErrorIs(t, m.Save(model, Info{}), ErrModelDir)
}

func TestLoadRefusesDamagedModels(t *testing.T) {
	m, err := New(tinyConfig(), tinyVocab(t), 1)
	require.NoError(t, err)
	src := filepath.Join(t.TempDir(), "model")
	require.NoError(t, m.Save(src, Info{Mode: "general"}))
	cases := map[string]func(dir string){
		"flipped weight byte": func(dir string) { flip(t, filepath.Join(dir, fileWeights), 100) },
		"truncated weights":   func(dir string) { truncate(t, filepath.Join(dir, fileWeights), 50) },
		"flipped vocab byte":  func(dir string) { flip(t, filepath.Join(dir, fileVocab), 20) },
		"missing vocab":       func(dir string) { require.NoError(t, os.Remove(filepath.Join(dir, fileVocab))) },
		"edited manifest":     func(dir string) { replaceIn(t, filepath.Join(dir, fileManifest), `"general"`, `"finetune"`) },
		"edited shape":        func(dir string) { replaceIn(t, filepath.Join(dir, fileManifest), `"heads": 2`, `"heads": 4`) },
		"not json":            func(dir string) { writeFile(t, filepath.Join(dir, fileManifest), "{") },
		"missing manifest":    func(dir string) { require.NoError(t, os.Remove(filepath.Join(dir, fileManifest))) },
	}
	for name, damage := range cases {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "copy")
			require.NoError(t, os.CopyFS(dir, os.DirFS(src)))
			damage(dir)
			_, _, err := Load(dir)
			require.ErrorIs(t, err, ErrModelDir)
		})
	}
	_, _, err = Load(filepath.Join(t.TempDir(), "absent"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func flip(t *testing.T, path string, at int) {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	b[at%len(b)] ^= 0x40
	require.NoError(t, os.WriteFile(path, b, 0o600))
}

func truncate(t *testing.T, path string, n int) {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b[:len(b)-n], 0o600))
}

func replaceIn(t *testing.T, path, old, new string) {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	s := string(b)
	require.Contains(t, s, old)
	writeFile(t, path, strings.Replace(s, old, new, 1))
}

func writeFile(t *testing.T, path, s string) {
	require.NoError(t, os.WriteFile(path, []byte(s), 0o600))
}
