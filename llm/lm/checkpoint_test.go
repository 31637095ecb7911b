package lm

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func resumeFixture(t *testing.T) (*Vocabulary, []Example) {
	t.Helper()
	var ex []Example
	for i := range 24 {
		ex = append(ex, Example{Prompt: fmt.Sprintf("diagnosis %d: diabetes", i%5), Reply: fmt.Sprintf("Check glucose %d weeks after delivery.", i%7)})
	}
	var texts []string
	for _, e := range ex {
		texts = append(texts, e.Prompt, e.Reply)
	}
	v, err := NewVocabulary(texts, 1)
	require.NoError(t, err)
	return v, ex
}

// TestResumeAfterInterruptionEqualsStraightRun interrupts a run after a
// checkpoint and resumes it: the weights equal those of a run that was
// never interrupted.
func TestResumeAfterInterruptionEqualsStraightRun(t *testing.T) {
	v, ex := resumeFixture(t)
	opt := TrainOptions{Seed: 1, Epochs: 3, BatchSize: 4, Workers: 2}
	straight, err := New(tinyConfig(), v, 1)
	require.NoError(t, err)
	_, err = Train(context.Background(), straight, ex, opt)
	require.NoError(t, err)

	ckpt := filepath.Join(t.TempDir(), "run.ckpt")
	interrupted, err := New(tinyConfig(), v, 1)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	o := opt
	o.Checkpoint, o.CheckpointEvery = ckpt, 5
	o.OnStep = func(p Progress) {
		if p.Step == 8 {
			cancel()
		}
	}
	_, err = Train(ctx, interrupted, ex, o)
	require.ErrorIs(t, err, context.Canceled)

	resumed, err := New(tinyConfig(), v, 1)
	require.NoError(t, err)
	o.OnStep, o.Resume = nil, true
	rep, err := Train(context.Background(), resumed, ex, o)
	require.NoError(t, err)
	assert.Equal(t, 6, rep.ResumedAt, "the end of epoch 1 is the last checkpoint before step 8")
	assert.Len(t, rep.TrainLoss, 3)
	require.Equal(t, straight.params, resumed.params)
}

func TestResumeRefusesAnotherRunsCheckpoint(t *testing.T) {
	v, ex := resumeFixture(t)
	ckpt := filepath.Join(t.TempDir(), "run.ckpt")
	m, err := New(tinyConfig(), v, 1)
	require.NoError(t, err)
	_, err = Train(context.Background(), m, ex, TrainOptions{Epochs: 1, BatchSize: 4, Checkpoint: ckpt})
	require.NoError(t, err)
	// Other data.
	other := append([]Example{{Prompt: "diagnosis: normal", Reply: "Routine care."}}, ex[1:]...)
	_, err = Train(context.Background(), m, other, TrainOptions{Epochs: 1, BatchSize: 4, Checkpoint: ckpt, Resume: true})
	require.ErrorIs(t, err, ErrCheckpoint)
	// Other options.
	_, err = Train(context.Background(), m, ex, TrainOptions{Epochs: 1, BatchSize: 8, Checkpoint: ckpt, Resume: true})
	require.ErrorIs(t, err, ErrCheckpoint)
	// A damaged file.
	b, err := os.ReadFile(ckpt)
	require.NoError(t, err)
	b[len(b)/2] ^= 1
	require.NoError(t, os.WriteFile(ckpt, b, 0o600))
	_, err = Train(context.Background(), m, ex, TrainOptions{Epochs: 1, BatchSize: 4, Checkpoint: ckpt, Resume: true})
	require.ErrorIs(t, err, ErrCheckpoint)
	require.ErrorContains(t, err, "damaged")
}

func TestTrainRejectsBadOptions(t *testing.T) {
	v, ex := resumeFixture(t)
	m, err := New(tinyConfig(), v, 1)
	require.NoError(t, err)
	for _, o := range []TrainOptions{
		{Epochs: -1}, {BatchSize: -2}, {LearningRate: 2}, {WeightDecay: -1}, {Workers: -1},
		{Resume: true}, {CheckpointEvery: -3},
	} {
		_, err := Train(context.Background(), m, ex, o)
		require.Error(t, err, "%+v", o)
	}
	_, err = Train(context.Background(), m, nil, TrainOptions{})
	require.Error(t, err)
	_, err = Train(context.Background(), nil, ex, TrainOptions{})
	require.ErrorIs(t, err, ErrModel)
}
