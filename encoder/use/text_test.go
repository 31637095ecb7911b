package use

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWindowsCoverEveryToken(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 129, 191, 192, 193, 300, 1000} {
		ws := windows(n, 128)
		own := owner(ws, n)
		for tk, w := range own {
			require.GreaterOrEqual(t, w, 0, "n=%d token %d", n, tk)
			win := ws[w]
			require.True(t, tk >= win.start && tk < win.end)
			// Context on each side, as far as the text has it.
			assert.GreaterOrEqual(t, tk-win.start, min(tk, 32), "n=%d token %d", n, tk)
			assert.GreaterOrEqual(t, win.end-1-tk, min(n-1-tk, 32), "n=%d token %d", n, tk)
		}
		for _, w := range ws {
			assert.LessOrEqual(t, w.end-w.start, 128)
		}
	}
}

// longReply is a synthetic reply of 298 pieces.
func longReply(t *testing.T) string {
	var ref modelCases
	readGzipJSON(t, "testdata/states.json.gz", &ref)
	text := ref.Cases[len(ref.Cases)-1].Text
	require.Greater(t, len(testModel(t).Tokenizer().Encode(text)), 256)
	return text
}

// TestLongTextKeepsEveryToken: a text over 128 tokens gets a state for
// every token; those the first window owns equal the graph's states of
// the clipped text, and the sentence vector pools all tokens.
func TestLongTextKeepsEveryToken(t *testing.T) {
	m := testModel(t)
	ctx := context.Background()
	text := longReply(t)
	ids := m.Tokenizer().Encode(text)
	docs, err := m.Documents(ctx, []string{text, "short text"})
	require.NoError(t, err)
	d := docs[0]
	require.Len(t, d.Layers[1], len(ids))
	assert.Equal(t, 4, d.Windows) // 298 tokens: windows at 0, 64, 128, 170
	clipped, err := m.Run(ctx, [][]int{ids[:128]})
	require.NoError(t, err)
	for tk := 0; tk < 96; tk++ {
		assert.Equal(t, clipped[0].Layers[1][tk], d.Layers[1][tk], "token %d", tk)
	}
	assert.NotEqual(t, clipped[0].Vector, d.Vector, "the long vector pools all tokens")
	dot := 0.0
	for i := range d.Vector {
		dot += float64(d.Vector[i]) * float64(clipped[0].Vector[i])
	}
	assert.Greater(t, dot, 0.5, "it still describes the same text")
	assert.Equal(t, 1, docs[1].Windows)
}

// TestConcurrentUse runs the model from several goroutines at once; each
// result equals the sequential one.
func TestConcurrentUse(t *testing.T) {
	m := testModel(t)
	ctx := context.Background()
	texts := []string{"Final diagnosis: normal pregnancy.", "platelet count 112 ×10⁹/L", "Rest and eat well; come back at 42 days.", "a"}
	want, err := m.Documents(ctx, texts)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Go(func() {
			for i, text := range texts {
				got, err := m.Documents(ctx, []string{text})
				if !assert.NoError(t, err) {
					return
				}
				assert.Equal(t, want[i].Vector, got[0].Vector, "%q", text)
			}
		})
	}
	wg.Wait()
}

func TestRunRefusesBadInput(t *testing.T) {
	m := testModel(t)
	ctx := context.Background()
	_, err := m.Run(ctx, [][]int{make([]int, 129)})
	require.ErrorIs(t, err, ErrInput)
	assert.Contains(t, err.Error(), "129 tokens")
	_, err = m.Run(ctx, [][]int{{5, 8000}})
	require.ErrorIs(t, err, ErrInput)
	_, err = m.Run(ctx, [][]int{{-1}})
	require.ErrorIs(t, err, ErrInput)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = m.Run(cctx, [][]int{{5}})
	require.ErrorIs(t, err, context.Canceled)
	out, err := m.Run(ctx, [][]int{{}})
	require.NoError(t, err, "an empty sequence runs: no tokens, the head's vector of a zero mean")
	assert.Empty(t, out[0].Layers[1])
	assert.Len(t, out[0].Vector, 512)
}

func TestTextEncoder(t *testing.T) {
	enc, err := NewTextEncoder(testModel(t), 1)
	require.NoError(t, err)
	assert.Equal(t, "use-lite/layer-1", enc.Name())
	assert.Equal(t, 512, enc.Dim())
	text := "Final diagnosis:  gestational diabetes.\tKeep ×10⁹/L"
	e, err := enc.Encode(context.Background(), text)
	require.NoError(t, err)
	assert.Equal(t, len(strings.Fields(text)), e.NumWords)
	require.Len(t, e.Vectors, len(e.Tokens))
	words := strings.Fields(text)
	for i, w := range e.WordOf {
		require.GreaterOrEqual(t, w, 0, "token %q", e.Tokens[i])
		piece := strings.TrimPrefix(e.Tokens[i], Separator)
		if piece != "" && !strings.ContainsAny(piece, "\t") {
			assert.Contains(t, nfkc(words[w]), piece, "token %d %q", i, e.Tokens[i])
		}
	}
	assert.Len(t, e.WordVectors(), e.NumWords)
	_, err = NewTextEncoder(testModel(t), 2)
	require.Error(t, err)
}

func TestReadRefusesBadFiles(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, WriteFile(&buf, Header{DType: "float32", Tensors: []TensorInfo{{Name: "x", Shape: []int{2}}}}, [][]float32{{1, 2}}))
	_, err := Read(bytes.NewReader(buf.Bytes()))
	require.ErrorIs(t, err, ErrFormat, "a file without the model's tensors")
	for name, data := range map[string][]byte{
		"empty":     nil,
		"not gzip":  []byte("PMLMUSE\x00\x01"),
		"truncated": embedded[:len(embedded)/2],
	} {
		_, err := Read(bytes.NewReader(data))
		assert.True(t, errors.Is(err, ErrFormat) || err != nil, name)
		assert.Error(t, err, name)
	}
	require.Error(t, WriteFile(&buf, Header{DType: "int8"}, nil))
}
