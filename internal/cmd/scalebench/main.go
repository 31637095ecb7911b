// Command scalebench measures the patient index at scale: N encoded
// synthetic patients (the synthetic cohort generated in chunks, encoded by
// the seeded MLP patient encoder) in similarity.Exact and in a Weaviate
// server on loopback (similarity/weaviate): import time, index size on
// disk and in memory, recall@10 of Weaviate against Exact, query latency
// p50/p99 of both, and the build time of the training neighbour table.
//
//	PMLM_WEAVIATE_SERVER=/path/to/weaviate-server nice go run ./internal/cmd/scalebench -n 100000
//
// It prints one Markdown table. Nothing is written outside a temporary
// folder, which it removes.
package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pmlm-go/pmlm/encoder/mlp"
	"github.com/pmlm-go/pmlm/internal/cputime"
	"github.com/pmlm-go/pmlm/internal/weaviateserver"
	"github.com/pmlm-go/pmlm/pmlm/synth"
	"github.com/pmlm-go/pmlm/similarity"
	"github.com/pmlm-go/pmlm/similarity/weaviate"
)

func main() {
	n := flag.Int("n", 100_000, "patients")
	queries := flag.Int("queries", 1000, "query patients (each excluded from its own answer)")
	k := flag.Int("k", 10, "neighbours per query")
	chunk := flag.Int("chunk", 20_000, "patients synthesized at a time")
	table := flag.Bool("table", true, "build the neighbour table (quadratic in n; after the Weaviate part)")
	withWeaviate := flag.Bool("weaviate", true, "import into a Weaviate server and query it")
	seed := flag.Uint64("seed", 1, "seed")
	flag.Parse()
	if err := measure(context.Background(), *n, *queries, *k, *chunk, *table, *withWeaviate, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "scalebench:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05")+" "+format+"\n", args...)
}

// encoded returns n encoded synthetic patients, synthesized chunk at a
// time (chunk c with seed+c, keys prefixed by the chunk), encoded by one
// MLP whose standardizer is fitted on the first chunk.
func encoded(n, chunk int, seed uint64) ([]similarity.Reference, error) {
	var enc *mlp.MLP
	refs := make([]similarity.Reference, 0, n)
	for c := 0; len(refs) < n; c++ {
		size := min(chunk, n-len(refs))
		co, err := synth.Generate(synth.Options{Seed: seed + uint64(c), Patients: max(size, 50)})
		if err != nil {
			return nil, err
		}
		series := make([][][]float64, len(co.Patients))
		for i, p := range co.Patients {
			series[i] = p.Matrix()
		}
		if enc == nil {
			std, err := mlp.FitStandardizer(series)
			if err != nil {
				return nil, err
			}
			cfg := mlp.DefaultConfig(len(co.Metrics))
			cfg.MaxVisits = max(cfg.MaxVisits, 45)
			if enc, err = mlp.New(cfg, std, seed); err != nil {
				return nil, err
			}
		}
		for i := 0; i < size; i++ {
			v, err := enc.Encode(series[i])
			if err != nil {
				return nil, err
			}
			refs = append(refs, similarity.Reference{Key: fmt.Sprintf("c%03d-%s", c, co.Patients[i].ID), Vector: v, Label: co.Patients[i].Label})
		}
	}
	return refs, nil
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

func dirSize(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err == nil {
			total += fi.Size()
		}
		return err
	})
	return total, err
}

// rss reads a process's resident memory in bytes from /proc.
func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return -1
}

// loadavg is the machine's 1-minute load average from /proc: the VM is
// shared, so every timing is read beside it.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "unknown"
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func cpu() time.Duration { d, _ := cputime.Process(); return d }

