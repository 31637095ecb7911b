// Package weaviate is a similarity.Recommender backed by a Weaviate vector
// database: the patient index of a hospital network that outgrows one
// process. The index is shared by several services, persists across
// restarts and is updated incrementally (Upsert, Delete) without a rebuild.
//
// It answers exactly what similarity.Exact answers over the same
// references, up to the index's recall: Weaviate's HNSW index proposes
// more candidates than asked for, and similarity.Rerank re-ranks them with
// Exact's similarities and tie-break. Vectors are stored as
// similarity.UnitVector gives them, so the similarities agree to the last
// bit.
//
// One collection holds any number of tenants (one per hospital or cohort:
// Weaviate's multi-tenancy) and any number of encoder versions: every
// object records the version of the encoder that made its vector (a digest
// of the encoder's weights), and a query only sees the objects of its own
// version, so a model never compares its vectors with another encoder's.
//
// The core library does not import this package: a program that wants the
// Weaviate index imports it and passes New or Open to
// pmlm.TrainOptions.NewRecommender.
package weaviate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sync/atomic"
	"time"

	"github.com/go-openapi/strfmt"
	"github.com/google/uuid"
	wv "github.com/weaviate/weaviate-go-client/v5/weaviate"
	"github.com/weaviate/weaviate-go-client/v5/weaviate/fault"
	"github.com/weaviate/weaviate-go-client/v5/weaviate/filters"
	"github.com/weaviate/weaviate-go-client/v5/weaviate/graphql"
	wvgrpc "github.com/weaviate/weaviate-go-client/v5/weaviate/grpc"
	"github.com/weaviate/weaviate/entities/models"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pmlm-go/pmlm/similarity"
)

// The properties of an object of the collection.
const (
	propKey     = "patientKey"
	propLabel   = "label"
	propVersion = "encoderVersion"
	propOrdinal = "ordinal"
)

// DefaultTenant is the tenant of a Config that names none.
const DefaultTenant = "default"

// Defaults of Config.
const (
	DefaultOversample = 4
	DefaultBatchSize  = 500
	DefaultRetries    = 4
	DefaultRetryDelay = 250 * time.Millisecond
	DefaultTimeout    = 30 * time.Second
)

// ErrConfig marks an invalid Config; ErrServer an error of the server or of
// the connection to it (wrapped with the cause).
var (
	ErrConfig = errors.New("weaviate: invalid configuration")
	ErrServer = errors.New("weaviate: server error")
)

// Config locates a collection and tenant on a Weaviate server.
type Config struct {
	// Addr is the server's REST address (host:port) and GRPCAddr its gRPC
	// address (host:port); queries and imports go over gRPC.
	Addr, GRPCAddr string
	// Collection is the collection's name: a capital letter, then
	// letters, digits and underscores.
	Collection string
	// Tenant is the tenant (a hospital, a cohort); empty means
	// DefaultTenant.
	Tenant string
	// EncoderVersion identifies the encoder that made the vectors (a
	// digest of its weights); required.
	EncoderVersion string
	// Oversample × K candidates (at least K + 16) are fetched from the
	// HNSW index and re-ranked exactly; 0 means DefaultOversample.
	Oversample int
	// BatchSize is the number of objects per import request (0:
	// DefaultBatchSize).
	BatchSize int
	// Retries is how often a failed request is retried (0: DefaultRetries;
	// negative: never), RetryDelay the first wait, doubled after each try
	// (0: DefaultRetryDelay). Waits end early when the caller's context is
	// done.
	Retries    int
	RetryDelay time.Duration
	// Timeout bounds each request (0: DefaultTimeout).
	Timeout time.Duration
}

var collectionName = regexp.MustCompile(`^[A-Z][A-Za-z0-9_]*$`)

