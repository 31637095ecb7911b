package main

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExperimentAllOnASmallCohort(t *testing.T) {
	if raceEnabled {
		// Training the two LMs under the race detector takes minutes; the
		// CLI's experiment path runs under it in
		// TestExperimentTable1WithAnLLMResponder, the LM answers in the
		// experiment package's tests.
		t.Skip("trains two LMs and six configurations: minutes under the race detector")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	code, _, stderr := runCmd(t, "synth", "--out", data, "--patients", "120", "--seed", "5")
	require.Equal(t, 0, code, stderr)

	out := filepath.Join(dir, "out")
	report := filepath.Join(dir, "docs", "EXPERIMENTS.md")
	reading := filepath.Join(dir, "reading.md")
	require.NoError(t, os.WriteFile(reading, []byte("A person's reading."), 0o600))
	code, stdout, stderr := runCmd(t, "experiment", "all", data, "--out", out, "--seeds", "1", "--epochs", "1",
		"--episodes", "4", "--validation", "4", "--k", "3", "--n", "2", "--bayes-replies", "2", "--ks", "2,3", "--ns", "0,2",
		"--predictors", "minirocket", "--markdown", report, "--reading", reading, "--lm-size", "tiny")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "training the general LM (tiny size, seed 1) into "+filepath.Join(out, "lm-general"))
	assert.Contains(t, stderr, "training the finetune LM (tiny size, seed 1) into "+filepath.Join(out, "lm-finetuned"))
	assert.FileExists(t, filepath.Join(out, "lm-cache.db"))
	assert.Contains(t, stderr, "configurations to train and evaluate")
	assert.Contains(t, stderr, "[1/")
	assert.Contains(t, stderr, "  [###-----------------] 1 of 6 finished", "a progress bar")
	assert.Contains(t, stderr, "  [####################] 6 of 6 finished")
	assert.Contains(t, stdout, report)
	assert.NoFileExists(t, filepath.Join(out, "EXPERIMENTS.md"), "--markdown replaces the default report")
	for _, name := range []string{"table1.csv", "table2.csv", "table3.md", "tableA1.csv", "fig6.png", "fig7_k.png", "fig7_n.csv"} {
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
	t1 := readCSVFile(t, filepath.Join(out, "table1.csv"))
	assert.Contains(t, t1[0], "BERTScore-F1_ci_low")
	assert.Contains(t, t1[0], "BERTScore-F1_ci_high")
	var generalRows []string
	for _, rec := range t1[1:] {
		if rec[0] == "general LM" {
			generalRows = append(generalRows, rec[1])
		}
	}
	assert.Equal(t, []string{"task only", "general", "coarse", "refined", "control: random deletions", "control: refined, x̂ = 0",
		"refined (Bayes)", "control: refined (Bayes), prior belief", "coarse − general", "refined − coarse", "refined − random deletions", "refined − refined, x̂ = 0",
		"refined (Bayes) − coarse", "refined (Bayes) − refined", "refined (Bayes) − refined (Bayes), prior belief"}, generalRows)
	t2 := readCSVFile(t, filepath.Join(out, "table2.csv"))
	require.Len(t, t2, 4)
	assert.Equal(t, []string{"fine-tuned LM", "PMLM (general LM)"}, []string{t2[1][0], t2[2][0]})

	md, err := os.ReadFile(report)
	require.NoError(t, err)
	text := string(md)
	assert.Contains(t, text, "pmlm experiment all "+data+" --out "+out)
	assert.Contains(t, text, "--ks 2,3")
	assert.Contains(t, text, "A person's reading.")
	assert.Contains(t, text, "![Figure 6](../out/fig6.png)", "figures are linked relative to the report")
	assert.Contains(t, text, "Paper, table 3")
	assert.NotContains(t, text, "earlier invocation")

	// The same command again reuses the runs saved in out/runs; --fresh
	// makes them all again.
	table1, err := os.ReadFile(filepath.Join(out, "table1.csv"))
	require.NoError(t, err)
	args := []string{"experiment", "all", data, "--out", out, "--seeds", "1", "--epochs", "1",
		"--episodes", "4", "--validation", "4", "--k", "3", "--n", "2", "--bayes-replies", "2", "--ks", "2,3", "--ns", "0,2",
		"--predictors", "minirocket", "--markdown", report, "--lm-size", "tiny"}
	code, _, stderr = runCmd(t, args...)
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, stderr, "training the", "the LMs are reused")
	assert.Contains(t, stderr, "general LM: "+filepath.Join(out, "lm-general"))
	assert.Contains(t, stderr, "0 runs to make")
	assert.NotContains(t, stderr, "[1/")
	again, err := os.ReadFile(filepath.Join(out, "table1.csv"))
	require.NoError(t, err)
	assert.Equal(t, string(table1), string(again))
	md, err = os.ReadFile(report)
	require.NoError(t, err)
	assert.Contains(t, string(md), "6 configuration(s) or predictor-study seed(s) were read from runs saved by an earlier invocation; their time is not included (they took ")
	code, _, stderr = runCmd(t, append(args, "--fresh")...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "6 runs to make")

	// An LM of the wrong mode, or none where one is named, is refused.
	code, _, stderr = runCmd(t, append(args, "--lm", filepath.Join(out, "lm-finetuned"))...)
	assert.NotEqual(t, 0, code)
	assert.Contains(t, stderr, `is a "finetune" LM, want "general"`)
	code, _, stderr = runCmd(t, append(args, "--finetuned", filepath.Join(dir, "none"))...)
	assert.NotEqual(t, 0, code)
	assert.Contains(t, stderr, "finetune LM:")

	// The command's own LM folder holds a tiny LM: asking for another size
	// is refused rather than measuring the tiny one under the other name.
	small := slices.Clone(args)
	small[len(small)-1] = "small"
	code, _, stderr = runCmd(t, small...)
	assert.Equal(t, 1, code, stderr)
	assert.Contains(t, stderr, filepath.Join(out, "lm-general")+" holds a general LM of width 32, 1 layer(s), 1 epoch(s), which is --lm-size tiny; --lm-size small wants width 96")
	assert.NotContains(t, stderr, "training the")
}

