package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/prompt"
	"github.com/pmlm-go/pmlm/pmlm/synth"
)

// promptCohort writes a small synthetic cohort and returns its folder.
func promptCohort(t *testing.T) (string, *cohort.Cohort) {
	t.Helper()
	opts := synth.DefaultOptions()
	opts.Seed, opts.Patients, opts.Visits = 5, 120, 0
	c, err := synth.Generate(opts)
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, cohort.WriteDir(dir, c))
	return dir, c
}

func TestPromptCommand(t *testing.T) {
	dir, c := promptCohort(t)
	train, _, test := c.Split(cohort.DefaultSplit())
	require.NotEmpty(t, train)
	require.NotEmpty(t, test)
	for _, target := range []*cohort.Patient{train[0], test[0]} {
		for _, extra := range [][]string{nil, {"--warm-start"}} {
			var stdout, stderr bytes.Buffer
			args := append([]string{"prompt", dir, "--patient", target.ID, "--k", "5", "--features", "840"}, extra...)
			code := run(context.Background(), args, &env{stdout: &stdout, stderr: &stderr})
			require.Equal(t, 0, code, "stderr: %s", stderr.String())
			p := strings.TrimSpace(stdout.String())
			assert.Equal(t, p, prompt.Join(prompt.Words(p)))
			assert.Contains(t, p, "among the 5 most similar past patients")
			assert.Regexp(t, `predicted discharge diagnosis is [a-z]`, p)
			assert.NotContains(t, p, "unknown")
			// Every label named is one of the cohort's; no identifier or
			// value: the only numbers are counts up to k.
			assert.NotContains(t, p, target.ID)
			for _, num := range regexp.MustCompile(`[0-9]+`).FindAllString(p, -1) {
				assert.Contains(t, []string{"1", "2", "3", "4", "5"}, num, p)
			}
			counted := 0
			for _, l := range c.Labels {
				for _, m := range regexp.MustCompile(regexp.QuoteMeta(l)+` for ([0-9]+)`).FindAllStringSubmatch(p, -1) {
					var n int
					fmt.Sscan(m[1], &n)
					counted += n
				}
			}
			assert.Equal(t, 5, counted, "the label counts add up to k: %s", p)
		}
	}
}

func TestPromptCommandErrors(t *testing.T) {
	dir, _ := promptCohort(t)
	for _, args := range [][]string{
		{"prompt", dir},                                    // no --patient
		{"prompt", "--patient", "P00001"},                  // no DIR
		{"prompt", dir, "--patient", "P00001", "--k", "0"}, // bad k
	} {
		var out bytes.Buffer
		assert.Equal(t, 2, run(context.Background(), args, &env{stdout: &out, stderr: &out}), "%v", args)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"prompt", dir, "--patient", "NOPE-123", "--features", "840"},
		&env{stdout: &stdout, stderr: &stderr})
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr.String(), "no patient with the given --patient ID")
	assert.NotContains(t, stderr.String(), "NOPE-123", "identifiers are not logged")

	bad := filepath.Join(t.TempDir(), "bad.tmpl")
	require.NoError(t, os.WriteFile(bad, []byte("{{.PatientID}}"), 0o600))
	stderr.Reset()
	code = run(context.Background(), []string{"prompt", dir, "--patient", "P00001", "--template", bad},
		&env{stdout: &stdout, stderr: &stderr})
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr.String(), "bad.tmpl")
}

func TestPromptCommandGeneralAndTask(t *testing.T) {
	dir, c := promptCohort(t)
	target := c.Patients[0]
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"prompt", dir, "--patient", target.ID, "--kind", "general"}, &env{stdout: &stdout, stderr: &stderr})
	require.Equal(t, 0, code, "stderr: %s", stderr.String())
	g := stdout.String()
	assert.True(t, strings.HasPrefix(g, prompt.TaskOnly()))
	assert.Contains(t, g, "Laboratory history:")
	assert.Regexp(t, `\nHGB [0-9]+ `, g, "the history lists the values")
	assert.NotContains(t, g, target.ID)

	stdout.Reset()
	code = run(context.Background(), []string{"prompt", dir, "--patient", target.ID, "--kind", "task"}, &env{stdout: &stdout, stderr: &stderr})
	require.Equal(t, 0, code, "stderr: %s", stderr.String())
	assert.Equal(t, prompt.TaskOnly()+"\n", stdout.String())

	stdout.Reset()
	code = run(context.Background(), []string{"prompt", dir, "--kind", "general", "--stats"}, &env{stdout: &stdout, stderr: &stderr})
	require.Equal(t, 0, code, "stderr: %s", stderr.String())
	assert.Regexp(t, `^general prompts of 120 patients: words per prompt min [0-9]+, mean [0-9.]+, max [0-9]+\n$`, stdout.String())

	var out bytes.Buffer
	assert.Equal(t, 2, run(context.Background(), []string{"prompt", dir, "--patient", target.ID, "--kind", "fine"}, &env{stdout: &out, stderr: &out}))
}

