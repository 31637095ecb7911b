package similarity

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func keyedRefs() []Reference {
	return []Reference{
		{Key: "a", Vector: []float32{1, 0}, Label: "x"},
		{Key: "b", Vector: []float32{0.9, 0.1}, Label: "y"},
		{Key: "c", Vector: []float32{0, 1}, Label: "z"},
	}
}

func TestRecommendExcludesByKey(t *testing.T) {
	e, err := NewIndex(keyedRefs())
	require.NoError(t, err)
	ctx := context.Background()
	got, err := e.Recommend(ctx, Query{Vector: []float32{1, 0}, K: 2})
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, []string{"a", "b"}, []string{got[0].Key, got[1].Key})
	got, err = e.Recommend(ctx, Query{Vector: []float32{1, 0}, K: 2, Exclude: []string{"a", "unknown"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"b", "c"}, []string{got[0].Key, got[1].Key})
}

func TestNewIndexRejectsBadKeys(t *testing.T) {
	refs := keyedRefs()
	refs[2].Key = "a"
	_, err := NewIndex(refs)
	require.ErrorIs(t, err, ErrInvalid)
	refs[2].Key = ""
	_, err = NewIndex(refs)
	require.ErrorIs(t, err, ErrInvalid)
}

func TestExactSaveLoad(t *testing.T) {
	e, err := NewIndex(keyedRefs())
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, e.Save(&buf))
	f, err := LoadExact(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	assert.Equal(t, e.References(), f.References())
	q := Query{Vector: []float32{0.5, 0.5}, K: 3, Exclude: []string{"b"}}
	want, err := e.Recommend(context.Background(), q)
	require.NoError(t, err)
	got, err := f.Recommend(context.Background(), q)
	require.NoError(t, err)
	assert.Equal(t, want, got)

	_, err = LoadExact(bytes.NewReader(buf.Bytes()[:buf.Len()/2]))
	require.ErrorIs(t, err, ErrInvalid)
}
