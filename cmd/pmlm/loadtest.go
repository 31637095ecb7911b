package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gonum.org/v1/gonum/stat"

	"github.com/pmlm-go/pmlm/internal/cputime"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/api"
	"github.com/pmlm-go/pmlm/pmlm/client"
	"github.com/pmlm-go/pmlm/pmlm/server"
)

// loadtestCommand drives a server on loopback with concurrent clients.
func loadtestCommand() command {
	return command{
		name:  "loadtest",
		usage: "loadtest MODEL DATA [--route prompt|respond] [--clients 1,8,32] [--duration 10s] [--url URL]",
		summary: "measure the HTTP service's throughput and latency with concurrent clients\n\n" +
			"Serves MODEL in-process on a loopback port (or targets --url, token from $" + tokenEnv + ") and sends POST\n" +
			"/v1/ROUTE requests built from DATA's patients in turn (varied patients), from N\n" +
			"concurrent clients for --duration each. Reports requests per second, latency\n" +
			"percentiles, errors, the responder's cache hits and, in-process, the CPU time per\n" +
			"request (server and clients together).",
		flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			route := fs.String("route", "respond", "route: prompt or respond")
			clients := fs.String("clients", "1,8,32", "comma-separated numbers of concurrent clients")
			duration := fs.Duration("duration", 10*time.Second, "time per client count")
			url := fs.String("url", "", "base URL of a running server (default: serve MODEL in-process)")
			concurrency := fs.Int("concurrency", 0, "in-process server: requests worked on at once (default: the number of CPUs)")
			data := addDataFlags(fs)
			return func(ctx context.Context, e *env, args []string) error {
				if err := wantArgs(args, 2); err != nil {
					return err
				}
				if *route != "prompt" && *route != "respond" {
					return fmt.Errorf("%w: --route must be prompt or respond, got %q", errUsage, *route)
				}
				if *duration <= 0 {
					return fmt.Errorf("%w: --duration must be positive", errUsage)
				}
				var counts []int
				for _, f := range strings.Split(*clients, ",") {
					n, err := strconv.Atoi(strings.TrimSpace(f))
					if err != nil || n < 1 {
						return fmt.Errorf("%w: --clients: %q is not a positive number", errUsage, f)
					}
					counts = append(counts, n)
				}
				c, err := data.read(e, args[1])
				if err != nil {
					return err
				}
				reqs := make([]*api.PatientRequest, 0, len(c.Patients))
				for i := range c.Patients {
					reqs = append(reqs, client.PatientRequest(c.Metrics, &c.Patients[i]))
				}
				if len(reqs) == 0 {
					return fmt.Errorf("%s: no patients", args[1])
				}
				base := *url
				inProcess := base == ""
				if inProcess {
					p, err := pmlm.Load(ctx, args[0], pmlm.LoadOptions{})
					if err != nil {
						return err
					}
					m, err := pmlm.ReadManifest(args[0])
					if err != nil {
						return err
					}
					s, err := server.New(server.Config{Pipeline: p, Manifest: m, MaxConcurrent: *concurrency, MaxQueue: 4096})
					if err != nil {
						return err
					}
					ln, err := net.Listen("tcp", "127.0.0.1:0")
					if err != nil {
						return err
					}
					sctx, stop := context.WithCancel(ctx)
					done := make(chan error, 1)
					go func() { done <- s.Serve(sctx, ln, "", "") }()
					defer func() { stop(); <-done }()
					base = "http://" + ln.Addr().String()
				}
				hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024}}
				cl := client.New(base, client.WithHTTPClient(hc), client.WithToken(os.Getenv(tokenEnv)))
				// One request of each kind first: the model answers, and lazy
				// initialisation stays out of the measurement.
				if _, err := call(ctx, cl, *route, reqs[0]); err != nil {
					return fmt.Errorf("first request: %w", err)
				}
				fmt.Fprintf(e.stdout, "POST /v1/%s, %d patients in turn, %s per client count\n", *route, len(reqs), *duration)
				fmt.Fprintf(e.stdout, "%7s %9s %9s %9s %9s %9s %7s %6s %s\n", "clients", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "cached", "CPU/req ms")
				next := 1 // reqs[0] was sent; each patient once before any repeats, over all client counts
				for _, n := range counts {
					r := drive(ctx, cl, *route, reqs, &next, n, *duration)
					cpu := "-"
					if inProcess && r.ok > 0 && r.cpuOK {
						cpu = fmt.Sprintf("%.2f", float64(r.cpu.Microseconds())/1000/float64(r.ok+r.errors))
					}
					fmt.Fprintf(e.stdout, "%7d %9d %9.1f %9.1f %9.1f %9.1f %7d %6d %s\n", n, r.ok, float64(r.ok)/r.wall.Seconds(),
						r.quantile(0.50), r.quantile(0.95), r.quantile(0.99), r.errors, r.cached, cpu)
					for _, msg := range r.firstErrors {
						fmt.Fprintf(e.stderr, "  error: %s\n", msg)
					}
					if err := ctx.Err(); err != nil {
						return err
					}
				}
				return nil
			}
		},
	}
}

// call sends one request; cached reports a cached answer.
func call(ctx context.Context, cl *client.Client, route string, req *api.PatientRequest) (cached bool, err error) {
	if route == "prompt" {
		_, err := cl.Prompt(ctx, req)
		return false, err
	}
	a, err := cl.Respond(ctx, req)
	if err != nil {
		return false, err
	}
	return a.Answer.Cached, nil
}

// loadResult is one client count's measurement.
type loadResult struct {
	ok, errors, cached int
	latencies          []float64 // ms, successful requests
	wall, cpu          time.Duration
	cpuOK              bool
	firstErrors        []string
}

func (r *loadResult) quantile(q float64) float64 {
	if len(r.latencies) == 0 {
		return 0
	}
	return stat.Quantile(q, stat.Empirical, r.latencies, nil)
}

// drive runs n clients for d, each sending the next patient's request
// (*next, advanced) as soon as its previous one is answered.
func drive(ctx context.Context, cl *client.Client, route string, reqs []*api.PatientRequest, next *int, n int, d time.Duration) *loadResult {
	var mu sync.Mutex
	r := &loadResult{}
	cpu0, cpuOK := cputime.Process()
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				mu.Lock()
				req := reqs[*next%len(reqs)]
				*next++
				mu.Unlock()
				t := time.Now()
				cached, err := call(ctx, cl, route, req)
				ms := float64(time.Since(t).Microseconds()) / 1000
				mu.Lock()
				switch {
				case err == nil:
					r.ok++
					r.latencies = append(r.latencies, ms)
					if cached {
						r.cached++
					}
				case errors.Is(err, context.Canceled):
				default:
					r.errors++
					if len(r.firstErrors) < 3 {
						r.firstErrors = append(r.firstErrors, err.Error())
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	r.wall = time.Since(start)
	if cpu1, ok := cputime.Process(); ok && cpuOK {
		r.cpu, r.cpuOK = cpu1-cpu0, true
	}
	slices.Sort(r.latencies)
	return r
}
