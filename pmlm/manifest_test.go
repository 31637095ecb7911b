package pmlm_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/encoder"
	"github.com/pmlm-go/pmlm/llm"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/synth"
	"github.com/pmlm-go/pmlm/policy"
)

// reseal rewrites a model directory's manifest after edit, with the
// checksum recomputed as the manifest documents it (JSON encoding with the
// checksum empty), as someone editing it on purpose would.
func reseal(t *testing.T, dir string, edit func(m *pmlm.Manifest)) {
	t.Helper()
	m, err := pmlm.ReadManifest(dir)
	require.NoError(t, err)
	edit(m)
	m.Checksum = ""
	raw, err := json.Marshal(m)
	require.NoError(t, err)
	sum := sha256.Sum256(raw)
	m.Checksum = hex.EncodeToString(sum[:])
	raw, err = json.Marshal(m)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, pmlm.ManifestFile), raw, 0o600))
}

// Issue 15 item 2: every field of the manifest is checked against the
// parts, so that an edit the checksum cannot catch (it was recomputed)
// still fails with the field named.
func TestLoadChecksManifestFieldsAgainstParts(t *testing.T) {
	p, _ := trainedOrFail(t)
	dir := filepath.Join(t.TempDir(), "model")
	require.NoError(t, p.Save(dir))
	// The untouched manifest, resealed, still loads: the helper is sound.
	reseal(t, dir, func(*pmlm.Manifest) {})
	_, err := pmlm.Load(context.Background(), dir, pmlm.LoadOptions{})
	require.NoError(t, err)

	for _, tc := range []struct {
		name string
		edit func(m *pmlm.Manifest)
		want string
	}{
		{"k 0", func(m *pmlm.Manifest) { m.K = 0 }, "k is 0"},
		{"k negative", func(m *pmlm.Manifest) { m.K = -3 }, "k is -3"},
		{"steps 0", func(m *pmlm.Manifest) { m.Steps = 0 }, "steps is 0"},
		{"labels emptied", func(m *pmlm.Manifest) { m.Data.Labels = nil }, "data.labels has 0 labels"},
		{"a label dropped", func(m *pmlm.Manifest) { m.Data.Labels = m.Data.Labels[1:] }, "the predictor (predictor.bin) predicts"},
		{"a label misspelt", func(m *pmlm.Manifest) {
			i := slices.Index(m.Data.Labels, "normal")
			require.GreaterOrEqual(t, i, 0, "the synthetic cohort has a label normal")
			m.Data.Labels[i] = "nnrmal"
		}, `label "normal", which data.labels lacks`},
		{"a repeated label", func(m *pmlm.Manifest) { m.Data.Labels[1] = m.Data.Labels[0] }, "repeated label"},
		{"a metric dropped", func(m *pmlm.Manifest) { m.Data.Metrics = m.Data.Metrics[1:] }, "metrics, the predictor (predictor.bin) reads"},
		{"a metric added", func(m *pmlm.Manifest) { m.Data.Metrics = append(m.Data.Metrics, m.Data.Metrics[0]) }, "repeated metric"},
		{"metrics emptied", func(m *pmlm.Manifest) { m.Data.Metrics = nil }, "data.metrics is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, p.Save(dir))
			reseal(t, dir, tc.edit)
			_, err := pmlm.Load(context.Background(), dir, pmlm.LoadOptions{})
			require.ErrorIs(t, err, pmlm.ErrModel)
			assert.Contains(t, err.Error(), tc.want)
		})
	}

	// A flipped byte anywhere in the manifest is caught by the checksum.
	require.NoError(t, p.Save(dir))
	path := filepath.Join(dir, pmlm.ManifestFile)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, at := range []int{len(raw) / 3, len(raw) / 2, 2 * len(raw) / 3} {
		bad := slices.Clone(raw)
		bad[at] ^= 0x01
		require.NoError(t, os.WriteFile(path, bad, 0o600))
		_, err = pmlm.Load(context.Background(), dir, pmlm.LoadOptions{})
		require.ErrorIs(t, err, pmlm.ErrModel, "byte %d flipped", at)
	}
}