func (c *Config) setDefaults() error {
	if c.Addr == "" || c.GRPCAddr == "" {
		return fmt.Errorf("%w: Addr and GRPCAddr are required (host:port)", ErrConfig)
	}
	if !collectionName.MatchString(c.Collection) {
		return fmt.Errorf("%w: collection name %q: want a capital letter, then letters, digits and underscores", ErrConfig, c.Collection)
	}
	if c.EncoderVersion == "" {
		return fmt.Errorf("%w: the encoder version is required", ErrConfig)
	}
	if c.Tenant == "" {
		c.Tenant = DefaultTenant
	}
	if c.Oversample <= 0 {
		c.Oversample = DefaultOversample
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	switch {
	case c.Retries == 0:
		c.Retries = DefaultRetries
	case c.Retries < 0:
		c.Retries = 0
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = DefaultRetryDelay
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	return nil
}

// Index is a Recommender over one tenant and encoder version of a Weaviate
// collection. It is safe for concurrent queries; Upsert and Delete calls on
// one tenant and version should come from one writer at a time (two
// concurrent Upserts of new keys may give them the same ordinal, which
// only affects the order of exactly equal similarities).
type Index struct {
	cfg    Config
	client *wv.Client
	// dim is the vectors' length, 0 until the first import of this Index
	// (concurrent queries read it while an import sets it).
	dim atomic.Int64
}

var _ similarity.ExactEquivalent = (*Index)(nil)

// EquivalentToExact implements similarity.ExactEquivalent: the index
// re-ranks its candidates exactly (Recommend), so a training run may answer
// its own patients from a similarity.NeighborTable.
func (*Index) EquivalentToExact() {}

// Open connects to the server and makes sure the collection (cosine HNSW,
// no vectorizer, multi-tenant) and the tenant exist, creating them when
// they do not. It fails with ErrServer when the server cannot be reached
// within the retries and the context.
func Open(ctx context.Context, cfg Config) (*Index, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	client, err := wv.NewClient(wv.Config{
		Host: cfg.Addr, Scheme: "http", GrpcConfig: &wvgrpc.Config{Host: cfg.GRPCAddr},
		ConnectionClient: &http.Client{Timeout: cfg.Timeout}, Timeout: cfg.Timeout,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: connect to %s: %w", ErrServer, cfg.Addr, err)
	}
	ix := &Index{cfg: cfg, client: client}
	if err := ix.retry(ctx, "create the collection", ix.ensureSchema); err != nil {
		return nil, err
	}
	return ix, nil
}

// New opens the index (see Open) and imports refs into it, each with its
// position in refs as its ordinal (replacing objects of the same keys): the
// recommender a pmlm.TrainOptions.NewRecommender returns.
func New(ctx context.Context, cfg Config, refs []similarity.Reference) (*Index, error) {
	ix, err := Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := ix.put(ctx, refs, 0); err != nil {
		return nil, err
	}
	return ix, nil
}

// Config returns the index's configuration, defaults filled in.
func (ix *Index) Config() Config { return ix.cfg }

func (ix *Index) ensureSchema(ctx context.Context) error {
	exists, err := ix.client.Schema().ClassExistenceChecker().WithClassName(ix.cfg.Collection).Do(ctx)
	if err != nil {
		return err
	}
	if !exists {
		field := "field"
		class := &models.Class{
			Class:           ix.cfg.Collection,
			Description:     "pmlm patient encodings",
			Vectorizer:      "none",
			VectorIndexType: "hnsw",
			VectorIndexConfig: map[string]any{
				"distance": "cosine", "efConstruction": 128, "maxConnections": 32, "ef": 256,
			},
			MultiTenancyConfig: &models.MultiTenancyConfig{Enabled: true},
			Properties: []*models.Property{
				{Name: propKey, DataType: []string{"text"}, Tokenization: field},
				{Name: propLabel, DataType: []string{"text"}, Tokenization: field},
				{Name: propVersion, DataType: []string{"text"}, Tokenization: field},
				{Name: propOrdinal, DataType: []string{"int"}},
			},
		}
		if err := ix.client.Schema().ClassCreator().WithClass(class).Do(ctx); err != nil {
			// Another process may have created it meanwhile.
			if again, err2 := ix.client.Schema().ClassExistenceChecker().WithClassName(ix.cfg.Collection).Do(ctx); err2 != nil || !again {
				return err
			}
		}
	}
	has, err := ix.client.Schema().TenantsExists().WithClassName(ix.cfg.Collection).WithTenant(ix.cfg.Tenant).Do(ctx)
	if err != nil {
		return err
	}
	if !has {
		err := ix.client.Schema().TenantsCreator().WithClassName(ix.cfg.Collection).
			WithTenants(models.Tenant{Name: ix.cfg.Tenant}).Do(ctx)
		if err != nil {
			if again, err2 := ix.client.Schema().TenantsExists().WithClassName(ix.cfg.Collection).WithTenant(ix.cfg.Tenant).Do(ctx); err2 != nil || !again {
				return err
			}
		}
	}
	return nil
}

// objectID is the object's UUID: derived from the tenant-independent
// (encoder version, key) pair, so that importing a key again replaces its
// object and two encoder versions never share one.
func (ix *Index) objectID(key string) strfmt.UUID {
	return strfmt.UUID(uuid.NewSHA1(uuid.NameSpaceURL, []byte("pmlm-patient\x00"+ix.cfg.EncoderVersion+"\x00"+key)).String())
}

// Upsert adds the references to the index, replacing those whose keys are
// already there (which keep their ordinal; new keys get ordinals after the
// largest one present). Keys must be non-empty and unique within refs.
func (ix *Index) Upsert(ctx context.Context, refs []similarity.Reference) error {
	if len(refs) == 0 {
		return nil
	}
	next, err := ix.nextOrdinal(ctx)
	if err != nil {
		return err
	}
	return ix.put(ctx, refs, next)
}

// put imports refs in batches; a key not yet in the index gets its
// position in refs plus base as its ordinal, so that New's ordinals are the
// positions, as Exact's row indices are.
func (ix *Index) put(ctx context.Context, refs []similarity.Reference, base int) error {
	seen := make(map[string]int, len(refs))
	for i, r := range refs {
		if r.Key == "" {
			return fmt.Errorf("%w: reference %d has an empty key", similarity.ErrInvalid, i)
		}
		if j, dup := seen[r.Key]; dup {
			return fmt.Errorf("%w: references %d and %d share the key %q", similarity.ErrInvalid, j, i, r.Key)
		}
		seen[r.Key] = i
		ix.dim.CompareAndSwap(0, int64(len(r.Vector)))
		if dim := ix.dim.Load(); int64(len(r.Vector)) != dim || dim == 0 {
			return fmt.Errorf("%w: reference %d (%s) has length %d, want %d", similarity.ErrDimension, i, r.Key, len(r.Vector), dim)
		}
	}
	for lo := 0; lo < len(refs); lo += ix.cfg.BatchSize {
		batch := refs[lo:min(lo+ix.cfg.BatchSize, len(refs))]
		keys := make([]string, len(batch))
		for i, r := range batch {
			keys[i] = r.Key
		}
		old, err := ix.ordinals(ctx, keys)
		if err != nil {
			return err
		}
		objs := make([]*models.Object, len(batch))
		for i, r := range batch {
			u, err := similarity.UnitVector(r.Vector)
			if err != nil {
				return fmt.Errorf("reference %d (%s): %w", lo+i, r.Key, err)
			}
			ord, ok := old[r.Key]
			if !ok {
				ord = base + lo + i
			}
			objs[i] = &models.Object{
				Class: ix.cfg.Collection, Tenant: ix.cfg.Tenant, ID: ix.objectID(r.Key), Vector: u,
				Properties: map[string]any{propKey: r.Key, propLabel: r.Label, propVersion: ix.cfg.EncoderVersion, propOrdinal: ord},
			}
		}
		if err := ix.importBatch(ctx, objs); err != nil {
			return fmt.Errorf("import references %d–%d: %w", lo, lo+len(batch)-1, err)
		}
	}
	return nil
}

// importBatch sends objs, retrying the objects that failed (the whole batch
// when the request failed) up to Retries times.
func (ix *Index) importBatch(ctx context.Context, objs []*models.Object) error {
	pending := objs
	delay := ix.cfg.RetryDelay
	var last error
	for try := 0; ; try++ {
		res, err := ix.client.Batch().ObjectsBatcher().WithObjects(pending...).Do(ctx)
		var failed []*models.Object
		switch {
		case err != nil:
			if !retryable(err) {
				return fmt.Errorf("%w: batch import at %s: %w", ErrServer, ix.cfg.Addr, err)
			}
			failed, last = pending, err
		default:
			byID := make(map[strfmt.UUID]*models.Object, len(pending))
			for _, o := range pending {
				byID[o.ID] = o
			}
			for _, r := range res {
				if r.Result != nil && r.Result.Errors != nil && len(r.Result.Errors.Error) > 0 {
					if o, ok := byID[r.ID]; ok {
						failed = append(failed, o)
						last = errors.New(r.Result.Errors.Error[0].Message)
					}
				}
			}
		}
		if len(failed) == 0 {
			return nil
		}
		if try >= ix.cfg.Retries {
			return fmt.Errorf("%w: batch import at %s: %d objects failed after %d tries: %w", ErrServer, ix.cfg.Addr, len(failed), try+1, last)
		}
		if err := sleep(ctx, delay); err != nil {
			return fmt.Errorf("%w: batch import at %s: %w (last error: %w)", ErrServer, ix.cfg.Addr, err, last)
		}
		delay *= 2
		pending = failed
	}
}

// versionFilter selects the objects of the index's encoder version.
func (ix *Index) versionFilter() *filters.WhereBuilder {
	return filters.Where().WithPath([]string{propVersion}).WithOperator(filters.Equal).WithValueText(ix.cfg.EncoderVersion)
}

// keysFilter selects the objects of the index's encoder version whose keys
// are in keys.
func (ix *Index) keysFilter(keys []string) *filters.WhereBuilder {
	return filters.Where().WithOperator(filters.And).WithOperands([]*filters.WhereBuilder{
		ix.versionFilter(),
		filters.Where().WithPath([]string{propKey}).WithOperator(filters.ContainsAny).WithValueText(keys...),
	})
}

// ordinals returns the ordinals of those keys that are in the index.
func (ix *Index) ordinals(ctx context.Context, keys []string) (map[string]int, error) {
	out := map[string]int{}
	err := ix.retry(ctx, "look up keys", func(ctx context.Context) error {
		res, err := ix.search().WithWhere(ix.keysFilter(keys)).WithLimit(len(keys)).
			WithProperties(propKey, propOrdinal).Do(ctx)
		if err != nil {
			return err
		}
		for _, r := range res {
			k, ord, err := keyOrdinal(r.Properties)
			if err != nil {
				return err
			}
			out[k] = ord
		}
		return nil
	})
	return out, err
}

// nextOrdinal is one more than the largest ordinal of the index's version
// (0 when it has no object).
func (ix *Index) nextOrdinal(ctx context.Context) (int, error) {
	next := 0
	err := ix.retry(ctx, "find the largest ordinal", func(ctx context.Context) error {
		res, err := ix.search().WithWhere(ix.versionFilter()).WithLimit(1).
			WithSort(graphql.Sort{Path: []string{propOrdinal}, Order: graphql.Desc}).
			WithProperties(propKey, propOrdinal).Do(ctx)
		if err != nil {
			return err
		}
		if len(res) == 1 {
			_, ord, err := keyOrdinal(res[0].Properties)
			if err != nil {
				return err
			}
			next = ord + 1
		}
		return nil
	})
	return next, err
}

// Delete removes the references with these keys (keys not in the index
// are ignored) and returns how many it removed.
func (ix *Index) Delete(ctx context.Context, keys ...string) (int, error) {
	removed := 0
	for lo := 0; lo < len(keys); lo += ix.cfg.BatchSize {
		batch := keys[lo:min(lo+ix.cfg.BatchSize, len(keys))]
		err := ix.retry(ctx, "delete", func(ctx context.Context) error {
			res, err := ix.client.Batch().ObjectsBatchDeleter().WithClassName(ix.cfg.Collection).
				WithTenant(ix.cfg.Tenant).WithWhere(ix.keysFilter(batch)).WithOutput("minimal").Do(ctx)
			if err != nil {
				return err
			}
			if res.Results != nil {
				if res.Results.Failed > 0 {
					return fmt.Errorf("%d of %d objects were not deleted", res.Results.Failed, res.Results.Matches)
				}
				removed += int(res.Results.Successful)
			}
			return nil
		})
		if err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// Len counts the references of the index's tenant and encoder version.
func (ix *Index) Len(ctx context.Context) (int, error) {
	n := 0
	err := ix.retry(ctx, "count", func(ctx context.Context) error {
		meta := graphql.Field{Name: "meta", Fields: []graphql.Field{{Name: "count"}}}
		resp, err := ix.client.GraphQL().Aggregate().WithClassName(ix.cfg.Collection).WithTenant(ix.cfg.Tenant).
			WithWhere(ix.versionFilter()).WithFields(meta).Do(ctx)
		if err != nil {
			return err
		}
		if len(resp.Errors) > 0 {
			return errors.New(resp.Errors[0].Message)
		}
		agg, _ := resp.Data["Aggregate"].(map[string]any)
		rows, _ := agg[ix.cfg.Collection].([]any)
		if len(rows) == 0 {
			return nil
		}
		row, _ := rows[0].(map[string]any)
		m, _ := row["meta"].(map[string]any)
		c, ok := m["count"].(float64)
		if !ok {
			return fmt.Errorf("unexpected aggregate reply %v", resp.Data)
		}
		n = int(c)
		return nil
	})
	return n, err
}

func (ix *Index) search() *graphql.Search {
	return ix.client.Experimental().Search().WithCollection(ix.cfg.Collection).WithTenant(ix.cfg.Tenant)
}

// Recommend implements similarity.Recommender: it fetches Oversample × K
// candidates (at least K + 16) of the index's encoder version other than
// the excluded keys, and re-ranks them with similarity.Rerank. A failed
// request is retried (Config.Retries) while ctx allows.
func (ix *Index) Recommend(ctx context.Context, q similarity.Query) ([]similarity.Neighbor, error) {
	if q.K < 0 {
		return nil, fmt.Errorf("%w: k = %d", similarity.ErrInvalid, q.K)
	}
	if dim := ix.dim.Load(); dim != 0 && int64(len(q.Vector)) != dim {
		return nil, fmt.Errorf("%w: query has length %d, want %d", similarity.ErrDimension, len(q.Vector), dim)
	}
	if q.K == 0 {
		return []similarity.Neighbor{}, nil
	}
	unit, err := similarity.UnitVector(q.Vector)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	where := ix.versionFilter()
	if len(q.Exclude) > 0 {
		ops := []*filters.WhereBuilder{where}
		for _, k := range q.Exclude {
			ops = append(ops, filters.Where().WithPath([]string{propKey}).WithOperator(filters.NotEqual).WithValueText(k))
		}
		where = filters.Where().WithOperator(filters.And).WithOperands(ops)
	}
	limit := max(q.K*ix.cfg.Oversample, q.K+16)
	var cands []similarity.Candidate
	err = ix.retry(ctx, "query", func(ctx context.Context) error {
		res, err := ix.search().WithLimit(limit).WithWhere(where).
			WithNearVector(ix.client.GraphQL().NearVectorArgBuilder().WithVector(unit)).
			WithProperties(propKey, propLabel, propOrdinal).
			WithMetadata(&graphql.Metadata{Vector: true}).Do(ctx)
		if err != nil {
			return err
		}
		cands = cands[:0]
		for _, r := range res {
			k, ord, err := keyOrdinal(r.Properties)
			if err != nil {
				return err
			}
			label, _ := r.Properties[propLabel].(string)
			cands = append(cands, similarity.Candidate{Ordinal: ord, Key: k, Label: label, Unit: r.Vector})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The filter already left the excluded keys out; checking again costs
	// nothing and keeps the promise if the server ignored it.
	cands = slices.DeleteFunc(cands, func(c similarity.Candidate) bool { return slices.Contains(q.Exclude, c.Key) })
	return similarity.Rerank(q.Vector, cands, q.K)
}

// keyOrdinal reads an object's key and ordinal properties.
func keyOrdinal(props map[string]any) (string, int, error) {
	k, ok := props[propKey].(string)
	if !ok {
		return "", 0, permanent{fmt.Errorf("object without %s property", propKey)}
	}
	switch v := props[propOrdinal].(type) {
	case float64:
		return k, int(v), nil
	case int64:
		return k, int(v), nil
	case int:
		return k, v, nil
	}
	return "", 0, permanent{fmt.Errorf("object %s: %s is %T", k, propOrdinal, props[propOrdinal])}
}

// permanent marks an error that retrying cannot fix.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// retry runs f until it succeeds, fails with an error that retrying cannot
// fix, has been tried Retries+1 times, or ctx is done; the delay between
// tries doubles.
func (ix *Index) retry(ctx context.Context, op string, f func(context.Context) error) error {
	delay := ix.cfg.RetryDelay
	for try := 0; ; try++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%w: %s at %s: %w", ErrServer, op, ix.cfg.Addr, err)
		}
		err := f(ctx)
		if err == nil {
			return nil
		}
		if !retryable(err) || try >= ix.cfg.Retries {
			return fmt.Errorf("%w: %s at %s (%d tries): %w", ErrServer, op, ix.cfg.Addr, try+1, err)
		}
		if serr := sleep(ctx, delay); serr != nil {
			return fmt.Errorf("%w: %s at %s (%d tries): %w (last error: %w)", ErrServer, op, ix.cfg.Addr, try+1, serr, err)
		}
		delay *= 2
	}
}

// retryable tells whether err may go away by itself: the server is
// unreachable, overloaded or failed internally.
func retryable(err error) bool {
	var p permanent
	if errors.As(err, &p) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var fe *fault.WeaviateClientError
	if errors.As(err, &fe) {
		return !fe.IsUnexpectedStatusCode || fe.StatusCode >= 500 || fe.StatusCode == http.StatusTooManyRequests
	}
	if s, ok := status.FromError(err); ok {
		switch s.Code() {
		case codes.Unavailable, codes.ResourceExhausted, codes.Aborted, codes.Internal, codes.Unknown:
			return true
		}
		return false
	}
	return true
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
