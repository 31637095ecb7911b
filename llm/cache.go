package llm

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sync/singleflight"
)

// cacheKeyVersion is hashed into every key; bump it when the key's fields
// or the stored value change meaning, and old entries stop matching.
const cacheKeyVersion = "pmlm/llm/cache/v1"

var cacheBucket = []byte("responses/v1")

// Cache is a persistent response store in a bbolt file. Every write is a
// bbolt transaction, so a crash leaves either the old or the new entry,
// never a torn one. A file can be open in one process at a time.
type Cache struct {
	db           *bolt.DB
	hits, misses atomic.Int64
	log          *slog.Logger
}

// OpenCache opens or creates the cache file at path. It waits at most 5 s
// for another process to release the file. logger may be nil (discard).
func OpenCache(path string, logger *slog.Logger) (*Cache, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("llm: open cache %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(cacheBucket)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("llm: open cache %s: %w", path, err)
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Cache{db: db, log: logger}, nil
}

// Close closes the file.
func (c *Cache) Close() error { return c.db.Close() }

// CacheStats counts lookups since the Cache was opened, and the entries in
// the file.
type CacheStats struct {
	Hits, Misses int64
	Entries      int
}

// Stats returns the counters.
func (c *Cache) Stats() (CacheStats, error) {
	s := CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load()}
	err := c.db.View(func(tx *bolt.Tx) error {
		s.Entries = tx.Bucket(cacheBucket).Stats().KeyN
		return nil
	})
	return s, err
}

// CacheKey is the SHA-256 of the version tag, the identity (provider, model,
// generation parameters, system prompt) and the prompt, each field
// length-prefixed so that no two different inputs share an encoding.
func CacheKey(id Identity, prompt string) [32]byte { return cacheKey(id, "", prompt) }

// cacheKey adds scope: the request's excluded patient keys
// (exclusionScope), on which a PatientResponder's answer depends.
func cacheKey(id Identity, scope, prompt string) [32]byte {
	h := sha256.New()
	var n [8]byte
	field := func(s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	num := func(u uint64) {
		binary.BigEndian.PutUint64(n[:], u)
		h.Write(n[:])
	}
	field(cacheKeyVersion)
	field(id.Provider)
	field(id.Model)
	num(math.Float64bits(id.Params.Temperature))
	num(uint64(int64(id.Params.Seed)))
	num(uint64(int64(id.Params.MaxTokens)))
	num(math.Float64bits(id.Params.TopP))
	if id.Params.LegacyMaxTokens {
		num(1)
	} else {
		num(0)
	}
	field(id.System)
	field(scope)
	field(prompt)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func (c *Cache) get(key []byte) (Response, bool, error) {
	var resp Response
	var found bool
	err := c.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(cacheBucket).Get(key)
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &resp)
	})
	return resp, found, err
}

func (c *Cache) put(key []byte, resp Response) error {
	resp.Cached, resp.Attempts, resp.Latency = false, 0, 0
	v, err := json.Marshal(resp)
	if err != nil {
		return err
	}
	return c.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(cacheBucket).Put(key, v) })
}

// Cached wraps r with the store: an answer found under the key of (r's
// Identity, prompt) is returned with Cached set and no request made;
// otherwise r answers and a successful answer is stored. Identical
// concurrent misses make one request. Failed answers are not stored.
//
// A PatientResponder's answers depend on the patients excluded in the
// Request, so the excluded keys join the cache key (for every responder:
// a wrapper may hide that it honours them); the result is itself a
// PatientResponder and forwards the exclusions.
//
// r should implement Identified (ModelResponder, Guarded, CaseResponder
// do); otherwise its Go type name stands in for the provider, and two
// differently configured responders of one type would share entries.
func Cached(r Responder, store *Cache) Responder {
	return &cached{next: r, store: store, id: identityOf(r)}
}

type cached struct {
	next  Responder
	store *Cache
	id    Identity
	group singleflight.Group
}

func (c *cached) Identity() Identity { return c.id }

// Respond implements Responder.
func (c *cached) Respond(ctx context.Context, prompt string) (Response, error) {
	return c.RespondTo(ctx, Request{Prompt: prompt})
}

// exclusionScope is the cache-key part of a request's exclusions: the
// sorted keys joined by NUL ("" for none, and a single key is itself).
func exclusionScope(exclude []string) string {
	if len(exclude) < 2 {
		return strings.Join(exclude, "")
	}
	s := slices.Clone(exclude)
	slices.Sort(s)
	return strings.Join(slices.Compact(s), "\x00")
}

// RespondTo implements PatientResponder: the request's exclusions are part
// of the key when the wrapped responder honours them.
func (c *cached) RespondTo(ctx context.Context, req Request) (Response, error) {
	start := time.Now()
	// The exclusions are always part of the key: whether the wrapped
	// responder honours them cannot be told through every wrapper, and an
	// answer given with a patient's record must never be served while that
	// patient is excluded.
	k := cacheKey(c.id, exclusionScope(req.Exclude), req.Prompt)
	if resp, ok, err := c.store.get(k[:]); err != nil {
		return Response{}, fmt.Errorf("llm: cache read: %w", err)
	} else if ok {
		c.store.hits.Add(1)
		resp.Cached, resp.Latency = true, time.Since(start)
		return resp, nil
	}
	c.store.misses.Add(1)
	v, err, _ := c.group.Do(hex.EncodeToString(k[:]), func() (any, error) {
		resp, err := RespondTo(ctx, c.next, req)
		if err != nil {
			return resp, err
		}
		if perr := c.store.put(k[:], resp); perr != nil {
			// The answer is good; losing its cache entry only costs a
			// repeated request later.
			c.store.log.LogAttrs(ctx, slog.LevelWarn, "llm cache write failed", slog.String("error", perr.Error()))
		}
		return resp, nil
	})
	resp := v.(Response)
	resp.Latency = time.Since(start)
	if err != nil && ctx.Err() == nil && !errors.Is(err, ErrTimeout) &&
		(errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		// The shared call belonged to another caller whose context ended;
		// try again on our own.
		return RespondTo(ctx, c.next, req)
	}
	return resp, err
}
