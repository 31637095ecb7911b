package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/pmlm"
)

// TestTrainSurvivesSIGKILLAndResumes kills a real `pmlm train` process with
// SIGKILL once it has written a checkpoint, then runs the same command with
// --resume: it must continue from the checkpoint and save a loadable model.
func TestTrainSurvivesSIGKILLAndResumes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SIGKILL semantics")
	}
	dir := t.TempDir()
	bin := pmlmBinary(t)

	data := filepath.Join(dir, "data")
	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr}
	require.Equal(t, 0, run(context.Background(), []string{"synth", "--out", data, "--patients", "120", "--seed", "5"}, e), stderr.String())

	model := filepath.Join(dir, "model")
	ckpt := model + ".checkpoint"
	args := []string{"train", data, "--out", model, "--epochs", "3", "--episodes", "24", "--batch", "4",
		"--validation", "4", "--workers", "1", "--seed", "3", "--responder", "case", "--store-cases"}

	first := exec.Command(bin, args...)
	var firstErr bytes.Buffer
	first.Stderr = &firstErr
	require.NoError(t, first.Start())
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if fi, err := os.Stat(ckpt); err == nil && fi.Size() > 0 {
			break
		}
		if time.Now().After(deadline) {
			_ = first.Process.Kill()
			t.Fatalf("no checkpoint after 3 minutes; stderr:\n%s", firstErr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.NoError(t, first.Process.Signal(os.Kill))
	_ = first.Wait()
	_, err := os.Stat(model)
	require.True(t, os.IsNotExist(err), "the killed run must not have saved a model")

	second := exec.Command(bin, append(args, "--resume")...)
	var secondErr bytes.Buffer
	second.Stderr = &secondErr
	secondOut, err := second.Output()
	require.NoError(t, err, secondErr.String())
	assert.Contains(t, secondErr.String(), "resumed from "+ckpt)
	assert.Contains(t, string(secondOut), "saved the model to "+model)

	p, err := pmlm.Load(context.Background(), model, pmlm.LoadOptions{})
	require.NoError(t, err)
	assert.Len(t, p.Labels(), 12)
	// No temporary files and no checkpoint (issue 15 item 15) are left
	// beside the model.
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, en := range entries {
		names = append(names, en.Name())
	}
	assert.ElementsMatch(t, []string{"data", "model"}, names)
}
