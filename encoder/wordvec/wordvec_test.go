package wordvec

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/encoder"
)

func loadDefault(t testing.TB) *Vectors {
	t.Helper()
	v, err := Default()
	require.NoError(t, err)
	return v
}

func cos(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

func vec(t *testing.T, v *Vectors, w string) []float32 {
	t.Helper()
	id, ok := v.Lookup(w)
	require.True(t, ok, w)
	return v.Vector(id)
}

func TestDefault(t *testing.T) {
	v := loadDefault(t)
	assert.Equal(t, DefaultName, v.Name())
	assert.Equal(t, 100, v.Dim())
	assert.GreaterOrEqual(t, v.Len(), 50000)
	// The most frequent words come first, in GloVe's order.
	assert.Equal(t, "the", v.Word(0))
	// Medical vocabulary from the cohort specification is covered.
	for _, w := range []string{"preeclampsia", "gestational", "hemoglobin", "cesarean", "apgar"} {
		_, ok := v.Lookup(w)
		assert.True(t, ok, w)
	}
	// The vectors carry meaning: related words are closer than unrelated.
	assert.Greater(t, cos(vec(t, v, "pregnancy"), vec(t, v, "pregnant")), cos(vec(t, v, "pregnancy"), vec(t, v, "football")))
	assert.Greater(t, cos(vec(t, v, "blood"), vec(t, v, "bleeding")), cos(vec(t, v, "blood"), vec(t, v, "guitar")))
}

func TestTokenize(t *testing.T) {
	got := Tokenize("High-dose, (IV)  oxytocin's\tfine\u0007 ok")
	var texts []string
	var words []int
	for _, p := range got {
		texts = append(texts, p.Text)
		words = append(words, p.Word)
	}
	assert.Equal(t, []string{"high", "-", "dose", ",", "(", "iv", ")", "oxytocin", "'", "s", "fine", "ok"}, texts)
	assert.Equal(t, []int{0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 4}, words)
	assert.Empty(t, Tokenize(" \n\t"))
}

func TestEncode(t *testing.T) {
	v := loadDefault(t)
	ctx := context.Background()
	text := "Severe preeclampsia, treated with zqxjvbw."
	e, err := v.Encode(ctx, text)
	require.NoError(t, err)
	n := len(e.Tokens)
	assert.Equal(t, []string{"severe", "preeclampsia", ",", "treated", "with", "zqxjvbw", "."}, e.Tokens)
	require.Len(t, e.IDs, n)
	require.Len(t, e.Vectors, n)
	require.Len(t, e.Special, n)
	require.Len(t, e.WordOf, n)
	assert.Equal(t, len(encoder.Words(text)), e.NumWords)
	assert.Equal(t, []int{0, 1, 1, 2, 3, 4, 4}, e.WordOf)
	assert.NotContains(t, e.Special, true)
	for i, tok := range e.Tokens {
		require.Len(t, e.Vectors[i], v.Dim())
		if id, ok := v.Lookup(tok); ok {
			assert.Equal(t, id, e.IDs[i], tok)
			assert.Equal(t, v.Vector(id), e.Vectors[i], tok)
		}
	}
	// Out of vocabulary: id -1 and the deterministic hashed vector, the same
	// each time and for every occurrence, and unlike other unknown tokens.
	assert.Equal(t, -1, e.IDs[5])
	assert.Equal(t, v.OOVVector("zqxjvbw"), e.Vectors[5])
	e2, err := v.Encode(ctx, "zqxjvbw qqxyzzy")
	require.NoError(t, err)
	assert.Equal(t, e.Vectors[5], e2.Vectors[0])
	assert.InDelta(t, 1.0, cos(e2.Vectors[0], e.Vectors[5]), 1e-6)
	assert.Less(t, math.Abs(cos(e2.Vectors[0], e2.Vectors[1])), 0.5)
	// Encoded vectors are copies: changing them leaves the table intact.
	before := append([]float32(nil), v.Vector(e.IDs[0])...)
	e.Vectors[0][0] += 1
	assert.Equal(t, before, v.Vector(e.IDs[0]))
}

func TestEncodeWholeWord(t *testing.T) {
	v := loadDefault(t)
	id, ok := v.Lookup("high-risk")
	if !ok {
		t.Skip(`"high-risk" not in the embedded vocabulary`)
	}
	e, err := v.Encode(context.Background(), "a high-risk case")
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "high", "-", "risk", "case"}, e.Tokens)
	for i := 1; i <= 3; i++ {
		assert.Equal(t, id, e.IDs[i])
	}
	wv := e.WordVectors()
	require.Len(t, wv, 3)
	assert.InDeltaSlice(t, v.Vector(id), wv[1], 1e-6)
}