// Issue 15 item 13: the manifest records how the cohort was read
// (data.read), Load gives it back, and a manifest written before the field
// existed (no data.read) still loads, with the reader's defaults.
func TestManifestRecordsReadSettings(t *testing.T) {
	p, _ := trainedOrFail(t)
	assert.Equal(t, pmlm.ReadSettings{MaxVisits: cohort.DefaultMaxVisits}, p.ReadSettings(), "zero TrainOptions.Read: the defaults")
	dir := filepath.Join(t.TempDir(), "model")
	require.NoError(t, p.Save(dir))
	m, err := pmlm.ReadManifest(dir)
	require.NoError(t, err)
	require.NotNil(t, m.Data.Read)
	assert.Equal(t, cohort.DefaultMaxVisits, m.Data.Read.MaxVisits)

	for _, tc := range []struct {
		name string
		read *pmlm.ReadSettings
		want pmlm.ReadSettings
	}{
		{"an older manifest", nil, pmlm.ReadSettings{MaxVisits: cohort.DefaultMaxVisits}},
		{"recorded", &pmlm.ReadSettings{MaxVisits: 60, Lenient: true}, pmlm.ReadSettings{MaxVisits: 60, Lenient: true}},
	} {
		require.NoError(t, p.Save(dir))
		reseal(t, dir, func(m *pmlm.Manifest) { m.Data.Read = tc.read })
		raw, err := os.ReadFile(filepath.Join(dir, pmlm.ManifestFile))
		require.NoError(t, err)
		assert.Equal(t, tc.read != nil, bytes.Contains(raw, []byte(`"read"`)), tc.name)
		q, err := pmlm.Load(context.Background(), dir, pmlm.LoadOptions{})
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.want, q.ReadSettings(), tc.name)
		assert.Equal(t, p.Split(), q.Split(), tc.name)
	}
	require.NoError(t, p.Save(dir))
	reseal(t, dir, func(m *pmlm.Manifest) { m.Data.Read = &pmlm.ReadSettings{MaxVisits: -1} })
	_, err = pmlm.Load(context.Background(), dir, pmlm.LoadOptions{})
	require.ErrorIs(t, err, pmlm.ErrModel)
	assert.Contains(t, err.Error(), "data.read.max_visits is -1")
}

// Issue 15 item 8: a model trained against another responder than the
// case responder is not answered by the case responder in its place, and
// a responder other than the recorded one is reported.
func TestLoadChecksTheResponder(t *testing.T) {
	p, _ := trainedOrFail(t)
	dir := filepath.Join(t.TempDir(), "model")
	require.NoError(t, p.Save(dir))
	reseal(t, dir, func(m *pmlm.Manifest) {
		m.Responder = pmlm.ResponderInfo{Provider: llm.ProviderOpenAI, Model: "gpt-4o-mini"}
	})
	_, err := pmlm.Load(context.Background(), dir, pmlm.LoadOptions{})
	require.ErrorIs(t, err, pmlm.ErrOptions)
	assert.Contains(t, err.Error(), "openai/gpt-4o-mini")

	// Given a responder, Load answers with it and warns that it differs.
	cr, err := llm.NewCaseResponder(context.Background(), []llm.Case{{ID: "x", Prompt: "a b", Reply: "c"}}, llm.CaseOptions{})
	require.NoError(t, err)
	var warnings []string
	q, err := pmlm.Load(context.Background(), dir, pmlm.LoadOptions{Responder: cr, Warn: func(s string) { warnings = append(warnings, s) }})
	require.NoError(t, err)
	assert.Same(t, cr, q.Responder())
	require.Len(t, warnings, 1)
	assert.Contains(t, warnings[0], "trained against responder openai/gpt-4o-mini")

	// The model's own responder gives no warning.
	require.NoError(t, p.Save(dir))
	warnings = nil
	_, err = pmlm.Load(context.Background(), dir, pmlm.LoadOptions{Warn: func(s string) { warnings = append(warnings, s) }})
	require.NoError(t, err)
	assert.Empty(t, warnings)
}