// TestPromptAgreesWithRespond trains and saves a small model, then checks
// for every test patient that "prompt MODEL --data DIR" prints the coarse
// prompt respond refines, and that "prompt DIR" with the training seed
// prints the same: one prompt builder behind all three.
func TestPromptAgreesWithRespond(t *testing.T) {
	dir, c := promptCohort(t)
	ctx := context.Background()
	p, model := savedModel(t, c, pmlm.TrainOptions{CrossFitFolds: 2, MaxEpisodes: 4, MaxValidation: 2, BatchSize: 4, Seed: 9, StoreCases: true})
	_, _, test := c.Split(cohort.DefaultSplit())
	require.NotEmpty(t, test)
	prompts := func(args ...string) string {
		var stdout, stderr bytes.Buffer
		code := run(ctx, append([]string{"prompt"}, args...), &env{stdout: &stdout, stderr: &stderr})
		require.Equal(t, 0, code, "stderr: %s", stderr.String())
		return strings.TrimSpace(stdout.String())
	}
	for i, pt := range test {
		a, err := p.Respond(ctx, pt, pmlm.RespondOptions{SkipFinal: true})
		require.NoError(t, err)
		assert.Equal(t, a.Coarse, prompts(model, "--data", dir, "--patient", pt.ID), pt.ID)
		if i < 2 { // each call refits the builder: two patients suffice
			assert.Equal(t, a.Coarse, prompts(dir, "--patient", pt.ID, "--seed", "9"), pt.ID)
		}
	}

	// respond --json carries the same coarse prompt and, with --coarse, the
	// answer to it.
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"respond", model, dir, "--patient", test[0].ID, "--json", "--coarse"}, &env{stdout: &stdout, stderr: &stderr})
	require.Equal(t, 0, code, "stderr: %s", stderr.String())
	var got pmlm.Answer
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &got))
	want, err := p.CoarsePrompt(ctx, test[0])
	require.NoError(t, err)
	assert.Equal(t, want.Prompt, got.Coarse)
	require.NotNil(t, got.CoarseResponse)
	assert.NotEmpty(t, got.CoarseResponse.Text)
	assert.NotEmpty(t, got.Response.Text)
	assert.Nil(t, got.Bayes, "the policy refines by default")

	// --refine bayes gives the library's Bayes refinement with the model's
	// training patients found in DATA.
	stdout.Reset()
	code = run(ctx, []string{"respond", model, dir, "--patient", test[0].ID, "--json", "--refine", "bayes", "--bayes-replies", "2", "--bayes-seed", "3"},
		&env{stdout: &stdout, stderr: &stderr})
	require.Equal(t, 0, code, "stderr: %s", stderr.String())
	var bayes pmlm.Answer
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &bayes))
	train, _, _ := c.Split(cohort.DefaultSplit())
	b, err := p.BayesRefiner(train, pmlm.BayesOptions{References: 2, Seed: 3})
	require.NoError(t, err)
	lib, err := p.Respond(ctx, test[0], pmlm.RespondOptions{Bayes: b})
	require.NoError(t, err)
	require.NotNil(t, bayes.Bayes)
	assert.Equal(t, *lib.Bayes, *bayes.Bayes)
	assert.Equal(t, lib.Final, bayes.Final)
	assert.Equal(t, lib.Response.Text, bayes.Response.Text)

	// The same cohort with metrics.csv (and the visits' columns) reversed:
	// the values are matched to the model's catalogue by name, so respond
	// and prompt give the same output (issue 15: the order was trusted).
	rev := *c
	rev.Metrics = slices.Clone(c.Metrics)
	slices.Reverse(rev.Metrics)
	rev.Patients = nil
	for _, pt := range c.Patients {
		rp := pt
		rp.Visits = nil
		for _, v := range pt.Visits {
			vals := slices.Clone(v.Values)
			slices.Reverse(vals)
			rp.Visits = append(rp.Visits, cohort.Visit{Date: v.Date, Values: vals})
		}
		rev.Patients = append(rev.Patients, rp)
	}
	revDir := filepath.Join(t.TempDir(), "reversed")
	require.NoError(t, cohort.WriteDir(revDir, &rev))
	stdout.Reset()
	code = run(ctx, []string{"respond", model, revDir, "--patient", test[0].ID, "--json", "--coarse"}, &env{stdout: &stdout, stderr: &stderr})
	require.Equal(t, 0, code, "stderr: %s", stderr.String())
	var gotRev pmlm.Answer
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &gotRev))
	got.Response.Latency, gotRev.Response.Latency = 0, 0
	got.CoarseResponse.Latency, gotRev.CoarseResponse.Latency = 0, 0
	assert.Equal(t, got, gotRev)
	assert.Equal(t, prompts(model, "--data", dir, "--patient", test[0].ID), prompts(model, "--data", revDir, "--patient", test[0].ID))
}
