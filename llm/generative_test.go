package llm

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/llm/lm"
)

// trainedLM memorizes two prompt/reply pairs that differ in the diagnosis.
func trainedLM(t *testing.T) *lm.Model {
	t.Helper()
	train := []lm.Example{
		{Prompt: "Diagnosis: gestational diabetes.", Reply: "Check your glucose six weeks after delivery."},
		{Prompt: "Diagnosis: normal.", Reply: "Routine care; come to the 42-day check."},
	}
	var texts []string
	for _, e := range train {
		texts = append(texts, e.Prompt, e.Reply)
	}
	v, err := lm.NewVocabulary(texts, 1)
	require.NoError(t, err)
	m, err := lm.New(lm.Config{Dim: 32, Heads: 2, Layers: 1, Hidden: 64, Context: 48, MaxPrompt: 16}, v, 1)
	require.NoError(t, err)
	_, err = lm.Train(context.Background(), m, append(train, train...), lm.TrainOptions{Epochs: 60, BatchSize: 4, LearningRate: 1e-2})
	require.NoError(t, err)
	return m
}

func TestGenerativeResponder(t *testing.T) {
	m := trainedLM(t)
	r, err := NewGenerative(m, lm.GenerateOptions{})
	require.NoError(t, err)
	ctx := context.Background()
	a, err := r.Respond(ctx, "Diagnosis: gestational diabetes.")
	require.NoError(t, err)
	assert.Equal(t, "Check your glucose six weeks after delivery.", a.Text)
	assert.Equal(t, ProviderLM, a.Provider)
	assert.Equal(t, "stop", a.StopReason)
	assert.Positive(t, a.CompletionTokens)
	b, err := r.Respond(ctx, "Diagnosis: normal.")
	require.NoError(t, err)
	assert.Equal(t, "Routine care; come to the 42-day check.", b.Text)
	assert.False(t, b.Cached)
	again, err := r.Respond(ctx, "Diagnosis: normal.")
	require.NoError(t, err)
	assert.True(t, again.Cached, "a repeated prompt is answered from memory")
	assert.Equal(t, b.Text, again.Text)

	// The identity names the weights and the decoding.
	id := r.Identity()
	assert.Equal(t, ProviderLM, id.Provider)
	beam, err := NewGenerative(m, lm.GenerateOptions{Beam: 3})
	require.NoError(t, err)
	assert.NotEqual(t, id, beam.Identity())
	short, err := NewGenerative(m, lm.GenerateOptions{MaxTokens: 2})
	require.NoError(t, err)
	c, err := short.Respond(ctx, "Diagnosis: normal.")
	require.NoError(t, err)
	assert.Equal(t, "length", c.StopReason)

	// Answers go through the response cache like any responder's.
	store, err := OpenCache(t.TempDir()+"/cache.db", nil)
	require.NoError(t, err)
	defer store.Close()
	fresh, err := NewGenerative(m, lm.GenerateOptions{})
	require.NoError(t, err)
	cached := Cached(fresh, store)
	first, err := cached.Respond(ctx, "Diagnosis: gestational diabetes.")
	require.NoError(t, err)
	second, err := cached.Respond(ctx, "Diagnosis: gestational diabetes.")
	require.NoError(t, err)
	assert.False(t, first.Cached)
	assert.True(t, second.Cached)
	assert.Equal(t, first.Text, second.Text)

	_, err = NewGenerative(nil, lm.GenerateOptions{})
	require.ErrorIs(t, err, lm.ErrModel)
	_, err = NewGenerative(m, lm.GenerateOptions{Beam: -1})
	require.Error(t, err)
}

func TestGenerativeResponderSaveRead(t *testing.T) {
	m := trainedLM(t)
	m.SetInfo(lm.Info{Mode: "general", Seed: 1, Epochs: 60, Examples: 4})
	r, err := NewGenerative(m, lm.GenerateOptions{MaxTokens: 20, Beam: 2})
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, r.Save(&buf))
	got, err := ReadGenerative(&buf)
	require.NoError(t, err)
	assert.Equal(t, GenerativeKind, got.Kind())
	assert.Equal(t, r.Identity(), got.Identity(), "same weights and decoding")
	assert.Equal(t, m.Info(), got.Model().Info())
	ctx := context.Background()
	want, err := r.Respond(ctx, "Diagnosis: normal.")
	require.NoError(t, err)
	have, err := got.Respond(ctx, "Diagnosis: normal.")
	require.NoError(t, err)
	assert.Equal(t, want.Text, have.Text)

	_, err = ReadGenerative(strings.NewReader("{\"beam\": 1}\nnot a model"))
	require.ErrorIs(t, err, lm.ErrModelDir)
	_, err = ReadGenerative(strings.NewReader("no header"))
	require.Error(t, err)
	_, err = ReadGenerative(strings.NewReader("{\"beam\": -1}\n"))
	require.Error(t, err)
}
