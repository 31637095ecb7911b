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
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sync/singleflight"

	"github.com/pmlm-go/pmlm/internal/fieldhash"
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

// ErrCacheBusy is returned by OpenCache when another process holds the
// cache file (bbolt allows one process at a time).
var ErrCacheBusy = errors.New("llm: the response cache is held by another process")

// ErrCacheCorrupt is returned by OpenCache for a file that is not a
// readable cache: not a bbolt database, or one whose pages are damaged.
var ErrCacheCorrupt = errors.New("llm: the response cache file is damaged")

// cacheLockTimeout is how long OpenCache waits for another process to
// release the file.
const cacheLockTimeout = 5 * time.Second

// OpenCache opens or creates the cache file at path. It waits at most 5 s
// for another process to release the file (then fails with ErrCacheBusy),
// refuses what is not a regular file, and reads every entry once so that
// a damaged file fails here with ErrCacheCorrupt instead of crashing a
// later lookup (bbolt panics on a damaged page). logger may be nil
// (discard).
func OpenCache(path string, logger *slog.Logger) (*Cache, error) {
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("llm: open cache %s: not a regular file (%s)", path, fi.Mode().Type())
	}
	db, err := openBolt(path)
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s is still locked after %v; wait for the other run to finish or give another cache file",
			ErrCacheBusy, path, cacheLockTimeout)
	}
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("llm: open cache %s: %w", path, err)
		}
		// bolt refuses any file that is not a bolt database: it may be a
		// damaged cache, or another file given by mistake.
		return nil, fmt.Errorf("%w: %s: %w; it is not a readable response cache: give another path, or, if it is a cache you made, delete it to start an empty one", ErrCacheCorrupt, path, err)
	}
	if err := checkCache(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("%w: %s: %w; delete it to start an empty cache", ErrCacheCorrupt, path, err)
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Cache{db: db, log: logger}, nil
}

// openBolt opens the database, turning a panic of bbolt on a damaged file
// into an error.
func openBolt(path string) (db *bolt.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("%v", r)
		}
	}()
	return bolt.Open(path, 0o600, &bolt.Options{Timeout: cacheLockTimeout})
}

// checkCache creates the bucket if needed and reads every entry, turning
// a panic of bbolt on a damaged page into an error. (bbolt's own Tx.Check
// runs in a goroutine of its own, where such a panic cannot be recovered.)
func checkCache(db *bolt.DB) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(cacheBucket)
		if err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			if len(k) != sha256.Size {
				return fmt.Errorf("a key of %d bytes", len(k))
			}
			return nil
		})
	})
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
	w := fieldhash.New(h, binary.BigEndian)
	field, num := w.String, w.Uint64
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

// get returns the entry under key. An entry that cannot be decoded is a
// miss (logged; the answer is asked again and stored over it), not a
// failure.
func (c *Cache) get(key []byte) (Response, bool, error) {
	var resp Response
	var found bool
	err := c.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(cacheBucket).Get(key)
		if v == nil {
			return nil
		}
		r, err := decodeEntry(v)
		if err != nil {
			c.log.Warn("llm cache: unreadable entry, asking again", slog.String("error", err.Error()))
			return nil
		}
		resp, found = r, true
		return nil
	})
	return resp, found, err
}

// decodeEntry decodes a stored answer; an entry without text is refused
// (put never stores one: failed answers are not cached).
func decodeEntry(v []byte) (Response, error) {
	var resp Response
	if err := json.Unmarshal(v, &resp); err != nil {
		return Response{}, err
	}
	if resp.Text == "" {
		return Response{}, errors.New("entry without text")
	}
	return resp, nil
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
