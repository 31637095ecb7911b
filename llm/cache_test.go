package llm

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCacheSurvivesReopen(t *testing.T) {
	s := newChatServer(t)
	path := filepath.Join(t.TempDir(), "responses.db")

	store, err := OpenCache(path, nil)
	require.NoError(t, err)
	r := Cached(newTestResponder(t, s, fastGuard()), store)
	first, err := r.Respond(context.Background(), "what next?")
	require.NoError(t, err)
	assert.False(t, first.Cached)
	require.NoError(t, store.Close())

	store, err = OpenCache(path, nil)
	require.NoError(t, err)
	defer store.Close()
	r = Cached(newTestResponder(t, s, fastGuard()), store)
	second, err := r.Respond(context.Background(), "what next?")
	require.NoError(t, err)
	assert.True(t, second.Cached)
	assert.Equal(t, first.Text, second.Text)
	assert.Equal(t, first.TotalTokens, second.TotalTokens)
	assert.Equal(t, first.Model, second.Model)
	assert.EqualValues(t, 1, s.requests.Load(), "the second identical call made no request")

	st, err := store.Stats()
	require.NoError(t, err)
	assert.Equal(t, CacheStats{Hits: 1, Misses: 0, Entries: 1}, st)

	// Another prompt, system prompt or parameter is a miss.
	_, err = r.Respond(context.Background(), "what now?")
	require.NoError(t, err)
	r2 := Cached(newTestResponder(t, s, fastGuard(), func(c *Config) { c.System = "other" }), store)
	_, err = r2.Respond(context.Background(), "what next?")
	require.NoError(t, err)
	p := DefaultParams()
	p.Temperature = 0.7
	r3 := Cached(newTestResponder(t, s, fastGuard(), func(c *Config) { c.Params = &p }), store)
	_, err = r3.Respond(context.Background(), "what next?")
	require.NoError(t, err)
	assert.EqualValues(t, 4, s.requests.Load())
	st, err = store.Stats()
	require.NoError(t, err)
	assert.Equal(t, CacheStats{Hits: 1, Misses: 3, Entries: 4}, st)
}

func TestCacheStoresNoFailure(t *testing.T) {
	s := newChatServer(t, status(http.StatusBadRequest, ""))
	store, err := OpenCache(filepath.Join(t.TempDir(), "c.db"), nil)
	require.NoError(t, err)
	defer store.Close()
	r := Cached(newTestResponder(t, s, fastGuard()), store)
	_, err = r.Respond(context.Background(), "x")
	require.Error(t, err)
	resp, err := r.Respond(context.Background(), "x")
	require.NoError(t, err)
	assert.False(t, resp.Cached)
	assert.EqualValues(t, 2, s.requests.Load())
}

func TestCacheConcurrentIdenticalMissesShareOneRequest(t *testing.T) {
	s := newChatServer(t, stall(50e6), stall(50e6)) // 50 ms each
	store, err := OpenCache(filepath.Join(t.TempDir(), "c.db"), nil)
	require.NoError(t, err)
	defer store.Close()
	g := fastGuard()
	g.MaxConcurrent = 16
	r := Cached(newTestResponder(t, s, g), store)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			resp, err := r.Respond(context.Background(), "same prompt")
			assert.NoError(t, err)
			assert.Equal(t, "answer to: same prompt", resp.Text)
		})
	}
	wg.Wait()
	assert.EqualValues(t, 1, s.requests.Load())
}

func TestCacheKeyFields(t *testing.T) {
	base := Identity{Provider: "openai", Model: "m", System: "s", Params: DefaultParams()}
	k := CacheKey(base, "p")
	assert.Equal(t, k, CacheKey(base, "p"), "deterministic")
	variants := []Identity{base, base, base, base, base, base, base}
	variants[0].Provider = "anthropic"
	variants[1].Model = "m2"
	variants[2].System = "s2"
	variants[3].Params.Temperature = 0.5
	variants[4].Params.Seed = 2
	variants[5].Params.MaxTokens = 10
	variants[6].Params.LegacyMaxTokens = true
	seen := map[[32]byte]int{k: -1}
	for i, v := range variants {
		kv := CacheKey(v, "p")
		_, dup := seen[kv]
		assert.False(t, dup, "variant %d", i)
		seen[kv] = i
	}
	// Length prefixes keep field boundaries: moving text from the system
	// prompt to the prompt changes the key.
	a := base
	a.System = "ab"
	b := base
	b.System = "a"
	assert.NotEqual(t, CacheKey(a, "c"), CacheKey(b, "bc"))
}

func TestOpenCacheBadPath(t *testing.T) {
	_, err := OpenCache(filepath.Join(t.TempDir(), "no", "such", "dir", "c.db"), nil)
	require.ErrorContains(t, err, "open cache")
}

func ExampleCached() {
	ctx := context.Background()
	cases := []Case{
		{ID: "p1", Prompt: "predicted label anemia; similar patients anemia", Reply: "Take oral iron; recheck hemoglobin in 4 weeks."},
		{ID: "p2", Prompt: "predicted label normal; similar patients normal", Reply: "Routine 42-day postpartum check."},
	}
	cr, err := NewCaseResponder(ctx, cases, CaseOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, err := os.MkdirTemp("", "llm-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	store, err := OpenCache(filepath.Join(dir, "responses.db"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	r := Cached(cr, store)
	for range 2 {
		resp, err := r.Respond(ctx, "predicted label anemia")
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s (cached: %v)\n", resp.Text, resp.Cached)
	}
	// Output:
	// Take oral iron; recheck hemoglobin in 4 weeks. (cached: false)
	// Take oral iron; recheck hemoglobin in 4 weeks. (cached: true)
}

// Cache keys are stored in cache files that outlive the binary (an
// experiment's answer cache is reused across versions), so their encoding
// is a file format: this key, computed before the field writer moved to
// internal/fieldhash and recomputed independently in Python from the
// documented layout (big-endian lengths and numbers), must not change.
func TestCacheKeyFormatIsStable(t *testing.T) {
	id := Identity{Provider: "openai", Model: "m", System: "sys",
		Params: Params{Temperature: 0.5, Seed: -3, MaxTokens: 64, TopP: 0.9, LegacyMaxTokens: true}}
	k := cacheKey(id, "scope", "prompt")
	assert.Equal(t, "dd4bf797e8a8d89b1d8fa73264726b384b9f8355496a7d24d9ebe62cdb2723a5", hex.EncodeToString(k[:]))
}
