package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/encoder/use"
	"github.com/pmlm-go/pmlm/encoder/wordvec"
	"github.com/pmlm-go/pmlm/reward"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

func runScore(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"score"}, args...), &env{stdout: &out, stderr: &errOut})
	return code, out.String(), errOut.String()
}

// sacrebleu's README example: BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943
// ratio = 0.944 hyp_len = 17 ref_len = 18).
const (
	scoreCands = "The dog bit the man.\nIt wasn't surprising.\nThe man had just bitten him.\n"
	scoreRefA  = "The dog bit the man.\nIt was not unexpected.\nThe man bit him first.\n"
	scoreRefB  = "The dog had bit the man.\nNo one was surprised.\nThe man had bitten the dog.\n"
)

func TestScoreBLEU(t *testing.T) {
	dir := t.TempDir()
	c := writeFile(t, dir, "c.txt", scoreCands)
	a := writeFile(t, dir, "a.txt", scoreRefA)
	b := writeFile(t, dir, "b.txt", scoreRefB)
	code, out, errOut := runScore(t, "--metric", "bleu", "--cands", c, "--refs", a+","+b)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18")

	code, out, errOut = runScore(t, "--metric", "bleu", "--cands", c, "--refs", a+","+b, "--json")
	require.Equal(t, 0, code, errOut)
	var got struct {
		Pairs  []struct{ BLEU float64 } `json:"pairs"`
		Corpus struct{ BLEU float64 }   `json:"corpus"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.InDelta(t, 48.530827, got.Corpus.BLEU, 1e-6)
	require.Len(t, got.Pairs, 3)
	// Per pair: sacrebleu's sentence_bleu (effective order).
	bl, err := reward.NewBLEU(reward.BLEUOptions{EffectiveOrder: true})
	require.NoError(t, err)
	s, err := bl.Sentence("It wasn't surprising.", []string{"It was not unexpected.", "No one was surprised."})
	require.NoError(t, err)
	assert.InDelta(t, s.Score, got.Pairs[1].BLEU, 1e-12)
	assert.InDelta(t, 100, got.Pairs[0].BLEU, 1e-9)
}

func TestScoreROUGE(t *testing.T) {
	dir := t.TempDir()
	c := writeFile(t, dir, "c.txt", "the cats were running\nmild anemia\n")
	r := writeFile(t, dir, "r.txt", "the cat was running fast\nsevere anemia noted\n")
	code, out, errOut := runScore(t, "--metric", "rouge", "--cands", c, "--refs", r, "--stem", "--json")
	require.Equal(t, 0, code, errOut)
	var got struct {
		Pairs  []map[string]reward.PRF `json:"pairs"`
		Corpus map[string]reward.PRF   `json:"corpus"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	for _, typ := range []string{"rouge1", "rouge2", "rougeL", "rougeLsum"} {
		require.Contains(t, got.Corpus, typ)
	}
	// Stemmed: the, cat, running match (were/was do not): P=3/4, R=3/5.
	assert.InDelta(t, 0.75, got.Pairs[0]["rouge1"].Precision, 1e-12)
	assert.InDelta(t, 0.6, got.Pairs[0]["rouge1"].Recall, 1e-12)
	assert.InDelta(t, 0.5, got.Pairs[1]["rouge1"].Precision, 1e-12)
	assert.InDelta(t, (0.75+0.5)/2, got.Corpus["rouge1"].Precision, 1e-12)
}

func TestScoreBERTScoreDefault(t *testing.T) {
	dir := t.TempDir()
	c := writeFile(t, dir, "c.txt", scoreCands)
	a := writeFile(t, dir, "a.txt", scoreRefA)
	b := writeFile(t, dir, "b.txt", scoreRefB)
	code, out, errOut := runScore(t, "--metric", "bertscore", "--cands", c, "--refs", a+","+b, "--json", "--idf")
	require.Equal(t, 0, code, errOut)
	var got struct {
		Embedder string         `json:"embedder"`
		Default  bool           `json:"embedded_default"`
		IDF      bool           `json:"idf"`
		Pairs    []reward.Score `json:"pairs"`
		Corpus   reward.Score   `json:"corpus"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Equal(t, wordvec.DefaultName, got.Embedder)
	assert.True(t, got.Default)
	assert.True(t, got.IDF)
	// The same computation through the library.
	v, err := wordvec.Default()
	require.NoError(t, err)
	want, err := reward.NewBERTScorer(v, reward.BERTScoreOptions{IDF: true}).Score(context.Background(),
		[]string{"The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."},
		[][]string{{"The dog bit the man.", "The dog had bit the man."}, {"It was not unexpected.", "No one was surprised."}, {"The man bit him first.", "The man had bitten the dog."}})
	require.NoError(t, err)
	assert.InDeltaSlice(t, []float64{want.Pairs[1].P, want.Pairs[1].R, want.Pairs[1].F}, []float64{got.Pairs[1].P, got.Pairs[1].R, got.Pairs[1].F}, 1e-12)
	assert.InDelta(t, want.Mean.F, got.Corpus.F, 1e-12)

	code, out, errOut = runScore(t, "--metric", "bertscore", "--cands", c, "--refs", a)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "embedder: glove-wink-sg-100d (embedded text encoder")
}

// TestScoreBERTScoreUSE scores with Universal Sentence Encoder lite and
// checks the result against the library's computation.
func TestScoreBERTScoreUSE(t *testing.T) {
	dir := t.TempDir()
	c := writeFile(t, dir, "c.txt", scoreCands)
	a := writeFile(t, dir, "a.txt", scoreRefA)
	code, out, errOut := runScore(t, "--metric", "bertscore", "--text", "use", "--cands", c, "--refs", a, "--json")
	require.Equal(t, 0, code, errOut)
	var got struct {
		Embedder string         `json:"embedder"`
		Pairs    []reward.Score `json:"pairs"`
		Corpus   reward.Score   `json:"corpus"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Equal(t, "use-lite/layer-1", got.Embedder)
	enc, err := use.DefaultTextEncoder()
	require.NoError(t, err)
	want, err := reward.NewBERTScorer(enc, reward.BERTScoreOptions{}).Score(context.Background(),
		[]string{"The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."},
		[][]string{{"The dog bit the man."}, {"It was not unexpected."}, {"The man bit him first."}})
	require.NoError(t, err)
	require.Len(t, got.Pairs, 3)
	assert.InDelta(t, 1, got.Pairs[0].F, 1e-6, "identical texts")
	assert.InDelta(t, want.Pairs[1].F, got.Pairs[1].F, 1e-12)
	assert.InDelta(t, want.Mean.F, got.Corpus.F, 1e-12)
}

func TestScoreErrors(t *testing.T) {
	dir := t.TempDir()
	c := writeFile(t, dir, "c.txt", "one\ntwo\n")
	short := writeFile(t, dir, "short.txt", "one\n")
	gap := writeFile(t, dir, "gap.txt", "one\n  \n")
	bad := writeFile(t, dir, "bad.txt", "one\ntw\xffo\n")
	empty := writeFile(t, dir, "empty.txt", "")
	for _, tc := range []struct {
		args []string
		want string
		code int
	}{
		{[]string{"--metric", "bleu", "--cands", filepath.Join(dir, "missing.txt"), "--refs", c}, "missing.txt: no such file", 1},
		{[]string{"--metric", "bleu", "--cands", c, "--refs", short}, "short.txt has 1 lines but " + c + " has 2", 1},
		{[]string{"--metric", "rouge", "--cands", c, "--refs", gap}, "gap.txt:2: empty line", 1},
		{[]string{"--metric", "rouge", "--cands", c, "--refs", bad}, "bad.txt:2:3: invalid UTF-8", 1},
		{[]string{"--metric", "rouge", "--cands", empty, "--refs", c}, "empty.txt: no lines", 1},
		{[]string{"--metric", "meteor", "--cands", c, "--refs", c}, `--metric must be bleu, rouge or bertscore, not "meteor"`, 1},
		{[]string{"--metric", "bleu", "--cands", c}, "--cands and --refs are required", 1},
		{[]string{"--metric", "bleu", "--cands", c, "--refs", c, "--idf"}, "apply to --metric bertscore only", 1},
		{[]string{"--metric", "bleu", "--cands", c, "--refs", c, "--tokenize", "zh"}, "unknown tokenizer", 1},
		{[]string{"--metric", "bertscore", "--cands", c, "--refs", c, "--layer", "3"}, "--layer needs --model", 1},
		{[]string{"--metric", "bertscore", "--cands", c, "--refs", c, "--rescale", c}, "--rescale needs --model", 1},
		{[]string{"--metric", "bertscore", "--cands", c, "--refs", c, "--model", filepath.Join(dir, "nomodel")}, "nomodel", 1},
		{[]string{"--metric", "bertscore", "--cands", c, "--refs", c, "--text", "elmo"}, `unknown text encoder "elmo"`, 1},
		{[]string{"--metric", "bertscore", "--cands", c, "--refs", c, "--text", "use", "--model", dir}, "--text and --model", 1},
		{[]string{"--metric", "rouge", "--cands", c, "--refs", c, "--text", "use"}, "apply to --metric bertscore only", 1},
	} {
		code, _, errOut := runScore(t, tc.args...)
		assert.Equal(t, tc.code, code, "%v", tc.args)
		assert.Contains(t, errOut, tc.want, "%v", tc.args)
	}
}
