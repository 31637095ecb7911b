package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

func TestSynthWritesReadableCohort(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cohort")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"synth", "--out", dir, "--patients", "50", "--seed", "3"},
		&env{stdout: &stdout, stderr: &stderr})
	require.Equal(t, 0, code, "stderr: %s", stderr.String())
	assert.Contains(t, stdout.String(), "50 patients")

	for _, name := range []string{cohort.VisitsFile, cohort.PatientsFile} {
		st, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		assert.Positive(t, st.Size())
	}
	c, _, err := cohort.ReadDir(dir, cohort.ReadOptions{})
	require.NoError(t, err)
	assert.Len(t, c.Patients, 50)
	assert.Equal(t, 45, c.MaxVisits())
	assert.Len(t, c.Metrics, 35)
}

func TestSynthSameSeedSameFiles(t *testing.T) {
	read := func(seed string) []byte {
		dir := t.TempDir()
		var out bytes.Buffer
		require.Equal(t, 0, run(context.Background(), []string{"synth", "--out", dir, "--patients", "20", "--seed", seed},
			&env{stdout: &out, stderr: &out}), out.String())
		b, err := os.ReadFile(filepath.Join(dir, cohort.VisitsFile))
		require.NoError(t, err)
		return b
	}
	assert.Equal(t, read("7"), read("7"))
	assert.NotEqual(t, read("7"), read("8"))
}

func TestSynthUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"synth"},                                  // no --out
		{"synth", "--out", "x", "extra"},           // positional argument
		{"synth", "--out", "x", "--patients", "a"}, // not a number
	} {
		var out bytes.Buffer
		assert.Equal(t, 2, run(context.Background(), args, &env{stdout: &out, stderr: &out}), "%v", args)
	}
	// A value out of range is a usage error naming the flag (issue 15 item 7).
	var out bytes.Buffer
	assert.Equal(t, 2, run(context.Background(), []string{"synth", "--out", t.TempDir(), "--patients", "-4"},
		&env{stdout: &out, stderr: &out}))
	assert.Contains(t, out.String(), "--patients -4: must be at least 1")
}

func TestSynthHelp(t *testing.T) {
	var out bytes.Buffer
	assert.Equal(t, 0, run(context.Background(), []string{"synth", "--help"}, &env{stdout: &out, stderr: &out}))
	assert.Contains(t, out.String(), "--patients")
}

// A folder that already holds a cohort is refused, whatever the seed: the
// files there (perhaps a hospital's export) are left as they were.
func TestSynthAndDemoRefuseAFolderHoldingACohort(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	e := &env{stdout: &out, stderr: &out}
	require.Equal(t, 0, run(context.Background(), []string{"synth", "--out", dir, "--patients", "20", "--seed", "7"}, e), out.String())
	before, err := os.ReadFile(filepath.Join(dir, cohort.PatientsFile))
	require.NoError(t, err)
	for _, args := range [][]string{
		{"synth", "--out", dir, "--patients", "20", "--seed", "8"},
		{"demo", "--keep", dir, "--patients", "20", "--responder", "case"},
	} {
		out.Reset()
		assert.Equal(t, 1, run(context.Background(), args, e), args[0])
		assert.Contains(t, out.String(), "already holds a cohort", args[0])
	}
	after, err := os.ReadFile(filepath.Join(dir, cohort.PatientsFile))
	require.NoError(t, err)
	assert.Equal(t, before, after)
}
