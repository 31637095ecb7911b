package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/llm/lm"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

// synthData writes a small synthetic cohort and returns its directory.
func synthData(t *testing.T, dir string, patients string) string {
	t.Helper()
	data := filepath.Join(dir, "data")
	code, _, stderr := runCmd(t, "synth", "--out", data, "--patients", patients, "--seed", "5")
	require.Equal(t, 0, code, stderr)
	return data
}

// Issue 15 item 15: --help prints the usage once, on stdout.
func TestHelpPrintedOnce(t *testing.T) {
	for _, c := range commands() {
		code, stdout, stderr := runCmd(t, c.name, "--help")
		assert.Equal(t, 0, code, c.name)
		assert.Equal(t, 1, strings.Count(stdout, "usage: pmlm "+c.name), "%s: stdout:\n%s", c.name, stdout)
		assert.Empty(t, stderr, c.name)
	}
	// An unknown flag: the error and the usage, once, on stderr.
	code, stdout, stderr := runCmd(t, "train", "--no-such-flag")
	assert.Equal(t, 2, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "no-such-flag")
	assert.Equal(t, 1, strings.Count(stderr, "usage: pmlm train"), stderr)
}

// Issue 15 item 3: train refuses an output (or checkpoint) that is, holds
// or lies inside the data, before reading it, and deletes nothing.
func TestTrainRefusesOutputOverlappingData(t *testing.T) {
	root := t.TempDir()
	data := synthData(t, root, "40")
	before, err := os.ReadDir(data)
	require.NoError(t, err)
	require.NotEmpty(t, before)
	link := filepath.Join(root, "link")
	require.NoError(t, os.Symlink(data, link))
	for _, args := range [][]string{
		{"--out", data},
		{"--out", root},
		{"--out", filepath.Join(data, "model")},
		{"--out", link},
		{"--out", filepath.Join(root, "model"), "--checkpoint", filepath.Join(data, "visits.csv")},
	} {
		code, _, stderr := runCmd(t, append([]string{"train", data}, args...)...)
		assert.Equal(t, 2, code, "%v: %s", args, stderr)
		assert.Contains(t, stderr, "overlaps the data directory", args)
	}
	after, err := os.ReadDir(data)
	require.NoError(t, err)
	assert.Equal(t, len(before), len(after))
	for _, e := range before {
		assert.FileExists(t, filepath.Join(data, e.Name()))
	}
}

// Issue 15 item 7: a flag out of its range is refused up front, named,
// instead of being replaced by a default or failing after the work.
func TestFlagsOutOfRangeRefused(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-data")
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"prompt", missing, "--patient", "p1", "--features", "-5"}, "--features -5"},
		{[]string{"prompt", missing, "--patient", "p1", "--k", "0"}, "--k 0"},
		{[]string{"train", missing, "--out", "m", "--steps", "0"}, "--steps 0"},
		{[]string{"train", missing, "--out", "m", "--k", "0"}, "--k 0"},
		{[]string{"train", missing, "--out", "m", "--episodes", "-5"}, "--episodes -5"},
		{[]string{"train", missing, "--out", "m", "--validation", "-1"}, "--validation -1"},
		{[]string{"train", missing, "--out", "m", "--workers", "-2"}, "--workers -2"},
		{[]string{"train", missing, "--out", "m", "--epochs", "0"}, "--epochs 0"},
		{[]string{"score", "--metric", "bertscore", "--cands", missing, "--refs", missing, "--layer", "-5"}, "--layer -5"},
		{[]string{"ask", "--temperature", "NaN", "hello"}, "--temperature NaN"},
		{[]string{"respond", missing, missing, "--patient", "p1", "--refine", "bayes", "--bayes-replies", "0"}, "--bayes-replies 0"},
		{[]string{"respond", missing, missing, "--patient", "p1", "--refine", "oracle"}, "--refine"},
		{[]string{"respond", missing, missing, "--patient", "p1", "--bayes-replies", "8"}, "--bayes-replies applies only with --refine bayes"},
		{[]string{"serve", missing, "--bayes-seed", "2"}, "--bayes-seed applies only with --bayes-data"},
	} {
		code, _, stderr := runCmd(t, tc.args...)
		assert.Equal(t, 2, code, "%v: %s", tc.args, stderr)
		assert.Contains(t, stderr, tc.flag, tc.args)
	}
	// 0 where it means the default is accepted (the run then fails on the
	// missing data, not on the flag).
	code, _, stderr := runCmd(t, "prompt", missing, "--patient", "p1", "--features", "0")
	assert.Equal(t, 1, code, stderr)
	assert.NotContains(t, stderr, "--features")
}