// Issue 15 item 8: a text encoder of the right name but another dimension
// fails at Load, naming both sizes, not later as a shape mismatch.
func TestLoadChecksTheTextEncoderDimension(t *testing.T) {
	p, _ := trainedOrFail(t)
	dir := filepath.Join(t.TempDir(), "model")
	require.NoError(t, p.Save(dir))
	text := p.TextEncoder()
	_, err := pmlm.Load(context.Background(), dir, pmlm.LoadOptions{Text: resized{text, text.Dim() + 1}})
	require.ErrorIs(t, err, pmlm.ErrModel)
	assert.Contains(t, err.Error(), "the policy reads word vectors of")
}

// resized is a text encoder that claims another dimension.
type resized struct {
	encoder.TextEncoder
	dim int
}

func (r resized) Dim() int { return r.dim }

// Issue 15 item 3: Save never deletes what it did not write, and cleans up
// the hidden copies that an interrupted save left beside the model.
func TestSaveReplacesOnlyModelDirectories(t *testing.T) {
	p, _ := trainedOrFail(t)
	root := t.TempDir()

	// A regular file at the target stays.
	file := filepath.Join(root, "notes.txt")
	require.NoError(t, os.WriteFile(file, []byte("keep me"), 0o600))
	require.ErrorIs(t, p.Save(file), pmlm.ErrNotModelDir)
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, "keep me", string(b))

	// A directory with other files (a cohort, a parent folder) stays.
	data := filepath.Join(root, "data")
	require.NoError(t, os.MkdirAll(filepath.Join(data, "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(data, "visits.csv"), []byte("id\n"), 0o600))
	require.ErrorIs(t, p.Save(data), pmlm.ErrNotModelDir)
	require.ErrorIs(t, p.Save(root), pmlm.ErrNotModelDir)
	assert.FileExists(t, filepath.Join(data, "visits.csv"))
	assert.DirExists(t, filepath.Join(data, "sub"))

	// A model directory someone added a file to stays.
	model := filepath.Join(root, "model")
	require.NoError(t, p.Save(model))
	require.NoError(t, os.WriteFile(filepath.Join(model, "mine.txt"), []byte("x"), 0o600))
	err = p.Save(model)
	require.ErrorIs(t, err, pmlm.ErrNotModelDir)
	assert.Contains(t, err.Error(), "mine.txt")
	require.NoError(t, os.Remove(filepath.Join(model, "mine.txt")))

	// An empty directory and a model directory are replaced; the hidden
	// copies of an interrupted save (a kill between its steps) are removed.
	empty := filepath.Join(root, "empty")
	require.NoError(t, os.Mkdir(empty, 0o755))
	require.NoError(t, p.Save(empty))
	_, err = pmlm.Load(context.Background(), empty, pmlm.LoadOptions{})
	require.NoError(t, err)
	for _, left := range []string{".model.tmp-123", ".model.tmp-123.old"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, left), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, left, "cases.jsonl"), []byte("{}"), 0o600))
	}
	require.NoError(t, p.Save(model))
	entries, err := os.ReadDir(root)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"notes.txt", "data", "model", "empty"}, names)
	_, err = pmlm.Load(context.Background(), model, pmlm.LoadOptions{})
	require.NoError(t, err)
}

