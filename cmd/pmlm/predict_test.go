package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/synth"
)

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &env{stdout: &out, stderr: &errOut})
	return code, out.String(), errOut.String()
}

// TestTSBenchJapaneseVowels reproduces the conformance results of
// MiniRocket and MultiRocket from the command line.
func TestTSBenchJapaneseVowels(t *testing.T) {
	dir := "../../../shared/testdata/uea"
	train := filepath.Join(dir, "JapaneseVowels_TRAIN.ts")
	if _, err := os.Stat(train); err != nil {
		t.Skipf("UEA data not found at %s (expected the shared/ folder beside the repository)", dir)
	}
	for _, p := range []string{"minirocket", "multirocket"} {
		code, out, stderr := runCmd(t, "ts-bench", train, filepath.Join(dir, "JapaneseVowels_TEST.ts"), "--seed", "3", "--predictor", p)
		require.Equal(t, 0, code, "stderr: %s", stderr)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		last := lines[len(lines)-1]
		require.True(t, strings.HasPrefix(last, "accuracy: "), "last line %q", last)
		acc, err := strconv.ParseFloat(strings.TrimPrefix(last, "accuracy: "), 64)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, acc, 0.97, p)
		assert.Contains(t, out, "predictor: "+p)
	}
}

func TestTSBenchErrors(t *testing.T) {
	dir := t.TempDir()
	good := "@problemName T\n@classLabel true a b\n@data\n1,2,3:a\n4,5,6:b\n"
	bad := "@problemName T\n@classLabel true a b\n@data\n1,2,3:a\n4,x,6:b\n"
	other := "@problemName T\n@classLabel true a c\n@data\n1,2,3:c\n"
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(s), 0o600))
		return p
	}
	g, b, o := write("good.ts", good), write("bad.ts", bad), write("other.ts", other)

	code, _, stderr := runCmd(t, "ts-bench", g, b)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "bad.ts:5: dimension 1: value 2: \"x\" is not a finite number")

	code, _, stderr = runCmd(t, "ts-bench", g, o)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `class "c" is not a class of`)

	code, _, _ = runCmd(t, "ts-bench", g)
	assert.Equal(t, 2, code)
	code, _, stderr = runCmd(t, "ts-bench", g, g, "--predictor", "rocket")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "unknown predictor")
	code, _, stderr = runCmd(t, "ts-bench", g, filepath.Join(dir, "missing.ts"))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "missing.ts")
}