// Issue 15 item 12: the commands that call an LLM provider take --timeout
// and --attempts (checked up front), and a silent server fails after them.
func TestLLMTimeoutAndAttemptsFlags(t *testing.T) {
	for _, cmd := range [][]string{
		{"respond", "m", "d", "--patient", "p", "--llm", "openai-compatible", "--model", "x"},
		{"experiment", "table1", "d", "--out", "o", "--responder", "openai-compatible", "--model", "x"},
		{"ask", "--llm", "openai-compatible", "--model", "x", "hi"},
	} {
		code, _, stderr := runCmd(t, append(cmd, "--timeout", "0s")...)
		assert.Equal(t, 2, code, "%v: %s", cmd, stderr)
		assert.Contains(t, stderr, "--timeout 0s", cmd)
		code, _, stderr = runCmd(t, append(cmd, "--attempts", "0")...)
		assert.Equal(t, 2, code, "%v: %s", cmd, stderr)
		assert.Contains(t, stderr, "--attempts 0", cmd)
	}

	release := make(chan struct{})
	silent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer silent.Close()
	defer close(release)
	start := time.Now()
	code, _, stderr := runCmd(t, "ask", "--llm", "openai-compatible", "--model", "x", "--base-url", silent.URL+"/v1",
		"--timeout", "300ms", "--attempts", "2", "hi")
	assert.Equal(t, 1, code, stderr)
	assert.Contains(t, stderr, "timed out")
	assert.Less(t, time.Since(start), 10*time.Second)
}

// Issue 15 item 13: the commands that read a cohort take the same data
// flags, and a split that leaves a part empty is an error naming the
// boundaries.
func TestDataFlagsOnEveryCohortCommand(t *testing.T) {
	data := synthData(t, t.TempDir(), "40")
	early := []string{"--split-train-end", "2000-01-01", "--split-validation-end", "2000-06-30", "--max-visits", "60", "--lenient"}
	for _, args := range [][]string{
		{"train", data, "--out", filepath.Join(t.TempDir(), "m"), "--responder", "case", "--store-cases"},
		{"neighbors", data},
		{"prompt", data, "--patient", "P00001"},
		{"predict-study", data, "--predictors", "minirocket"},
		{"experiment", "table1", data, "--out", t.TempDir(), "--no-lm"},
		{"lm", "train", data, "--out", filepath.Join(t.TempDir(), "lm")},
		{"corpus", data},
		{"headroom", data, "--lm", filepath.Join(t.TempDir(), "none")},
		{"separation", data},
	} {
		code, _, stderr := runCmd(t, append(args, early...)...)
		assert.Equal(t, 1, code, "%v: %s", args, stderr)
		assert.Contains(t, stderr, "leaves 0 training", args)
		assert.Contains(t, stderr, "2000-01-01 (--split-train-end)", args)
	}
	// respond takes them too (it fails here on the missing model).
	code, _, stderr := runCmd(t, append([]string{"respond", filepath.Join(t.TempDir(), "none"), data, "--patient", "P00001"}, early...)...)
	assert.Equal(t, 1, code, stderr)
	assert.NotContains(t, stderr, "flag provided but not defined")
}

// Issue 15 item 13: validate warns about an empty part of the split,
// naming the boundary and its flag, and still prints the summary.
func TestValidateWarnsOfAnEmptySplitPart(t *testing.T) {
	data := synthData(t, t.TempDir(), "40")
	code, stdout, stderr := runCmd(t, "validate", data, "--split-train-end", "2000-01-01", "--split-validation-end", "2000-06-30")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "warning: the training part is empty: no patient has index dates up to 2000-01-01 (--split-train-end)")
	assert.Contains(t, stdout, "warning: the validation part is empty")
	assert.NotContains(t, stdout, "the test part is empty")
	assert.Contains(t, stdout, "train (to 2000-01-01)")
	code, stdout, _ = runCmd(t, "validate", data)
	require.Equal(t, 0, code)
	assert.NotContains(t, stdout, "warning: the")
}

