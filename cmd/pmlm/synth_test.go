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