// Issue 15 item 4: a checkpoint written for other data or settings is
// refused on resume, with what differs named.
func TestResumeRefusesACheckpointOfOtherData(t *testing.T) {
	ctx := context.Background()
	a, err := smallCohort()
	require.NoError(t, err)
	opts := synth.DefaultOptions()
	opts.Patients, opts.Visits, opts.Seed = 150, 0, 12
	b, err := synth.Generate(opts)
	require.NoError(t, err)
	require.NotEqual(t, a.Digest(), b.Digest())

	ckpt := filepath.Join(t.TempDir(), "policy.checkpoint")
	train := func(c *cohort.Cohort, k int) error {
		_, err := pmlm.Train(ctx, c, pmlm.TrainOptions{
			CrossFitFolds: 1, MaxEpisodes: 8, MaxValidation: 4, BatchSize: 4, Epochs: 1, Seed: 7, K: k,
			CheckpointPath: ckpt, Resume: true,
		})
		return err
	}
	require.NoError(t, train(a, 5))
	require.FileExists(t, ckpt)
	require.NoError(t, train(a, 5), "the same data and settings resume")

	err = train(b, 5)
	require.ErrorIs(t, err, policy.ErrCheckpointMismatch)
	assert.Contains(t, err.Error(), "cohort digest: checkpoint \""+a.Digest())
	assert.Contains(t, err.Error(), "now \""+b.Digest())

	err = train(a, 6)
	require.ErrorIs(t, err, policy.ErrCheckpointMismatch)
	assert.Contains(t, err.Error(), `k: checkpoint "5", now "6"`)
	assert.NotContains(t, err.Error(), "cohort digest")
}

// Issue 15 item 7: a deletion budget that would leave almost nothing of
// the prompts is refused (train --steps 1000 used to save a model whose
// refined prompt was the single word "a"), and so are negative counts.
func TestTrainRefusesUnusableOptions(t *testing.T) {
	c, err := smallCohort()
	require.NoError(t, err)
	_, err = pmlm.Train(context.Background(), c, pmlm.TrainOptions{CrossFitFolds: 1, MaxEpisodes: 4, Steps: 1000})
	require.ErrorIs(t, err, pmlm.ErrOptions)
	assert.Contains(t, err.Error(), "Steps 1000")
	for _, o := range []pmlm.TrainOptions{{Workers: -2}, {MaxEpisodes: -5}, {MaxValidation: -1}} {
		_, err = pmlm.Train(context.Background(), c, o)
		require.ErrorIs(t, err, pmlm.ErrOptions, "%+v", o)
	}
}

// Issue 15 item 16: a model directory holds no timestamp, and two trainings
// with the same seed give byte-identical directories, the policy and the
// encoder that REINFORCE trains with it included (their gradients are summed
// in a fixed order: policy/tape.go), with one worker or with two.
func TestSaveIsReproducible(t *testing.T) {
	c, err := smallCohort()
	require.NoError(t, err)
	root := t.TempDir()
	files := func(i, workers int) map[string][]byte {
		p, err := pmlm.Train(context.Background(), c, pmlm.TrainOptions{
			CrossFitFolds: 1, MaxEpisodes: 8, MaxValidation: 2, BatchSize: 4, Epochs: 1, Workers: workers, Seed: 3, StoreCases: true,
		})
		require.NoError(t, err)
		dir := filepath.Join(root, strconv.Itoa(i))
		require.NoError(t, p.Save(dir))
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		out := map[string][]byte{}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			require.NoError(t, err)
			out[e.Name()] = b
		}
		return out
	}
	a := files(1, 1)
	assert.NotContains(t, string(a[pmlm.ManifestFile]), `"created"`)
	require.Contains(t, a, "policy.bin")
	for i, workers := range []int{1, 2} {
		b := files(i+2, workers)
		require.Equal(t, len(a), len(b))
		for name := range a {
			assert.True(t, bytes.Equal(a[name], b[name]), "%s differs between two trainings with the same seed (%d workers)", name, workers)
		}
	}

	// A manifest written before, with its creation time, still loads.
	dir := filepath.Join(root, "1")
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	reseal(t, dir, func(m *pmlm.Manifest) { m.Created = &created })
	_, err = pmlm.Load(context.Background(), dir, pmlm.LoadOptions{})
	require.NoError(t, err)
}
