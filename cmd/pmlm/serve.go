package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/pmlm-go/pmlm/llm"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/server"
)

// tokenEnv is the environment variable that may hold the bearer token.
const tokenEnv = "PMLM_TOKEN"

// serveCommand serves a trained model over HTTP/JSON.
func serveCommand() command {
	return command{
		name:  "serve",
		usage: "serve MODEL [--addr 127.0.0.1:8080] [--token-file FILE] [--tls-cert FILE --tls-key FILE] [--llm PROVIDER --model M] [--bayes-data DATA]",
		summary: "serve a trained model over HTTP/JSON (API: GET /openapi.json)\n\n" +
			"Routes: POST /v1/prompt, /v1/respond, /v1/score; GET /v1/model, /healthz, /readyz,\n" +
			"/metrics (Prometheus), /openapi.json. Visits are matched to the model's metrics by\n" +
			"name. With a token (--token-file, or the " + tokenEnv + " environment variable) every /v1/\n" +
			"request needs \"Authorization: Bearer TOKEN\". SIGINT or SIGTERM stops accepting work\n" +
			"and finishes the requests in flight. Logs carry no patient data.\n\n" +
			"--bayes-data DATA lets POST /v1/respond refine by minimum Bayes risk on request\n" +
			"(\"refine\": \"bayes\"; beyond the paper, about 7 responder calls): DATA must hold the model's\n" +
			"training patients, whose replies and diagnoses the refinement weighs; it is read as the\n" +
			"model's cohort was.",
		flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
			tokenFile := fs.String("token-file", "", "file holding the bearer token (default: $"+tokenEnv+"; none: no authentication)")
			cert := fs.String("tls-cert", "", "TLS certificate file (PEM); with --tls-key")
			key := fs.String("tls-key", "", "TLS private key file (PEM)")
			maxBody := fs.Int64("max-body", server.DefaultMaxBodyBytes, "largest request body, bytes")
			concurrency := fs.Int("concurrency", 0, "requests worked on at once (default: the number of CPUs)")
			queue := fs.Int("queue", server.DefaultMaxQueue, "requests that may wait for a slot before 503")
			timeout := fs.Duration("timeout", server.DefaultRequestTimeout, "deadline of each request (reaches the responder)")
			grace := fs.Duration("shutdown-timeout", server.DefaultShutdownTimeout, "how long shutdown waits for requests in flight")
			jsonLogs := fs.Bool("log-json", false, "log JSON lines instead of text")
			provider := fs.String("llm", "", "responder: "+strings.Join(llm.Providers(), ", ")+" (default: the model's own)")
			model := fs.String("model", "", "model name of the LLM provider")
			baseURL := fs.String("base-url", "", "endpoint (openai-compatible)")
			attempts := fs.Int("attempts", 4, "--llm: requests per prompt, retries included (each request within --timeout)")
			cachePath := fs.String("cache", "", "--llm: persistent response cache file (bbolt); hits are counted in /metrics")
			bayesData := fs.String("bayes-data", "", "cohort directory holding the model's training patients: enables refine: bayes on POST /v1/respond")
			bayes := addBayesFlags(fs)
			index := indexFlag(fs)
			return func(ctx context.Context, e *env, args []string) error {
				if err := wantArgs(args, 1); err != nil {
					return err
				}
				if *bayesData == "" {
					if err := bayes.unused("--bayes-data"); err != nil {
						return err
					}
				}
				if err := checkIndexFlag(args[0], *index); err != nil {
					return err
				}
				switch {
				case (*cert == "") != (*key == ""):
					return fmt.Errorf("%w: --tls-cert and --tls-key go together", errUsage)
				case *maxBody <= 0:
					return fmt.Errorf("%w: --max-body must be positive, got %d", errUsage, *maxBody)
				case *concurrency < 0:
					return fmt.Errorf("%w: --concurrency must be ≥ 0, got %d", errUsage, *concurrency)
				case *queue < 0:
					return fmt.Errorf("%w: --queue must be ≥ 0, got %d", errUsage, *queue)
				case *timeout <= 0 || *grace <= 0:
					return fmt.Errorf("%w: --timeout and --shutdown-timeout must be positive", errUsage)
				case *attempts < 1:
					return fmt.Errorf("%w: --attempts %d: must be at least 1", errUsage, *attempts)
				case *cachePath != "" && *provider == "":
					return fmt.Errorf("%w: --cache needs --llm (the model's own responder answers from memory)", errUsage)
				}
				token, err := readToken(*tokenFile)
				if err != nil {
					return err
				}
				opts := pmlm.LoadOptions{Loaders: indexLoaders(ctx, *index)}
				if *provider != "" {
					g := llm.GuardConfig{Timeout: *timeout, MaxAttempts: *attempts}
					if opts.Responder, err = llm.New(ctx, llm.Config{Provider: *provider, Model: *model, BaseURL: *baseURL, Guard: g}); err != nil {
						return err
					}
				}
				if *cachePath != "" {
					store, err := llm.OpenCache(*cachePath, nil)
					if err != nil {
						return err
					}
					defer store.Close()
					opts.Responder = llm.Cached(opts.Responder, store)
				}
				p, err := pmlm.Load(ctx, args[0], opts)
				if err != nil {
					return err
				}
				m, err := pmlm.ReadManifest(args[0])
				if err != nil {
					return err
				}
				var refiner *pmlm.BayesRefiner
				if *bayesData != "" {
					rs := p.ReadSettings()
					c, err := readCohort(e, *bayesData, cohort.ReadOptions{MaxVisits: rs.MaxVisits, Lenient: rs.Lenient})
					if err != nil {
						return err
					}
					if refiner, err = bayes.refiner(p, c, *bayesData); err != nil {
						return err
					}
				}
				var h slog.Handler = slog.NewTextHandler(e.stderr, nil)
				if *jsonLogs {
					h = slog.NewJSONHandler(e.stderr, nil)
				}
				log := slog.New(h)
				q := *queue
				if q == 0 {
					q = -1 // no queue
				}
				s, err := server.New(server.Config{
					Pipeline: p, Manifest: m, MaxBodyBytes: *maxBody, MaxConcurrent: *concurrency, MaxQueue: q,
					RequestTimeout: *timeout, ShutdownTimeout: *grace, Token: token, Logger: log, Bayes: refiner,
				})
				if err != nil {
					return err
				}
				ln, err := net.Listen("tcp", *addr)
				if err != nil {
					return err
				}
				scheme := "http"
				if *cert != "" {
					scheme = "https"
				}
				log.Info("serving", "url", scheme+"://"+ln.Addr().String(), "auth", token != "",
					"metrics", len(p.Catalogue()), "bayes_refinement", refiner != nil, "responder", fmt.Sprintf("%s/%s", m.Responder.Provider, m.Responder.Model))
				start := time.Now()
				if err := s.Serve(ctx, ln, *cert, *key); err != nil {
					return err
				}
				log.Info("stopped", "uptime_s", int(time.Since(start).Seconds()))
				return nil
			}
		},
	}
}

// readToken returns the bearer token from file, else from $PMLM_TOKEN,
// trimmed of surrounding white space; "" when neither gives one.
func readToken(file string) (string, error) {
	if file == "" {
		return strings.TrimSpace(os.Getenv(tokenEnv)), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("%w: --token-file %s is empty", errUsage, file)
	}
	return tok, nil
}