func TestEncodeCanceled(t *testing.T) {
	v := loadDefault(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := v.Encode(ctx, "hello")
	require.ErrorIs(t, err, context.Canceled)
}

func TestWriteRead(t *testing.T) {
	words := []string{"a", "b", "ζ"}
	vecs := [][]float32{{1, -2, 0.5}, {0, 0, 0}, {3, 3, -3}}
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, words, vecs))
	v, err := Read(bytes.NewReader(buf.Bytes()), "tiny")
	require.NoError(t, err)
	assert.Equal(t, "tiny", v.Name())
	assert.Equal(t, 3, v.Dim())
	assert.Equal(t, 3, v.Len())
	for i, w := range words {
		id, ok := v.Lookup(w)
		require.True(t, ok)
		assert.Equal(t, i, id)
		// 8 bits with a per-vector scale: error at most half a step.
		for j, x := range vecs[i] {
			step := 2.0 / 127
			if i == 2 {
				step = 3.0 / 127
			}
			assert.InDelta(t, x, v.Vector(id)[j], step/2+1e-6)
		}
	}
	require.ErrorContains(t, Write(&buf, []string{"a", "a"}, [][]float32{{1}, {2}}), "repeated")
	require.ErrorContains(t, Write(&buf, []string{"a"}, nil), "1 words but 0 vectors")
	require.ErrorContains(t, Write(&buf, []string{"a", "b"}, [][]float32{{1}, {2, 3}}), "length 2, want 1")
}

func TestReadErrors(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, []string{"x", "y"}, [][]float32{{1, 2}, {3, 4}}))
	good := buf.Bytes()
	_, err := Read(strings.NewReader("not gzip"), "x")
	require.ErrorIs(t, err, ErrFormat)
	// Truncated gzip stream.
	_, err = Read(bytes.NewReader(good[:len(good)-12]), "x")
	require.ErrorIs(t, err, ErrFormat)
	// Wrong magic inside a valid gzip stream.
	var bad bytes.Buffer
	require.NoError(t, Write(&bad, []string{"x"}, [][]float32{{1}}))
	raw := gunzip(t, bad.Bytes())
	raw[0] = 'Q'
	_, err = Read(bytes.NewReader(gzipBytes(t, raw)), "x")
	require.ErrorContains(t, err, "not a wordvec file")
	// Trailing bytes.
	raw = append(gunzip(t, good), 0)
	_, err = Read(bytes.NewReader(gzipBytes(t, raw)), "x")
	require.ErrorContains(t, err, "trailing data")
}

func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	if err := Write(&buf, []string{"x", "y"}, [][]float32{{1, 2}, {3, 4}}); err != nil {
		f.Fatal(err)
	}
	f.Add(gunzipF(f, buf.Bytes()))
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var z bytes.Buffer
		zw := newGzip(&z)
		zw.Write(raw)
		zw.Close()
		v, err := Read(&z, "f")
		if err == nil {
			// Whatever decodes is self-consistent.
			for i := range v.Len() {
				id, ok := v.Lookup(v.Word(i))
				if !ok || id != i || len(v.Vector(i)) != v.Dim() {
					t.Fatalf("inconsistent table at %d", i)
				}
			}
		}
	})
}

func BenchmarkDefault(b *testing.B) {
	for b.Loop() {
		if _, err := Default(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	v := loadDefault(b)
	text := "Severe preeclampsia at 34 weeks; cesarean delivery, estimated blood loss 900 mL. Hemoglobin fell from 11.2 to 8.9 g/dL."
	ctx := context.Background()
	for b.Loop() {
		if _, err := v.Encode(ctx, text); err != nil {
			b.Fatal(err)
		}
	}
}
