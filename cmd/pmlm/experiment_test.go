package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExperimentAllOnASmallCohort(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	code, _, stderr := runCmd(t, "synth", "--out", data, "--patients", "120", "--seed", "5")
	require.Equal(t, 0, code, stderr)

	out := filepath.Join(dir, "out")
	report := filepath.Join(dir, "docs", "EXPERIMENTS.md")
	reading := filepath.Join(dir, "reading.md")
	require.NoError(t, os.WriteFile(reading, []byte("A person's reading."), 0o600))
	code, stdout, stderr := runCmd(t, "experiment", "all", data, "--out", out, "--seeds", "1", "--epochs", "1",
		"--episodes", "4", "--validation", "4", "--k", "3", "--n", "2", "--ks", "2,3", "--ns", "0,2",
		"--predictors", "minirocket", "--markdown", report, "--reading", reading)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "configurations to train and evaluate")
	assert.Contains(t, stderr, "[1/")
	assert.Contains(t, stdout, report)
	assert.NoFileExists(t, filepath.Join(out, "EXPERIMENTS.md"), "--markdown replaces the default report")
	for _, name := range []string{"table1.csv", "table3.md", "tableA1.csv", "fig6.png", "fig7_k.png", "fig7_n.csv"} {
		assert.Contains(t, stdout, filepath.Join(out, name))
		fi, err := os.Stat(filepath.Join(out, name))
		require.NoError(t, err)
		assert.Positive(t, fi.Size(), name)
	}
	f, err := os.Open(filepath.Join(out, "tableA1.csv"))
	require.NoError(t, err)
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	require.NoError(t, err)
	assert.Len(t, recs, 3, "header, majority, minirocket")

	md, err := os.ReadFile(report)
	require.NoError(t, err)
	text := string(md)
	assert.Contains(t, text, "pmlm experiment all "+data+" --out "+out)
	assert.Contains(t, text, "--ks 2,3")
	assert.Contains(t, text, "A person's reading.")
	assert.Contains(t, text, "![Figure 6](../out/fig6.png)", "figures are linked relative to the report")
	assert.Contains(t, text, "Paper, table 3")
}

func TestExperimentUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"experiment", "all", "synthetic"}, "--out is required"},
		{[]string{"experiment", "table2", "synthetic", "--out", t.TempDir(), "--patients", "120"}, "unknown experiment \"table2\""},
		{[]string{"experiment", "fig7", "synthetic", "--out", t.TempDir(), "--ks", "1,x"}, "--ks: \"x\" is not an integer"},
		{[]string{"experiment", "all", filepath.Join(t.TempDir(), "missing"), "--out", t.TempDir()}, "missing"},
	} {
		code, _, stderr := runCmd(t, tc.args...)
		assert.NotEqual(t, 0, code, strings.Join(tc.args, " "))
		assert.Contains(t, stderr, tc.want, strings.Join(tc.args, " "))
	}
}