func measure(ctx context.Context, n, queries, k, chunk int, table, withWeaviate bool, seed uint64) error {
	bin := os.Getenv(weaviateserver.EnvBinary)
	if withWeaviate && bin == "" {
		return fmt.Errorf("set %s to a weaviate-server binary", weaviateserver.EnvBinary)
	}
	rows := [][2]string{{"patients", strconv.Itoa(n)}, {"GOMAXPROCS", strconv.Itoa(runtime.GOMAXPROCS(0))}}
	add := func(name, value string) { rows = append(rows, [2]string{name, value}); logf("%s: %s", name, value) }
	add("load average at the start", loadavg())

	start, c0 := time.Now(), cpu()
	refs, err := encoded(n, chunk, seed)
	if err != nil {
		return err
	}
	add("synthesize and encode", fmt.Sprintf("%s (CPU %s)", time.Since(start).Round(time.Second), (cpu()-c0).Round(time.Second)))

	start = time.Now()
	exact, err := similarity.NewIndex(refs)
	if err != nil {
		return err
	}
	add("Exact: build", time.Since(start).Round(time.Millisecond).String())
	add("Exact: vectors in memory", mib(int64(n*len(refs[0].Vector)*4))+" normalized (+ the same again as given, for Save)")

	rng := rand.New(rand.NewPCG(seed, 99))
	qs := make([]int, queries)
	for i := range qs {
		qs[i] = rng.IntN(n)
	}
	exactLat := make([]time.Duration, queries)
	want := make([][]similarity.Neighbor, queries)
	for i, r := range qs {
		t0 := time.Now()
		if want[i], err = exact.Recommend(ctx, similarity.Query{Vector: refs[r].Vector, K: k, Exclude: []string{refs[r].Key}}); err != nil {
			return err
		}
		exactLat[i] = time.Since(t0)
	}
	add("Exact: query p50 / p99", fmt.Sprintf("%s / %s", percentile(exactLat, .5).Round(time.Microsecond), percentile(exactLat, .99).Round(time.Microsecond)))

	if withWeaviate {
		// In its own function, so that the server is stopped and its data
		// removed before the table takes the cores.
		if err := measureWeaviate(ctx, bin, refs, qs, want, k, add); err != nil {
			return err
		}
	}

	if table {
		start, c0 = time.Now(), cpu()
		tab, err := exact.NeighborTable(ctx, k)
		if err != nil {
			return err
		}
		add(fmt.Sprintf("neighbour table %d × %d, top-%d", n, n, k), fmt.Sprintf("%s (CPU %s; %d rows fell back to a scan)",
			time.Since(start).Round(time.Millisecond), (cpu()-c0).Round(time.Millisecond), tab.Fallbacks))
		for i, r := range qs {
			if !slices.Equal(keysOf(tab.Neighbors(r)), keysOf(want[i])) {
				return fmt.Errorf("neighbour table row %d differs from Exact", r)
			}
		}
	}

	add("load average at the end", loadavg())

	fmt.Println("| measure | value |\n|---|---|")
	for _, r := range rows {
		fmt.Printf("| %s | %s |\n", r[0], r[1])
	}
	return nil
}

// measureWeaviate starts a server on a temporary folder, imports refs,
// queries it with the query rows qs (want: Exact's answers) and adds its
// rows; the server is stopped and the folder removed on return.
func measureWeaviate(ctx context.Context, bin string, refs []similarity.Reference, qs []int, want [][]similarity.Neighbor, k int, add func(name, value string)) error {
	n, queries := len(refs), len(qs)
	dir, err := os.MkdirTemp("", "pmlm-scalebench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	srv, err := weaviateserver.Start(sctx, bin, dir, nil)
	cancel()
	if err != nil {
		return err
	}
	defer srv.Stop()
	idle := rss(srv.PID())
	cfg := weaviate.Config{Addr: srv.Addr, GRPCAddr: srv.GRPCAddr, Collection: "Scale", EncoderVersion: "scalebench", BatchSize: 1000}
	start := time.Now()
	ix, err := weaviate.New(ctx, cfg, refs)
	if err != nil {
		return err
	}
	took := time.Since(start)
	add("Weaviate: import", fmt.Sprintf("%s (%.0f patients/s)", took.Round(time.Second), float64(n)/took.Seconds()))
	add("Weaviate: server memory (RSS) idle → after import", mib(idle)+" → "+mib(rss(srv.PID())))
	size, err := dirSize(dir)
	if err != nil {
		return err
	}
	add("Weaviate: data on disk after import", mib(size))

	lat := make([]time.Duration, queries)
	hits := 0
	for i, r := range qs {
		t0 := time.Now()
		got, err := ix.Recommend(ctx, similarity.Query{Vector: refs[r].Vector, K: k, Exclude: []string{refs[r].Key}})
		if err != nil {
			return err
		}
		lat[i] = time.Since(t0)
		wk := keysOf(want[i])
		for _, g := range got {
			if slices.Contains(wk, g.Key) {
				hits++
			}
		}
	}
	add(fmt.Sprintf("Weaviate: recall@%d against Exact (%d queries)", k, queries), fmt.Sprintf("%.4f", float64(hits)/float64(k*queries)))
	add("Weaviate: query p50 / p99 (HNSW + exact re-rank)", fmt.Sprintf("%s / %s", percentile(lat, .5).Round(time.Microsecond), percentile(lat, .99).Round(time.Microsecond)))
	add("Weaviate: server memory (RSS) after queries", mib(rss(srv.PID())))
	return nil
}

func keysOf(nb []similarity.Neighbor) []string {
	out := make([]string, len(nb))
	for i, n := range nb {
		out[i] = n.Key
	}
	return out
}
