package experiment_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/pmlm/experiment"
)

// tableCSVs writes the results and returns every table's CSV by name; the
// predictor study's fit times, which are measured, are dropped.
func tableCSVs(t *testing.T, res *experiment.Results) map[string]string {
	t.Helper()
	dir := t.TempDir()
	_, err := res.WriteFiles(dir)
	require.NoError(t, err)
	out := map[string]string{}
	for _, name := range []string{"table1.csv", "table3.csv", "fig6.csv", "fig7_k.csv", "fig7_n.csv", "tableA1.csv"} {
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); err != nil {
			continue
		}
		var kept bytes.Buffer
		for _, rec := range readCSV(t, path) {
			if name == "tableA1.csv" {
				rec = rec[:5] // predictor, micro-F1 and macro-F1 with their spread
			}
			kept.WriteString(strings.Join(rec, ",") + "\n")
		}
		out[name] = kept.String()
	}
	return out
}

// TestJobsChangeNothing: every table is the same bits with one job and
// with three, the refined prompts' scores included (training sums its
// gradients in a fixed order: policy/tape.go).
func TestJobsChangeNothing(t *testing.T) {
	want, err := results() // one job
	require.NoError(t, err)
	c, err := smallCohort()
	require.NoError(t, err)
	cfg := tinyConfig()
	cfg.Jobs = 3
	r, err := experiment.NewRunner(c, cfg)
	require.NoError(t, err)
	got, err := r.Run(context.Background(), "all")
	require.NoError(t, err)
	assert.Len(t, tableCSVs(t, got), 6)
	assert.Equal(t, tableCSVs(t, want), tableCSVs(t, got))
}

func TestRunsDirResumesAndNeverHoldsPatientData(t *testing.T) {
	c, err := smallCohort()
	require.NoError(t, err)
	ctx := context.Background()
	dir := t.TempDir()
	cfg := tinyConfig()
	cfg.Seeds = []uint64{1}
	cfg.RunsDir = dir
	cfg.Jobs = 2
	names := []string{"table3", "tableA1"}

	first, err := experiment.NewRunner(c, cfg)
	require.NoError(t, err)
	planned, err := first.Plan(names...)
	require.NoError(t, err)
	assert.Equal(t, 4, planned, "w/o SP, w/o PP and full, and one study seed")
	want, err := first.Run(ctx, names...)
	require.NoError(t, err)
	reused, _ := first.Reused()
	assert.Zero(t, reused)
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	require.NoError(t, err)
	require.Len(t, files, 4)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, p := range c.Patients {
			require.NotContains(t, string(b), `"`+p.ID+`"`, "%s holds a patient ID", f)
			require.NotContains(t, string(b), p.Response, "%s holds a doctor's response", f)
		}
	}

	var log bytes.Buffer
	cfg.Progress = &log
	second, err := experiment.NewRunner(c, cfg)
	require.NoError(t, err)
	planned, err = second.Plan(names...)
	require.NoError(t, err)
	assert.Zero(t, planned, "everything is saved")
	got, err := second.Run(ctx, names...)
	require.NoError(t, err)
	reused, took := second.Reused()
	assert.Equal(t, 4, reused)
	assert.Positive(t, took)
	assert.Equal(t, tableCSVs(t, want), tableCSVs(t, got))
	assert.NotContains(t, log.String(), "training", "nothing is trained again")

	// Other settings never read these runs; Fresh reads none.
	other := cfg
	other.Train.Epochs = 2
	r, err := experiment.NewRunner(c, other)
	require.NoError(t, err)
	planned, err = r.Plan("table3")
	require.NoError(t, err)
	assert.Equal(t, 3, planned)
	fresh := cfg
	fresh.Fresh = true
	r, err = experiment.NewRunner(c, fresh)
	require.NoError(t, err)
	planned, err = r.Plan(names...)
	require.NoError(t, err)
	assert.Equal(t, 4, planned)

	// A run saved by the previous version (format 1: aggregated scores,
	// no per-patient ones) is detected and made again, not misread.
	var old map[string]any
	b, err := os.ReadFile(files[1])
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &old))
	if o, ok := old["Outcome"].(map[string]any); ok {
		delete(o, "Each")
		o["Before"], o["After"] = map[string]float64{"BLEU4": 1}, map[string]float64{"BLEU4": 2}
	}
	old["Format"] = 1
	b, err = json.Marshal(old)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(files[1], b, 0o644))
	log.Reset()
	r, err = experiment.NewRunner(c, cfg)
	require.NoError(t, err)
	planned, err = r.Plan(names...)
	require.NoError(t, err)
	assert.Equal(t, 1, planned)
	assert.Contains(t, log.String(), "saved in format 1, this version reads format 2")
	_, err = r.Run(ctx, names...)
	require.NoError(t, err)

	// A damaged file is reported and its run made again.
	require.NoError(t, os.WriteFile(files[0], []byte(`{"Format":1,"Outco`), 0o644))
	log.Reset()
	r, err = experiment.NewRunner(c, cfg)
	require.NoError(t, err)
	planned, err = r.Plan(names...)
	require.NoError(t, err)
	assert.Equal(t, 1, planned)
	assert.Contains(t, log.String(), filepath.Base(files[0]))
	got, err = r.Run(ctx, names...)
	require.NoError(t, err)
	assert.Equal(t, tableCSVs(t, want), tableCSVs(t, got), "the run made again matches the saved one")
	assert.Equal(t, 1, strings.Count(log.String(), filepath.Base(files[0])), "reported once, though Plan and Run both look:\n%s", log.String())
}

func TestRunAfterACancelledRunStartsAfresh(t *testing.T) {
	c, err := smallCohort()
	require.NoError(t, err)
	cfg := tinyConfig()
	cfg.Seeds = []uint64{1}
	r, err := experiment.NewRunner(c, cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = r.Run(ctx, "table1")
	require.ErrorIs(t, err, context.Canceled)
	res, err := r.Run(context.Background(), "table1")
	require.NoError(t, err, "the failed predictor fit is not remembered")
	assert.NotNil(t, res.Table1)
}
