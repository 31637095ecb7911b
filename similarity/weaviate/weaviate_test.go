package weaviate_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/encoder/mlp"
	"github.com/pmlm-go/pmlm/internal/weaviateserver"
	"github.com/pmlm-go/pmlm/pmlm/synth"
	"github.com/pmlm-go/pmlm/similarity"
	"github.com/pmlm-go/pmlm/similarity/weaviate"
)

// The integration tests run against a real Weaviate server that .ci/run
// builds; the package's tests share one server (started on first use)
// and each uses its own collection or tenant.
var shared struct {
	sync.Mutex
	srv *weaviateserver.Server
	dir string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.srv != nil {
		_ = shared.srv.Stop()
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// binary returns the server binary, skipping the test without one.
func binary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv(weaviateserver.EnvBinary)
	if bin == "" {
		t.Skipf("%s is not set: the Weaviate integration tests need a weaviate-server binary (.ci/run builds one)", weaviateserver.EnvBinary)
	}
	return bin
}

// server returns the shared server, started on first use.
func server(t *testing.T) *weaviateserver.Server {
	t.Helper()
	bin := binary(t)
	shared.Lock()
	defer shared.Unlock()
	if shared.srv == nil {
		dir, err := os.MkdirTemp("", "pmlm-weaviate-")
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		var log io.Writer
		if path := os.Getenv("PMLM_WEAVIATE_LOG"); path != "" { // the server's output, for debugging
			f, err := os.Create(path)
			require.NoError(t, err)
			log = f
		}
		srv, err := weaviateserver.Start(ctx, bin, dir, log)
		if err != nil {
			os.RemoveAll(dir)
		}
		require.NoError(t, err)
		shared.srv, shared.dir = srv, dir
	}
	return shared.srv
}

func config(s *weaviateserver.Server, collection, tenant, version string) weaviate.Config {
	return weaviate.Config{Addr: s.Addr, GRPCAddr: s.GRPCAddr, Collection: collection, Tenant: tenant, EncoderVersion: version}
}

var patientsOnce struct {
	sync.Once
	refs []similarity.Reference
	err  error
}

// patients returns 2,000 synthetic patients encoded by the (untrained,
// seeded) MLP patient encoder, with their IDs as keys and their labels:
// the vectors the pipeline's index holds.
func patients(t *testing.T) []similarity.Reference {
	t.Helper()
	patientsOnce.Do(func() {
		patientsOnce.refs, patientsOnce.err = encodedPatients(2000, 7)
	})
	require.NoError(t, patientsOnce.err)
	return patientsOnce.refs
}

func encodedPatients(n int, seed uint64) ([]similarity.Reference, error) {
	c, err := synth.Generate(synth.Options{Seed: seed, Patients: n})
	if err != nil {
		return nil, err
	}
	series := make([][][]float64, len(c.Patients))
	for i, p := range c.Patients {
		series[i] = p.Matrix()
	}
	std, err := mlp.FitStandardizer(series)
	if err != nil {
		return nil, err
	}
	cfg := mlp.DefaultConfig(len(c.Metrics))
	cfg.MaxVisits = max(cfg.MaxVisits, c.MaxVisits())
	enc, err := mlp.New(cfg, std, seed)
	if err != nil {
		return nil, err
	}
	refs := make([]similarity.Reference, len(series))
	for i, s := range series {
		v, err := enc.Encode(s)
		if err != nil {
			return nil, err
		}
		refs[i] = similarity.Reference{Key: c.Patients[i].ID, Vector: v, Label: c.Patients[i].Label}
	}
	return refs, nil
}

func keys(nb []similarity.Neighbor) []string {
	out := make([]string, len(nb))
	for i, n := range nb {
		out[i] = n.Key
	}
	return out
}

// TestRecallAgainstExact imports 2,000 encoded patients and asks for each
// of 300 of them, itself excluded, its 10 nearest: the answers must agree
// with similarity.Exact's (recall@10 ≥ 0.99), and where the candidates
// hold Exact's answer the whole answer (order, similarities, ordinals) must
// be Exact's.
func TestRecallAgainstExact(t *testing.T) {
	s := server(t)
	ctx := context.Background()
	refs := patients(t)
	exact, err := similarity.NewIndex(refs)
	require.NoError(t, err)
	start := time.Now()
	ix, err := weaviate.New(ctx, config(s, "Recall", "", "enc-a"), refs)
	require.NoError(t, err)
	t.Logf("imported %d patients in %s", len(refs), time.Since(start).Round(time.Millisecond))
	n, err := ix.Len(ctx)
	require.NoError(t, err)
	require.Equal(t, len(refs), n)

	const k, queries = 10, 300
	hits, identical := 0, 0
	for i := 0; i < queries; i++ {
		r := refs[i*len(refs)/queries]
		q := similarity.Query{Vector: r.Vector, K: k, Exclude: []string{r.Key}}
		want, err := exact.Recommend(ctx, q)
		require.NoError(t, err)
		got, err := ix.Recommend(ctx, q)
		require.NoError(t, err)
		require.Len(t, got, k)
		assert.NotContains(t, keys(got), r.Key)
		wantKeys := map[string]bool{}
		for _, n := range want {
			wantKeys[n.Key] = true
		}
		for _, n := range got {
			if wantKeys[n.Key] {
				hits++
			}
		}
		if assert.ObjectsAreEqual(want, got) {
			identical++
		}
	}
	recall := float64(hits) / float64(k*queries)
	t.Logf("recall@10 %.4f; %d of %d answers identical to Exact's", recall, identical, queries)
	assert.GreaterOrEqual(t, recall, 0.99)
	assert.GreaterOrEqual(t, identical, queries*99/100)
}

// TestExclusion leaves out Exact's three best answers and gets Exact's
// answer without them.
func TestExclusion(t *testing.T) {
	s := server(t)
	ctx := context.Background()
	refs := patients(t)[:500]
	exact, err := similarity.NewIndex(refs)
	require.NoError(t, err)
	ix, err := weaviate.New(ctx, config(s, "Exclusion", "", "enc-a"), refs)
	require.NoError(t, err)
	for _, i := range []int{0, 17, 250} {
		top, err := exact.Recommend(ctx, similarity.Query{Vector: refs[i].Vector, K: 3})
		require.NoError(t, err)
		q := similarity.Query{Vector: refs[i].Vector, K: 5, Exclude: append(keys(top), "no-such-key")}
		want, err := exact.Recommend(ctx, q)
		require.NoError(t, err)
		got, err := ix.Recommend(ctx, q)
		require.NoError(t, err)
		assert.Equal(t, want, got)
		for _, k := range q.Exclude {
			assert.NotContains(t, keys(got), k)
		}
	}
}

// TestTenantsAndEncoderVersions puts the same keys in two tenants and under
// two encoder versions with other labels: each index sees only its own.
func TestTenantsAndEncoderVersions(t *testing.T) {
	s := server(t)
	ctx := context.Background()
	base := patients(t)[:200]
	relabel := func(tag string) []similarity.Reference {
		out := make([]similarity.Reference, len(base))
		for i, r := range base {
			out[i] = similarity.Reference{Key: r.Key, Vector: r.Vector, Label: tag}
		}
		return out
	}
	a, err := weaviate.New(ctx, config(s, "Tenants", "hospital-a", "enc-a"), relabel("A"))
	require.NoError(t, err)
	b, err := weaviate.New(ctx, config(s, "Tenants", "hospital-b", "enc-a"), relabel("B")[:150])
	require.NoError(t, err)
	a2, err := weaviate.New(ctx, config(s, "Tenants", "hospital-a", "enc-b"), relabel("A2")[:120])
	require.NoError(t, err)
	for ix, want := range map[*weaviate.Index]struct {
		label string
		n     int
	}{a: {"A", 200}, b: {"B", 150}, a2: {"A2", 120}} {
		n, err := ix.Len(ctx)
		require.NoError(t, err)
		assert.Equal(t, want.n, n, ix.Config().Tenant+"/"+ix.Config().EncoderVersion)
		got, err := ix.Recommend(ctx, similarity.Query{Vector: base[3].Vector, K: 10})
		require.NoError(t, err)
		require.Len(t, got, 10)
		for _, nb := range got {
			assert.Equal(t, want.label, nb.Label)
		}
	}
}

// TestIncrementalUpdates adds, replaces and deletes patients and compares
// with an Exact rebuilt over the resulting references in ordinal order.
func TestIncrementalUpdates(t *testing.T) {
	s := server(t)
	ctx := context.Background()
	all := patients(t)
	first, extra := all[:300], all[300:400]
	ix, err := weaviate.New(ctx, config(s, "Incremental", "", "enc-a"), first)
	require.NoError(t, err)

	// Add 100, replace one old patient's vector by another's, delete 50.
	require.NoError(t, ix.Upsert(ctx, extra))
	replaced := similarity.Reference{Key: first[5].Key, Vector: all[1500].Vector, Label: "replaced"}
	require.NoError(t, ix.Upsert(ctx, []similarity.Reference{replaced}))
	var gone []string
	for _, r := range first[100:150] {
		gone = append(gone, r.Key)
	}
	removed, err := ix.Delete(ctx, append(gone, "no-such-key")...)
	require.NoError(t, err)
	assert.Equal(t, 50, removed)
	n, err := ix.Len(ctx)
	require.NoError(t, err)
	assert.Equal(t, 350, n)

	// The same references in ordinal order: first (with the replacement,
	// without the deleted), then extra.
	var want []similarity.Reference
	for i, r := range first {
		switch {
		case i == 5:
			want = append(want, replaced)
		case i >= 100 && i < 150:
			want = append(want, similarity.Reference{Key: r.Key + "-deleted", Vector: make([]float32, len(r.Vector)), Label: "deleted"})
		default:
			want = append(want, r)
		}
	}
	want = append(want, extra...)
	exact, err := similarity.NewIndex(want)
	require.NoError(t, err)
	for _, q := range []similarity.Query{
		{Vector: all[1500].Vector, K: 5},
		{Vector: first[120].Vector, K: 10},
		{Vector: extra[7].Vector, K: 10, Exclude: []string{extra[7].Key}},
	} {
		// Deleted rows are zero vectors in want: similarity 0, never in a
		// top-10 of 350 patients with positive similarities.
		w, err := exact.Recommend(ctx, q)
		require.NoError(t, err)
		got, err := ix.Recommend(ctx, q)
		require.NoError(t, err)
		assert.Equal(t, w, got)
		for _, k := range gone {
			assert.NotContains(t, keys(got), k)
		}
	}
	got, err := ix.Recommend(ctx, similarity.Query{Vector: all[1500].Vector, K: 1})
	require.NoError(t, err)
	assert.Equal(t, "replaced", got[0].Label)
}

// TestRestartPersistence stops the server, starts it again on the same
// data directory, and gets the same answers without importing again.
func TestRestartPersistence(t *testing.T) {
	s := server(t)
	ctx := context.Background()
	refs := patients(t)[:400]
	cfg := config(s, "Restart", "", "enc-a")
	ix, err := weaviate.New(ctx, cfg, refs)
	require.NoError(t, err)
	q := similarity.Query{Vector: refs[9].Vector, K: 10, Exclude: []string{refs[9].Key}}
	before, err := ix.Recommend(ctx, q)
	require.NoError(t, err)

	shared.Lock()
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	err = s.Restart(rctx)
	cancel()
	shared.Unlock()
	require.NoError(t, err)

	again, err := weaviate.Open(ctx, cfg)
	require.NoError(t, err)
	n, err := again.Len(ctx)
	require.NoError(t, err)
	assert.Equal(t, len(refs), n)
	after, err := again.Recommend(ctx, q)
	require.NoError(t, err)
	assert.Equal(t, before, after)
}

// TestServerDown queries a server that has stopped: a clear error naming
// the server, as soon as the caller's context ends or the retries are
// spent.
func TestServerDown(t *testing.T) {
	bin := binary(t)
	ctx := context.Background()
	dir := t.TempDir()
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	srv, err := weaviateserver.Start(sctx, bin, dir, nil)
	cancel()
	require.NoError(t, err)
	cfg := config(srv, "Down", "", "enc-a")
	cfg.Timeout = 2 * time.Second
	refs := patients(t)[:50]
	ix, err := weaviate.New(ctx, cfg, refs)
	require.NoError(t, err)
	require.NoError(t, srv.Stop())

	// The caller's deadline ends the retries.
	qctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = ix.Recommend(qctx, similarity.Query{Vector: refs[0].Vector, K: 5})
	took := time.Since(start)
	require.Error(t, err)
	assert.ErrorIs(t, err, weaviate.ErrServer)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), srv.Addr)
	assert.Less(t, took, 5*time.Second)

	// Without a deadline the retries are counted.
	cfg.Retries, cfg.RetryDelay = 2, 50*time.Millisecond
	_, err = weaviate.Open(ctx, cfg)
	require.Error(t, err)
	assert.ErrorIs(t, err, weaviate.ErrServer)
	assert.True(t, strings.Contains(err.Error(), "connect") || strings.Contains(err.Error(), "3 tries"), err.Error())
}

func TestConfigErrors(t *testing.T) {
	ctx := context.Background()
	for _, cfg := range []weaviate.Config{
		{GRPCAddr: "127.0.0.1:1", Collection: "Ok", EncoderVersion: "v"},
		{Addr: "127.0.0.1:1", GRPCAddr: "127.0.0.1:1", Collection: "lower", EncoderVersion: "v"},
		{Addr: "127.0.0.1:1", GRPCAddr: "127.0.0.1:1", Collection: "Ok"},
	} {
		_, err := weaviate.Open(ctx, cfg)
		assert.ErrorIs(t, err, weaviate.ErrConfig, fmt.Sprintf("%+v", cfg))
	}
}
