package policy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzLoad feeds arbitrary bytes to Load: it must return a network or an
// error, never panic or allocate what the configuration claims.
func FuzzLoad(f *testing.F) {
	m, err := New(Config{WordDim: 3, PatientDim: 2, Hidden: 4, Layers: 3, Dropout: 0.4}, 1)
	require.NoError(f, err)
	var buf bytes.Buffer
	require.NoError(f, m.Save(&buf))
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:buf.Len()/2])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Load(bytes.NewReader(data))
		if err == nil {
			require.NotNil(t, got)
			require.Len(t, got.Params(), len(got.Config().paramShapes()))
		}
	})
}

// wrapCheckpoint frames a payload as a checkpoint file with a valid header
// and checksum, so that the fuzzer reaches the gob decoding and the checks
// behind it.
func wrapCheckpoint(payload []byte) []byte {
	out := append([]byte(checkpointMagic), 0, 0, 0, 0)
	binary.BigEndian.PutUint32(out[len(checkpointMagic):], checkpointVersion)
	out = binary.BigEndian.AppendUint64(out, uint64(len(payload)))
	out = append(out, payload...)
	sum := sha256.Sum256(payload)
	return append(out, sum[:]...)
}

// FuzzResume feeds arbitrary checkpoint payloads to Trainer.Resume: it must
// load them or fail with an error, never panic.
func FuzzResume(f *testing.F) {
	dir := f.TempDir()
	task := newToyTask(4, 3, 1, 3, 2, 1)
	cfg := func(t testing.TB, ckpt string) TrainerConfig {
		m, err := New(Config{WordDim: 3, PatientDim: 2, Hidden: 4, Layers: 3, Dropout: 0.4}, 1)
		require.NoError(t, err)
		return TrainerConfig{Policy: m, Text: task.text, Cases: task, Reward: task.reward,
			BatchSize: 2, Steps: 2, Seed: 1, CheckpointPath: ckpt, CheckpointEvery: 1}
	}
	seedPath := filepath.Join(dir, "seed.ckpt")
	tr, err := NewTrainer(cfg(f, seedPath))
	require.NoError(f, err)
	_, err = tr.Train(context.Background())
	require.NoError(f, err)
	raw, err := os.ReadFile(seedPath)
	require.NoError(f, err)
	f.Add(raw[headerLen : len(raw)-sha256.Size])
	f.Add([]byte("not gob"))
	f.Fuzz(func(t *testing.T, payload []byte) {
		p := filepath.Join(t.TempDir(), "c.ckpt")
		require.NoError(t, os.WriteFile(p, wrapCheckpoint(payload), 0o600))
		tr, err := NewTrainer(cfg(t, p))
		require.NoError(t, err)
		_ = tr.Resume(p) // an error is fine; a panic is not
	})
}