// Issue 15 item 13: a model remembers the data flags it was trained with
// (manifest data.read) and respond reads the cohort with them unless the
// command line says otherwise: a model trained with --max-visits 60
// answers a 53-visit patient.
func TestModelRemembersDataFlags(t *testing.T) {
	_, c := synthCohortDir(t, 5, 40)
	_, _, test := c.Split(cohort.DefaultSplit())
	require.NotEmpty(t, test)
	long := test[0]
	for len(long.Visits) < 53 {
		earlier := cohort.Visit{Date: long.Visits[0].Date.AddDate(0, 0, -7), Values: slices.Clone(long.Visits[0].Values)}
		long.Visits = append([]cohort.Visit{earlier}, long.Visits...)
	}
	data := t.TempDir()
	require.NoError(t, cohort.WriteDir(data, c))
	code, _, stderr := runCmd(t, "validate", data)
	require.Equal(t, 1, code, "the default maximum of 45 visits refuses the cohort")
	model := filepath.Join(t.TempDir(), "m")
	code, _, stderr = runCmd(t, "train", data, "--out", model, "--max-visits", "60", "--epochs", "1", "--episodes", "8", "--batch", "4",
		"--validation", "4", "--workers", "1", "--seed", "3", "--responder", "case", "--store-cases")
	require.Equal(t, 0, code, stderr)
	m, err := pmlm.ReadManifest(model)
	require.NoError(t, err)
	require.NotNil(t, m.Data.Read)
	assert.Equal(t, pmlm.ReadSettings{MaxVisits: 60}, *m.Data.Read)
	// Issue 15 item 17: the model directory (--store-cases: with the
	// replies) knows the patients by opaque keys only.
	entries, err := os.ReadDir(model)
	require.NoError(t, err)
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(model, e.Name()))
		require.NoError(t, err)
		for _, pt := range c.Patients {
			require.NotContains(t, string(raw), pt.ID, e.Name())
		}
	}

	code, stdout, stderr := runCmd(t, "respond", model, data, "--patient", long.ID)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "note: the model's data flags apply: [--max-visits 60]")
	assert.Contains(t, stdout, "refined prompt:")
	code, stdout, stderr = runCmd(t, "prompt", model, "--data", data, "--patient", long.ID)
	require.Equal(t, 0, code, stderr)
	assert.NotEmpty(t, stdout)
	// A flag given on the command line wins over the model's.
	code, _, stderr = runCmd(t, "respond", model, data, "--patient", long.ID, "--max-visits", "45")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "45")
}

// Issue 15 item 13: a general LM trained on one split is refused by a
// command that uses another: its training part may hold the other
// split's test patients, whose replies it may reproduce.
func TestLMOfAnotherSplitIsRefused(t *testing.T) {
	data := lmCohort(t)
	lmDir := filepath.Join(t.TempDir(), "lm")
	code, _, stderr := runCmd(t, append([]string{"lm", "train", data, "--out", lmDir}, tinyLMFlags...)...)
	require.Equal(t, 0, code, stderr)
	_, info, err := lm.Load(lmDir)
	require.NoError(t, err)
	assert.Equal(t, "2021-12-31/2022-06-30", info.Split)
	code, _, stderr = runCmd(t, "train", data, "--out", filepath.Join(t.TempDir(), "m"), "--lm", lmDir,
		"--split-train-end", "2022-01-31", "--split-validation-end", "2022-06-30")
	assert.Equal(t, 1, code, stderr)
	assert.Contains(t, stderr, "was trained on the training part of the split 2021-12-31/2022-06-30")
	assert.Contains(t, stderr, "this command uses 2022-01-31/2022-06-30")
}

// Issue 15 item 11: a prompt template or score input that is a device or
// a FIFO is refused at once instead of hanging or exhausting memory.
func TestInputFilesMustBeRegular(t *testing.T) {
	data := synthData(t, t.TempDir(), "40")
	code, _, stderr := runCmd(t, "prompt", data, "--patient", "P00001", "--template", "/dev/zero")
	assert.Equal(t, 1, code, stderr)
	assert.Contains(t, stderr, "/dev/zero is not a regular file")
	code, _, stderr = runCmd(t, "score", "--metric", "bleu", "--cands", "/dev/zero", "--refs", "/dev/zero")
	assert.Equal(t, 1, code, stderr)
	assert.Contains(t, stderr, "/dev/zero is not a regular file")
}
