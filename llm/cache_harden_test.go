package llm

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// filledCache writes n answers of the case responder into a new cache
// file and closes it.
func filledCache(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.db")
	store, err := OpenCache(path, nil)
	require.NoError(t, err)
	r, err := NewCaseResponder(context.Background(), testCases, CaseOptions{})
	require.NoError(t, err)
	c := Cached(r, store)
	for i := range n {
		_, err := c.Respond(context.Background(), fmt.Sprintf("prompt number %d about anemia and iron", i))
		require.NoError(t, err)
	}
	require.NoError(t, store.Close())
	return path
}

// Issue 15 item 10: a cache file with damaged pages is refused at open
// with an error, instead of a bbolt panic at the first lookup.
func TestOpenCacheRefusesDamagedPages(t *testing.T) {
	path := filledCache(t, 300)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	ps := os.Getpagesize()
	require.Greater(t, len(raw), 4*ps, "the entries fill several pages")
	// Flip the page-type flags of every page after the two meta pages.
	for off := 2 * ps; off+10 < len(raw); off += ps {
		raw[off+8] ^= 0x5a
	}
	require.NoError(t, os.WriteFile(path, raw, 0o600))
	assert.NotPanics(t, func() {
		_, err = OpenCache(path, nil)
	})
	require.ErrorIs(t, err, ErrCacheCorrupt)
	assert.Contains(t, err.Error(), path)

	// Not a bbolt file at all. (Another path: the damaged file may stay
	// locked by this process after bbolt's panic.)
	path = filepath.Join(t.TempDir(), "text.db")
	require.NoError(t, os.WriteFile(path, []byte("hello, this is not a database, just some text.........."), 0o600))
	_, err = OpenCache(path, nil)
	require.ErrorIs(t, err, ErrCacheCorrupt)
}

// Issue 15 item 10: an entry that cannot be decoded is a miss: the answer
// is asked again (and stored over it), not an error.
func TestCacheUnreadableEntryIsAMiss(t *testing.T) {
	path := filledCache(t, 0)
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	r, err := NewCaseResponder(context.Background(), testCases, CaseOptions{})
	require.NoError(t, err)
	k := cacheKey(r.Identity(), "", testCases[0].Prompt)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error { return tx.Bucket(cacheBucket).Put(k[:], []byte("{not json")) }))
	require.NoError(t, db.Close())

	store, err := OpenCache(path, nil)
	require.NoError(t, err)
	defer store.Close()
	c := Cached(r, store)
	got, err := c.Respond(context.Background(), testCases[0].Prompt)
	require.NoError(t, err)
	assert.False(t, got.Cached)
	assert.Equal(t, testCases[0].Reply, got.Text)
	again, err := c.Respond(context.Background(), testCases[0].Prompt)
	require.NoError(t, err)
	assert.True(t, again.Cached, "the answer was stored over the damaged entry")
}

// Issue 15 items 11 and 12: a cache path that is not a regular file is
// refused, and a cache held by another process (here another open file
// description) is named as such.
func TestOpenCacheRefusesOddFilesAndSaysWhenBusy(t *testing.T) {
	dir := t.TempDir()
	_, err := OpenCache(dir, nil)
	require.ErrorContains(t, err, "not a regular file")
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	_, err = OpenCache(fifo, nil)
	require.ErrorContains(t, err, "not a regular file")

	if testing.Short() {
		t.Skip("the lock wait takes 5 s")
	}
	path := filepath.Join(dir, "c.db")
	first, err := OpenCache(path, nil)
	require.NoError(t, err)
	defer first.Close()
	_, err = OpenCache(path, nil)
	require.ErrorIs(t, err, ErrCacheBusy)
	assert.Contains(t, err.Error(), "held by another process")
}

// FuzzDecodeEntry feeds arbitrary stored values to the entry decoder: an
// error (a miss) is fine, a panic is not, and an accepted entry has text.
func FuzzDecodeEntry(f *testing.F) {
	f.Add([]byte(`{"text":"Take iron.","provider":"case","model":"m","cached":false,"latency_ns":0}`))
	f.Add([]byte(`{not json`))
	f.Add([]byte(`{"text":""}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, v []byte) {
		r, err := decodeEntry(v)
		if err == nil && r.Text == "" {
			t.Fatal("accepted an entry without text")
		}
	})
}
