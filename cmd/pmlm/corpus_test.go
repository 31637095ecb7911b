package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/llm/lm/corpus"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

func TestCorpusCommand(t *testing.T) {
	dir, c := promptCohort(t)
	train, _, _ := c.Split(cohort.DefaultSplit())
	out := filepath.Join(t.TempDir(), "pairs.jsonl")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"corpus", dir, "--out", out, "--overlap", "--features", "840"},
		&env{stdout: &stdout, stderr: &stderr})
	require.Equal(t, 0, code, "stderr: %s", stderr.String())

	m := regexp.MustCompile(`(\d+) pairs from (\d+) training patients and 35 indicators: single (\d+) differential (\d+) likelihood (\d+) lab 840 signature 280`).
		FindStringSubmatch(stdout.String())
	require.NotNil(t, m, stdout.String())
	assert.Equal(t, strconv.Itoa(len(train)), m[2])
	assert.Equal(t, strconv.Itoa(2*len(train)), m[3])

	// The file holds every pair, and no patient identifier.
	f, err := os.Open(out)
	require.NoError(t, err)
	defer f.Close()
	lines := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var p struct{ Kind, Input, Output, Label string }
		require.NoError(t, json.Unmarshal(sc.Bytes(), &p))
		assert.NotContains(t, p.Input, "P0")
		lines++
	}
	require.NoError(t, sc.Err())
	assert.Equal(t, m[1], strconv.Itoa(lines))

	// Overlap: shares for n = 1..4, each in [0, 1] and falling with n.
	ov := regexp.MustCompile(`1-gram ([0-9.]+) 2-gram ([0-9.]+) 3-gram ([0-9.]+) 4-gram ([0-9.]+)`).FindStringSubmatch(stdout.String())
	require.NotNil(t, ov, stdout.String())
	prev := 1.0
	for _, s := range ov[1:] {
		v, err := strconv.ParseFloat(s, 64)
		require.NoError(t, err)
		assert.LessOrEqual(t, v, prev)
		prev = v
	}
	assert.Less(t, prev, 0.25, "the corpus must not copy the template's phrases")
}

// The obstetric knowledge of the corpus describes the same indicators as
// the cohort's catalogue, and completes every one of them.
func TestObstetricIndicatorsMatchCatalogue(t *testing.T) {
	metrics := cohort.ObstetricMetrics()
	known := corpus.ObstetricIndicators()
	require.Len(t, known, len(metrics))
	for i, m := range metrics {
		k := known[i]
		assert.Equal(t, []any{m.Name, m.Description, m.Unit, m.Min, m.Max}, []any{k.Name, k.Description, k.Unit, k.Min, k.Max})
	}
	c := cohort.NewObstetricCohort()
	_, inds := pmlm.CorpusInputs(c, nil)
	for i, in := range inds {
		assert.Equal(t, known[i].Source, in.Source, in.Name)
		assert.NoError(t, in.Validate())
	}
}
