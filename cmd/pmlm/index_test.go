package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/internal/weaviateserver"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

// TestTrainWithWeaviateIndexGivesExactPrompts trains the same model twice,
// with the exact in-process index and with --index on a real Weaviate
// server on loopback: the training patients' prompts and every other
// patient's coarse prompt must be the same, the manifest must record the
// index with the encoder's version, and a mismatched --index is refused.
func TestTrainWithWeaviateIndexGivesExactPrompts(t *testing.T) {
	bin := os.Getenv(weaviateserver.EnvBinary)
	if bin == "" {
		t.Skipf("%s is not set: this test needs a weaviate-server binary (.ci/run builds one)", weaviateserver.EnvBinary)
	}
	if raceEnabled {
		t.Skip("trains two models: run without -race (the Weaviate index's own tests run under -race)")
	}
	ctx := context.Background()
	dir := t.TempDir()
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	srv, err := weaviateserver.Start(sctx, bin, filepath.Join(dir, "weaviate"), nil)
	cancel()
	require.NoError(t, err)
	defer srv.Stop()
	_, grpcPort, err := net.SplitHostPort(srv.GRPCAddr)
	require.NoError(t, err)
	location := "weaviate://" + srv.Addr + "/CmdTrain?grpc=" + grpcPort + "&tenant=ward-1"

	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr}
	data := filepath.Join(dir, "data")
	// 120 patients keep CI fast; PMLM_INDEX_DEFAULT_COHORT=1 runs the same
	// comparison on the default synthetic cohort (2,373 patients; minutes).
	synth := []string{"synth", "--out", data, "--patients", "120", "--seed", "5"}
	if os.Getenv("PMLM_INDEX_DEFAULT_COHORT") != "" {
		synth = []string{"synth", "--out", data}
	}
	require.Equal(t, 0, run(ctx, synth, e), stderr.String())
	train := []string{"--responder", "case", "--store-cases", "--epochs", "1", "--episodes", "8", "--batch", "4", "--validation", "4", "--workers", "1", "--seed", "3"}
	exactDir, indexDir := filepath.Join(dir, "exact"), filepath.Join(dir, "indexed")
	require.Equal(t, 0, run(ctx, append([]string{"train", data, "--out", exactDir}, train...), e), stderr.String())
	require.Equal(t, 0, run(ctx, append([]string{"train", data, "--out", indexDir, "--index", location}, train...), e), stderr.String())

	// The training patients' prompts (the case responder's knowledge).
	a, err := os.ReadFile(filepath.Join(exactDir, "cases.jsonl"))
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(indexDir, "cases.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, string(a), string(b))

	m, err := pmlm.ReadManifest(indexDir)
	require.NoError(t, err)
	require.NotNil(t, m.Index)
	assert.Equal(t, m.Parts[pmlm.PartEncoder].SHA256, m.Index.EncoderVersion)
	assert.Contains(t, m.Index.Location, "/CmdTrain?")

	// Every validation and test patient's coarse prompt, the index
	// queried through Weaviate.
	c, _, err := cohort.ReadDir(data, cohort.ReadOptions{})
	require.NoError(t, err)
	exact, err := pmlm.Load(ctx, exactDir, pmlm.LoadOptions{})
	require.NoError(t, err)
	indexed, err := pmlm.Load(ctx, indexDir, pmlm.LoadOptions{Loaders: indexLoaders(ctx, "")})
	require.NoError(t, err)
	_, validation, test := c.Split(cohort.DefaultSplit())
	for _, p := range append(validation, test...) {
		want, err := exact.CoarsePrompt(ctx, p)
		require.NoError(t, err)
		got, err := indexed.CoarsePrompt(ctx, p)
		require.NoError(t, err)
		assert.Equal(t, want, got, p.ID)
	}
	t.Logf("%d training patients' prompts and %d validation and test patients' coarse prompts compared", len(c.Patients)-len(validation)-len(test), len(validation)+len(test))

	// The command line: the index's prompt, and the refusals.
	id := test[0].ID
	stdout.Reset()
	require.Equal(t, 0, run(ctx, []string{"prompt", indexDir, "--data", data, "--patient", id, "--index", location}, e), stderr.String())
	viaIndex := stdout.String()
	stdout.Reset()
	require.Equal(t, 0, run(ctx, []string{"prompt", exactDir, "--data", data, "--patient", id}, e), stderr.String())
	assert.Equal(t, stdout.String(), viaIndex)

	stderr.Reset()
	assert.NotEqual(t, 0, run(ctx, []string{"prompt", exactDir, "--data", data, "--patient", id, "--index", location}, e))
	assert.Contains(t, stderr.String(), "in-process index")
	stderr.Reset()
	assert.NotEqual(t, 0, run(ctx, []string{"serve", exactDir, "--index", location}, e))
	assert.Contains(t, stderr.String(), "in-process index")
	stderr.Reset()
	other := "weaviate://" + srv.Addr + "/OtherCollection?grpc=" + grpcPort + "&tenant=ward-1"
	assert.NotEqual(t, 0, run(ctx, []string{"prompt", indexDir, "--data", data, "--patient", id, "--index", other}, e))
	assert.Contains(t, stderr.String(), "CmdTrain")
}
