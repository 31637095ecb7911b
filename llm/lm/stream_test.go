package lm

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteReadModelRoundTrip(t *testing.T) {
	m, err := New(tinyConfig(), tinyVocab(t), 1)
	require.NoError(t, err)
	randomize(m, 4)
	info := Info{Mode: "general", Seed: 2, Epochs: 1, Examples: 7, DataDigest: "abc", ValidationPerplexity: 2.5}
	var buf bytes.Buffer
	require.NoError(t, WriteModel(&buf, m, info))
	raw := append([]byte(nil), buf.Bytes()...)

	got, gotInfo, err := ReadModel(&buf)
	require.NoError(t, err)
	assert.Equal(t, info, gotInfo)
	assert.Equal(t, info, got.Info(), "the model carries how it was trained")
	assert.Equal(t, m.Digest(), got.Digest())
	ctx := context.Background()
	g1, err := m.Generate(ctx, "diagnosis: diabetes", GenerateOptions{MaxTokens: 8})
	require.NoError(t, err)
	g2, err := got.Generate(ctx, "diagnosis: diabetes", GenerateOptions{MaxTokens: 8})
	require.NoError(t, err)
	assert.Equal(t, g1, g2)

	// The same model and info give the same bytes.
	var again bytes.Buffer
	require.NoError(t, WriteModel(&again, got, gotInfo))
	assert.Equal(t, raw, again.Bytes())
}

func TestReadModelRefusesDamagedStreams(t *testing.T) {
	m, err := New(tinyConfig(), tinyVocab(t), 1)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, WriteModel(&buf, m, Info{}))
	raw := buf.Bytes()
	cases := map[string][]byte{
		"empty":          nil,
		"wrong magic":    append([]byte("PMLMLMX1"), raw[8:]...),
		"truncated head": raw[:20],
		"truncated body": raw[:len(raw)-5],
		"trailing data":  append(append([]byte(nil), raw...), 0),
		"huge header":    append([]byte("PMLMLMS1\xff\xff\xff\xff"), raw[12:]...),
	}
	for name, b := range cases {
		_, _, err := ReadModel(bytes.NewReader(b))
		assert.ErrorIs(t, err, ErrModelDir, name)
	}
	require.Error(t, WriteModel(&buf, nil, Info{}))
}

// FuzzReadModel feeds damaged streams to ReadModel: it returns a model or
// an error, never panics, and a model it returns writes back to a stream
// that reads the same.
func FuzzReadModel(f *testing.F) {
	v, err := NewVocabulary([]string{"a b c d"}, 1)
	require.NoError(f, err)
	m, err := New(Config{Dim: 4, Heads: 1, Layers: 1, Hidden: 4, Context: 16, MaxPrompt: 8}, v, 1)
	require.NoError(f, err)
	var buf bytes.Buffer
	require.NoError(f, WriteModel(&buf, m, Info{Mode: "general"}))
	f.Add(buf.Bytes())
	f.Add([]byte("PMLMLMS1\x02\x00\x00\x00{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, info, err := ReadModel(bytes.NewReader(b))
		if err != nil {
			assert.ErrorIs(t, err, ErrModelDir)
			return
		}
		var out bytes.Buffer
		require.NoError(t, WriteModel(&out, got, info))
		again, _, err := ReadModel(&out)
		require.NoError(t, err)
		assert.Equal(t, got.Digest(), again.Digest())
	})
}