func TestExperimentUsageErrors(t *testing.T) {
	data := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"experiment", "all", "synthetic"}, "--out is required"},
		{[]string{"experiment", "table9", "synthetic", "--out", t.TempDir(), "--patients", "120"}, "unknown experiment \"table9\""},
		{[]string{"experiment", "fig7", "synthetic", "--out", t.TempDir(), "--ks", "1,x"}, "--ks: \"x\" is not an integer"},
		{[]string{"experiment", "all", filepath.Join(t.TempDir(), "missing"), "--out", t.TempDir()}, "missing"},
		// Checked before the cohort is read: the folder is empty.
		{[]string{"experiment", "all", data, "--out", data}, "overlaps the data directory"},
		{[]string{"experiment", "all", data, "--out", filepath.Join(data, "results")}, "overlaps the data directory"},
	} {
		code, _, stderr := runCmd(t, tc.args...)
		assert.NotEqual(t, 0, code, strings.Join(tc.args, " "))
		assert.Contains(t, stderr, tc.want, strings.Join(tc.args, " "))
	}
}

// adviceServer speaks the OpenAI chat-completions protocol on loopback and
// answers with advice that depends on the prompt's diagnosis words.
func adviceServer(t *testing.T, calls *atomic.Int64) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" {
			http.NotFound(w, r)
			return
		}
		var req struct {
			Model    string `json:"model"`
			Messages []struct {
				Content string `json:"content"`
			} `json:"messages"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) == 0 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		calls.Add(1)
		prompt := req.Messages[len(req.Messages)-1].Content
		advice := "Rest well, eat a balanced diet and attend your postnatal check in six weeks."
		if strings.Contains(prompt, "diabetes") {
			advice += " Check your blood glucose and keep a low-sugar diet."
		}
		if strings.Contains(prompt, "anemia") || strings.Contains(prompt, "thalassemia") {
			advice += " Take iron supplements and recheck your blood count."
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-test", "object": "chat.completion", "created": 1700000000, "model": req.Model,
			"choices": []map[string]any{{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": advice}}},
			"usage": map[string]any{"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestExperimentTable1WithAnLLMResponder(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	code, _, stderr := runCmd(t, "synth", "--out", data, "--patients", "120", "--seed", "5")
	require.Equal(t, 0, code, stderr)
	var calls atomic.Int64
	srv := adviceServer(t, &calls)
	out := filepath.Join(dir, "out")
	code, _, stderr = runCmd(t, "experiment", "table1", data, "--out", out, "--seeds", "1", "--epochs", "1",
		"--episodes", "4", "--validation", "4", "--k", "3", "--n", "2", "--bayes-replies", "2",
		"--responder", "openai-compatible", "--model", "test-model", "--base-url", srv.URL+"/v1", "--no-lm")
	require.Equal(t, 0, code, stderr)
	assert.Positive(t, calls.Load())

	f, err := os.Open(filepath.Join(out, "table1.csv"))
	require.NoError(t, err)
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	require.NoError(t, err)
	require.Len(t, recs, 1+15+4, "header, the case responder's rows with controls and Bayes refinement, the LLM's rows without the general prompt")
	var llmRows []string
	for _, rec := range recs[1:] {
		if rec[0] == "openai-compatible test-model" {
			llmRows = append(llmRows, rec[1])
		}
	}
	assert.Equal(t, []string{"task only", "coarse", "refined", "refined − coarse"}, llmRows, "no general prompt without --general-prompt-opt-in")
	assert.Equal(t, []string{"openai-compatible test-model", "coarse"}, recs[17][:2])
	assert.NotEqual(t, recs[3][2:], recs[17][2:], "the LLM's answers score differently from the case responder's")

	// With the opt-in the LLM gets the general prompt too; the case
	// responder's runs are reused.
	code, _, stderr = runCmd(t, "experiment", "table1", data, "--out", out, "--seeds", "1", "--epochs", "1",
		"--episodes", "4", "--validation", "4", "--k", "3", "--n", "2", "--bayes-replies", "2",
		"--responder", "openai-compatible", "--model", "test-model", "--base-url", srv.URL+"/v1", "--no-lm", "--general-prompt-opt-in")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "1 runs to make")
	llmRows = nil
	for _, rec := range readCSVFile(t, filepath.Join(out, "table1.csv"))[1:] {
		if rec[0] == "openai-compatible test-model" {
			llmRows = append(llmRows, rec[1])
		}
	}
	assert.Equal(t, []string{"task only", "general", "coarse", "refined", "coarse − general", "refined − coarse"}, llmRows)
}

func readCSVFile(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	return recs
}