func TestPredictStudy(t *testing.T) {
	opts := synth.DefaultOptions()
	opts.Patients, opts.Visits, opts.Seed = 240, 0, 5
	c, err := synth.Generate(opts)
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, cohort.WriteDir(dir, c))

	code, out, stderr := runCmd(t, "predict-study", dir, "--predictors", "minirocket,cnn", "--epochs", "2")
	require.Equal(t, 0, code, "stderr: %s", stderr)
	assert.Contains(t, out, "12 labels")
	for _, row := range []string{"majority (", "minirocket", "cnn"} {
		found := false
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) >= 3 && strings.HasPrefix(strings.TrimSpace(line), row) {
				found = true
			}
		}
		assert.True(t, found, "no row %q in\n%s", row, out)
	}

	code, out, stderr = runCmd(t, "predict-study", dir, "--predictors", "gbdt,minirocket", "--seeds", "2", "--json")
	require.Equal(t, 0, code, "stderr: %s", stderr)
	var rows []struct {
		Name       string             `json:"name"`
		Reference  bool               `json:"reference"`
		Seeds      int                `json:"seeds"`
		MicroF1    float64            `json:"micro_f1"`
		MacroF1    float64            `json:"macro_f1"`
		FitSeconds float64            `json:"fit_seconds"`
		PerLabel   map[string]float64 `json:"per_label_f1"`
		VsMajority *struct {
			Micro struct {
				Mean float64
				CI   *struct{ Low, High float64 }
			} `json:"micro_f1"`
		} `json:"vs_majority"`
		VsBaseline *json.RawMessage `json:"vs_baseline"`
		ValMicroF1 *float64         `json:"validation_micro_f1"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rows), out)
	require.Len(t, rows, 4)
	assert.True(t, strings.HasPrefix(rows[0].Name, "majority ("))
	assert.Equal(t, "ceiling (learnable labels)", rows[1].Name)
	assert.True(t, rows[0].Reference && rows[1].Reference)
	assert.Equal(t, "gbdt", rows[2].Name)
	assert.Equal(t, "minirocket", rows[3].Name)
	for _, r := range rows[2:] {
		assert.Equal(t, 2, r.Seeds)
		assert.Positive(t, r.FitSeconds)
		assert.Len(t, r.PerLabel, 12)
		require.NotNil(t, r.VsMajority, r.Name)
		require.NotNil(t, r.VsMajority.Micro.CI)
		assert.InDelta(t, r.MicroF1-rows[0].MicroF1, r.VsMajority.Micro.Mean, 1e-9)
		assert.NotNil(t, r.ValMicroF1)
	}
	assert.NotNil(t, rows[2].VsBaseline, "gbdt is compared with minirocket")
	assert.Nil(t, rows[3].VsBaseline, "minirocket is not compared with itself")

	code, out, stderr = runCmd(t, "predict-study", dir, "--predictors", "gbdt", "--per-label", "--validation")
	require.Equal(t, 0, code, "stderr: %s", stderr)
	assert.Contains(t, out, "validation split (")
	assert.Contains(t, out, "test split (")
	assert.Contains(t, out, "per-label F1")
	assert.Contains(t, out, "thalassemia")

	// --reference: the noise-free twin is the reference row, and each
	// predictor is compared with it and reported as a fraction of it.
	opts.NoMeasurementNoise, opts.NoMissingValues = true, true
	twin, err := synth.Generate(opts)
	require.NoError(t, err)
	twinDir := t.TempDir()
	require.NoError(t, cohort.WriteDir(twinDir, twin))
	code, out, stderr = runCmd(t, "predict-study", dir, "--predictors", "gbdt", "--seeds", "2", "--reference", twinDir, "--json")
	require.Equal(t, 0, code, "stderr: %s", stderr)
	var withRef []struct {
		Name        string  `json:"name"`
		Reference   bool    `json:"reference"`
		MicroF1     float64 `json:"micro_f1"`
		MacroF1     float64 `json:"macro_f1"`
		VsReference *struct {
			Micro struct{ Mean float64 } `json:"micro_f1"`
		} `json:"vs_noise_free_learner"`
		OfReference *struct {
			Micro float64 `json:"micro_f1"`
			Macro float64 `json:"macro_f1"`
		} `json:"fraction_of_noise_free_learner"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &withRef), out)
	require.Len(t, withRef, 4)
	ref, g := withRef[3], withRef[2]
	assert.True(t, ref.Reference)
	assert.Equal(t, "noise-free learner (gbdt on "+twinDir+")", ref.Name)
	require.NotNil(t, g.VsReference)
	assert.InDelta(t, g.MicroF1-ref.MicroF1, g.VsReference.Micro.Mean, 1e-9)
	require.NotNil(t, g.OfReference)
	assert.InDelta(t, g.MacroF1/ref.MacroF1, g.OfReference.Macro, 1e-9)
	code, out, stderr = runCmd(t, "predict-study", dir, "--predictors", "gbdt", "--reference", twinDir)
	require.Equal(t, 0, code, "stderr: %s", stderr)
	assert.Contains(t, out, "as a fraction of the noise-free learner")
	// A cohort with other patients is not a twin.
	opts.Seed = 6
	other, err := synth.Generate(opts)
	require.NoError(t, err)
	otherDir := t.TempDir()
	require.NoError(t, cohort.WriteDir(otherDir, other))
	code, _, stderr = runCmd(t, "predict-study", dir, "--predictors", "gbdt", "--reference", otherDir)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "--reference "+otherDir)
	assert.Contains(t, stderr, "in the twin cohort")

	code, _, stderr = runCmd(t, "predict-study", t.TempDir())
	assert.Equal(t, 1, code)
	assert.NotEmpty(t, stderr)
	code, _, _ = runCmd(t, "predict-study", dir, "--predictors", "gpt")
	assert.Equal(t, 2, code)
	code, _, _ = runCmd(t, "predict-study", dir, "--seeds", "0")
	assert.Equal(t, 2, code)
}
