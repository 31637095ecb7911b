// Package server serves a trained pmlm.Pipeline over HTTP/JSON: the API of
// package pmlm/api (prompts, answers, scores, the model's catalogue),
// health and readiness checks, Prometheus metrics and the OpenAPI
// document, on the standard library's net/http.
//
// Every request to /v1/ passes, in order: optional bearer-token
// authentication (compared in constant time), a body-size limit, a
// concurrency limit with a bounded queue (503 with Retry-After when it is
// full) and a per-request deadline that reaches the responder. Errors are
// RFC 9457 problem details that name the offending field. Logs (log/slog)
// carry the route, status and duration, never a request body, a patient
// key, a lab value or the token.
package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"mime"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pmlm-go/pmlm/llm"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/api"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

// Defaults of Config.
const (
	DefaultMaxBodyBytes    = 1 << 20
	DefaultMaxQueue        = 256
	DefaultRequestTimeout  = 30 * time.Second
	DefaultShutdownTimeout = 30 * time.Second
	DefaultRetryAfter      = time.Second
)

// Config configures a Server. Only Pipeline is required.
type Config struct {
	// Pipeline is the model served.
	Pipeline *pmlm.Pipeline
	// Manifest is the model directory's manifest (pmlm.ReadManifest), for
	// GET /v1/model; nil leaves its format, version, checksum and parts
	// empty.
	Manifest *pmlm.Manifest
	// MaxBodyBytes bounds a request body (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// MaxConcurrent is the number of requests worked on at once (default
	// GOMAXPROCS); MaxQueue the number that may wait for a slot (default
	// DefaultMaxQueue; negative: none). A request beyond both gets 503.
	MaxConcurrent int
	MaxQueue      int
	// RetryAfter is the Retry-After of a 503 (default DefaultRetryAfter).
	RetryAfter time.Duration
	// RequestTimeout bounds each API request, queueing included (default
	// DefaultRequestTimeout); its deadline reaches the responder.
	RequestTimeout time.Duration
	// ShutdownTimeout bounds how long Serve waits for in-flight requests
	// after its context ends (default DefaultShutdownTimeout).
	ShutdownTimeout time.Duration
	// Token, when not empty, is the bearer token every /v1/ request must
	// carry (Authorization: Bearer TOKEN).
	Token string
	// Logger receives one line per request (default: discard).
	Logger *slog.Logger
	// Registry receives the server's metrics (default: a new registry
	// with the Go and process collectors).
	Registry *prometheus.Registry
	// Budget, when the responder is guarded by one (llm.Guard), is
	// reported as the metrics of calls and tokens spent.
	Budget *llm.Budget
	// Bayes, when set, lets POST /v1/respond refine by minimum Bayes risk
	// on request (refine: bayes); make it with Pipeline.BayesRefiner over
	// Pipeline.TrainingPatients. Nil: the policy only.
	Bayes *pmlm.BayesRefiner
}

// Server is the HTTP handler of the API. It is safe for concurrent use.
type Server struct {
	cfg     Config
	p       *pmlm.Pipeline
	model   api.ModelResponse
	index   map[string]int // metric name → position in the catalogue
	mux     *http.ServeMux
	slots   chan struct{}
	waiting atomic.Int64
	// draining is set when Serve starts shutting down: /readyz fails and
	// new API requests get 503.
	draining atomic.Bool
	token    [32]byte
	m        metrics
	log      *slog.Logger
}

type metrics struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	inFlight  prometheus.Gauge
	queued    prometheus.Gauge
	responder *prometheus.CounterVec
	cacheHits prometheus.Counter
}

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Pipeline == nil {
		return nil, errors.New("server: no pipeline")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = runtime.GOMAXPROCS(0)
	}
	switch {
	case cfg.MaxQueue == 0:
		cfg.MaxQueue = DefaultMaxQueue
	case cfg.MaxQueue < 0:
		cfg.MaxQueue = 0
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = DefaultRetryAfter
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
		cfg.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	s := &Server{cfg: cfg, p: cfg.Pipeline, slots: make(chan struct{}, cfg.MaxConcurrent), log: cfg.Logger}
	s.token = sha256.Sum256([]byte(cfg.Token))
	s.model = modelInfo(cfg.Pipeline, cfg.Manifest)
	s.model.BayesRefinement = cfg.Bayes != nil
	s.index = make(map[string]int, len(s.model.Metrics))
	for i, m := range s.model.Metrics {
		s.index[m.Name] = i
	}
	if err := s.registerMetrics(cfg.Registry); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

func (s *Server) registerMetrics(reg *prometheus.Registry) error {
	s.m = metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pmlm_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "pmlm_http_request_duration_seconds", Help: "Time to answer an HTTP request, queueing included.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pmlm_http_in_flight_requests", Help: "API requests being worked on.",
		}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pmlm_http_queued_requests", Help: "API requests waiting for a slot.",
		}),
		responder: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pmlm_responder_calls_total", Help: "Calls to the responder by outcome (ok, error); a request refined by minimum Bayes risk makes one per candidate prompt, a failed request counts once.",
		}, []string{"outcome"}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pmlm_responder_cache_hits_total", Help: "Responder answers that came from a response cache.",
		}),
	}
	cs := []prometheus.Collector{s.m.requests, s.m.duration, s.m.inFlight, s.m.queued, s.m.responder, s.m.cacheHits}
	if b := s.cfg.Budget; b != nil {
		cs = append(cs,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pmlm_budget_calls_spent", Help: "Responder calls spent from the budget."},
				func() float64 { return float64(b.Calls()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pmlm_budget_tokens_spent", Help: "Responder tokens spent from the budget."},
				func() float64 { return float64(b.Tokens()) }))
		if b.MaxCalls > 0 {
			cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pmlm_budget_calls_left", Help: "Responder calls left in the budget."},
				func() float64 { return float64(b.MaxCalls - b.Calls()) }))
		}
		if b.MaxTokens > 0 {
			cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pmlm_budget_tokens_left", Help: "Responder tokens left in the budget."},
				func() float64 { return float64(b.MaxTokens - b.Tokens()) }))
		}
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("server: metrics: %w", err)
		}
	}
	return nil
}

// route is one entry of the route table: its pattern, method and
// whether it is an API route (authenticated, limited, queued).
type route struct {
	path, method string
	api          bool
	h            http.HandlerFunc
}

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	table := []route{
		{"/v1/prompt", http.MethodPost, true, s.handlePrompt},
		{"/v1/respond", http.MethodPost, true, s.handleRespond},
		{"/v1/score", http.MethodPost, true, s.handleScore},
		{"/v1/model", http.MethodGet, true, s.handleModel},
		{"/healthz", http.MethodGet, false, s.handleHealth},
		{"/readyz", http.MethodGet, false, s.handleReady},
		{"/metrics", http.MethodGet, false, promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{}).ServeHTTP},
		{"/openapi.json", http.MethodGet, false, s.handleOpenAPI},
	}
	for _, rt := range table {
		s.mux.Handle(rt.path, s.wrap(rt))
	}
	s.mux.Handle("/", s.wrap(route{path: "other", h: func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusNotFound, api.ProblemNotFound, "Not found", "no route "+r.URL.Path, nil)
	}}))
}

// Routes lists the method and path of every route the server answers.
func Routes() [][2]string {
	return [][2]string{
		{http.MethodPost, "/v1/prompt"}, {http.MethodPost, "/v1/respond"}, {http.MethodPost, "/v1/score"},
		{http.MethodGet, "/v1/model"}, {http.MethodGet, "/healthz"}, {http.MethodGet, "/readyz"},
		{http.MethodGet, "/metrics"}, {http.MethodGet, "/openapi.json"},
	}
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// statusWriter records the status code written.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// wrap adds what every route needs: method check, metrics, the log line,
// panic recovery, and for API routes authentication, the body limit, the
// deadline and the concurrency limit.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				s.log.Error("panic", "route", rt.path, "panic", fmt.Sprint(v))
				if sw.code == 0 {
					writeProblem(sw, http.StatusInternalServerError, api.ProblemInternal, "Internal error", "", nil)
				}
			}
			code := sw.code
			if code == 0 {
				code = 499 // the client went away before an answer
			}
			d := time.Since(start)
			s.m.requests.WithLabelValues(rt.path, strconv.Itoa(code)).Inc()
			s.m.duration.WithLabelValues(rt.path).Observe(d.Seconds())
			// No body, key, value or token: the route, method and outcome.
			s.log.Info("request", "route", rt.path, "method", r.Method, "status", code,
				"duration_ms", float64(d.Microseconds())/1000)
		}()
		if rt.method != "" && r.Method != rt.method && !(rt.method == http.MethodGet && r.Method == http.MethodHead) {
			sw.Header().Set("Allow", rt.method)
			writeProblem(sw, http.StatusMethodNotAllowed, api.ProblemMethod, "Method not allowed",
				fmt.Sprintf("%s %s: use %s", r.Method, rt.path, rt.method), nil)
			return
		}
		if !rt.api {
			rt.h(sw, r)
			return
		}
		if !s.authorized(r) {
			sw.Header().Set("WWW-Authenticate", `Bearer realm="pmlm"`)
			writeProblem(sw, http.StatusUnauthorized, api.ProblemUnauthorized, "Unauthorized", "a valid bearer token is required", nil)
			return
		}
		if s.draining.Load() {
			s.busy(sw, api.ProblemShuttingDown, "Shutting down", "the server is shutting down")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
		defer cancel()
		release, err := s.acquire(ctx)
		if err != nil {
			if errors.Is(err, errQueueFull) {
				s.busy(sw, api.ProblemBusy, "Busy", "the queue is full")
			} else {
				s.failed(sw, err)
			}
			return
		}
		defer release()
		r.Body = http.MaxBytesReader(sw, r.Body, s.cfg.MaxBodyBytes)
		rt.h(sw, r.WithContext(ctx))
	})
}

// authorized compares the bearer token in constant time (of hashes, so
// that the length does not leak either).
func (s *Server) authorized(r *http.Request) bool {
	if s.cfg.Token == "" {
		return true
	}
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return false
	}
	got := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(got[:], s.token[:]) == 1
}

var errQueueFull = errors.New("server: queue full")

// acquire takes a work slot, waiting in the queue when all are taken and
// the queue has room.
func (s *Server) acquire(ctx context.Context) (func(), error) {
	release := func() {
		<-s.slots
		s.m.inFlight.Dec()
	}
	select {
	case s.slots <- struct{}{}:
		s.m.inFlight.Inc()
		return release, nil
	default:
	}
	if s.waiting.Add(1) > int64(s.cfg.MaxQueue) {
		s.waiting.Add(-1)
		return nil, errQueueFull
	}
	s.m.queued.Inc()
	defer func() {
		s.waiting.Add(-1)
		s.m.queued.Dec()
	}()
	select {
	case s.slots <- struct{}{}:
		s.m.inFlight.Inc()
		return release, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *Server) busy(w http.ResponseWriter, typ, title, detail string) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(s.cfg.RetryAfter.Seconds())))))
	writeProblem(w, http.StatusServiceUnavailable, typ, title, detail, nil)
}

// failed answers an error of the pipeline or of the request's context.
func (s *Server) failed(w http.ResponseWriter, err error) {
	var pe *pmlm.PatientError
	switch {
	case errors.As(err, &pe):
		errs := make([]api.FieldError, len(pe.Problems))
		for i, pr := range pe.Problems {
			errs[i] = api.FieldError{Pointer: pointerOf(pr), Detail: pr.Message}
		}
		writeProblem(w, http.StatusUnprocessableEntity, api.ProblemPatient, "Patient does not fit the model", "", errs)
	case errors.Is(err, pmlm.ErrNoVisits):
		writeProblem(w, http.StatusUnprocessableEntity, api.ProblemPatient, "Patient does not fit the model", "",
			[]api.FieldError{{Pointer: "/visits", Detail: "no visits"}})
	case errors.Is(err, context.DeadlineExceeded):
		writeProblem(w, http.StatusGatewayTimeout, api.ProblemTimeout, "Deadline exceeded",
			fmt.Sprintf("no answer within %s", s.cfg.RequestTimeout), nil)
	case errors.Is(err, context.Canceled):
		// The client is gone: nothing to answer (logged as 499).
	case errors.Is(err, pmlm.ErrResponder):
		s.log.Warn("responder failed", "error_class", fmt.Sprintf("%T", errors.Unwrap(err)))
		writeProblem(w, http.StatusBadGateway, api.ProblemResponder, "Responder failed", "the responder could not answer", nil)
	default:
		// The message may quote a lab value: log its type only.
		s.log.Error("internal error", "error_type", fmt.Sprintf("%T", err))
		writeProblem(w, http.StatusInternalServerError, api.ProblemInternal, "Internal error", "", nil)
	}
}

// pointerOf returns the JSON pointer of a patient problem's field.
func pointerOf(pr pmlm.Problem) string {
	switch {
	case pr.Visit >= 0 && pr.Metric != "":
		return fmt.Sprintf("/visits/%d/values/%s", pr.Visit, escapePointer(pr.Metric))
	case pr.Visit >= 0:
		return fmt.Sprintf("/visits/%d", pr.Visit)
	}
	return "/visits"
}

// escapePointer escapes a JSON pointer token (RFC 6901).
func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func writeProblem(w http.ResponseWriter, status int, typ, title, detail string, errs []api.FieldError) {
	w.Header().Set("Content-Type", api.MediaProblem)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(api.Problem{Type: typ, Title: title, Status: status, Detail: detail, Errors: errs})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", api.MediaJSON)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads the JSON body into v, answering the problem and returning
// false when it cannot.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != api.MediaJSON {
		writeProblem(w, http.StatusUnsupportedMediaType, api.ProblemMediaType, "Unsupported media type",
			"the body must be application/json", nil)
		return false
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("data after the JSON value")
	}
	if err == nil {
		return true
	}
	var tooLarge *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooLarge):
		writeProblem(w, http.StatusRequestEntityTooLarge, api.ProblemTooLarge, "Body too large",
			fmt.Sprintf("the limit is %d bytes", tooLarge.Limit), nil)
	case errors.As(err, &typ):
		ptr := "/" + strings.ReplaceAll(typ.Field, ".", "/")
		writeProblem(w, http.StatusBadRequest, api.ProblemInvalidField, "Invalid field", "",
			[]api.FieldError{{Pointer: ptr, Detail: fmt.Sprintf("want %s, got JSON %s", typ.Type, typ.Value)}})
	case errors.As(err, &syntax):
		writeProblem(w, http.StatusBadRequest, api.ProblemInvalidJSON, "Invalid JSON",
			fmt.Sprintf("syntax error at byte %d", syntax.Offset), nil)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		writeProblem(w, http.StatusBadRequest, api.ProblemInvalidField, "Invalid field", "",
			[]api.FieldError{{Pointer: "", Detail: fmt.Sprintf("unknown field %q", name)}})
	default:
		writeProblem(w, http.StatusBadRequest, api.ProblemInvalidJSON, "Invalid JSON", err.Error(), nil)
	}
	return false
}

// patient converts a request to a patient with values in the model's
// catalogue order, matched by name. Unknown metrics are refused (or, when
// lenient, listed in skipped).
// patientRequest is api.PatientRequest with each value kept raw, so that
// a value of the wrong type is reported with its visit and metric.
type patientRequest struct {
	Key    string `json:"key"`
	Visits []struct {
		Date   string                     `json:"date"`
		Values map[string]json.RawMessage `json:"values"`
	} `json:"visits"`
	Lenient bool   `json:"lenient"`
	Refine  string `json:"refine"`
}

func (s *Server) patient(req *patientRequest) (*cohort.Patient, []api.Skipped, []api.FieldError) {
	var errs []api.FieldError
	var skipped []api.Skipped
	if len(req.Visits) == 0 {
		return nil, nil, []api.FieldError{{Pointer: "/visits", Detail: "at least one visit is required"}}
	}
	if limit := 4 * s.p.MaxVisits(); len(req.Visits) > limit {
		// Refuse before allocating for each visit, even when lenient.
		return nil, nil, []api.FieldError{{Pointer: "/visits", Detail: fmt.Sprintf("%d visits, more than %d", len(req.Visits), limit)}}
	}
	pt := &cohort.Patient{ID: req.Key}
	for i, v := range req.Visits {
		d, err := time.Parse(cohort.DateLayout, v.Date)
		if err != nil {
			errs = append(errs, api.FieldError{Pointer: fmt.Sprintf("/visits/%d/date", i), Detail: "want a date YYYY-MM-DD"})
			continue
		}
		vals := make([]float64, len(s.model.Metrics))
		for j := range vals {
			vals[j] = cohort.Missing()
		}
		names := make([]string, 0, len(v.Values))
		for name := range v.Values {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			j, ok := s.index[name]
			ptr := fmt.Sprintf("/visits/%d/values/%s", i, escapePointer(name))
			switch {
			case !ok && req.Lenient:
				skipped = append(skipped, api.Skipped{Pointer: ptr, Detail: "metric unknown to the model; ignored"})
			case !ok:
				errs = append(errs, api.FieldError{Pointer: ptr, Detail: "metric unknown to the model (GET /v1/model lists its metrics)"})
			default:
				raw := v.Values[name]
				if string(raw) == "null" {
					continue
				}
				if err := json.Unmarshal(raw, &vals[j]); err != nil {
					errs = append(errs, api.FieldError{Pointer: ptr, Detail: "want a number or null, got " + truncate(string(raw), 20)})
				}
			}
		}
		pt.Visits = append(pt.Visits, cohort.Visit{Date: d, Values: vals})
	}
	return pt, skipped, errs
}

// refinement is the Bayes refiner a request's refine field asks for (nil
// for the policy), or the field's error.
func (s *Server) refinement(refine string, respond bool) (*pmlm.BayesRefiner, []api.FieldError) {
	var detail string
	switch {
	case refine == "" || refine == api.RefinePolicy:
		return nil, nil
	case refine != api.RefineBayes:
		detail = fmt.Sprintf("want %q or %q", api.RefinePolicy, api.RefineBayes)
	case !respond:
		detail = "refinement by minimum Bayes risk asks the responder: use POST /v1/respond"
	case s.cfg.Bayes == nil:
		detail = "this server refines by the policy only (GET /v1/model: bayes_refinement)"
	default:
		return s.cfg.Bayes, nil
	}
	return nil, []api.FieldError{{Pointer: "/refine", Detail: detail}}
}

// answer runs the pipeline for a patient request; it answers the problem
// and returns nil when it cannot.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, respond bool) (*pmlm.Answer, []api.Skipped) {
	var req patientRequest
	if !decode(w, r, &req) {
		return nil, nil
	}
	// The request's fields are checked before the patient is matched to
	// the model, and every error of both is answered at once: a client
	// that fixes one is not told of the next only on its second try.
	bayes, errs := s.refinement(req.Refine, respond)
	pt, skipped, patientErrs := s.patient(&req)
	errs = append(errs, patientErrs...)
	if len(errs) > 0 {
		status, typ, title := http.StatusBadRequest, api.ProblemInvalidField, "Invalid field"
		if strings.Contains(errs[0].Detail, "metric unknown") || errs[0].Pointer == "/visits" {
			status, typ, title = http.StatusUnprocessableEntity, api.ProblemPatient, "Patient does not fit the model"
		}
		writeProblem(w, status, typ, title, "", errs)
		return nil, nil
	}
	opts := pmlm.RespondOptions{SkipFinal: !respond, Lenient: req.Lenient, Bayes: bayes}
	a, err := s.p.Respond(r.Context(), pt, opts)
	if respond {
		switch {
		case err == nil:
			calls := 1
			if a.Bayes != nil {
				calls = a.Bayes.Candidates // one answer per candidate prompt
			}
			s.m.responder.WithLabelValues("ok").Add(float64(calls))
			if a.Response.Cached {
				s.m.cacheHits.Inc()
			}
		case errors.Is(err, pmlm.ErrResponder):
			s.m.responder.WithLabelValues("error").Inc()
		}
	}
	if err != nil {
		s.failed(w, err)
		return nil, nil
	}
	for _, pr := range a.Problems {
		skipped = append(skipped, api.Skipped{Pointer: pointerOf(pr), Detail: pr.Message})
	}
	return a, skipped
}

func promptOf(a *pmlm.Answer, skipped []api.Skipped) api.PromptResponse {
	out := api.PromptResponse{PredictedLabel: a.PredictedLabel, Coarse: a.Coarse, Final: a.Final, Skipped: skipped}
	out.Similar = make([]api.LabelCount, len(a.Similar))
	for i, s := range a.Similar {
		out.Similar[i] = api.LabelCount{Label: s.Label, Count: s.Count, MeanSimilarity: s.MeanSimilarity}
	}
	out.Deletions = make([]api.Deletion, len(a.Deletions))
	for i, d := range a.Deletions {
		out.Deletions[i] = api.Deletion{Step: d.Step, Word: d.Word, Index: d.Index, Prob: d.Prob}
	}
	return out
}

func (s *Server) handlePrompt(w http.ResponseWriter, r *http.Request) {
	if a, skipped := s.answer(w, r, false); a != nil {
		writeJSON(w, promptOf(a, skipped))
	}
}

func (s *Server) handleRespond(w http.ResponseWriter, r *http.Request) {
	if a, skipped := s.answer(w, r, true); a != nil {
		out := api.RespondResponse{PromptResponse: promptOf(a, skipped), Answer: api.Answer{
			Text: a.Response.Text, Provider: a.Response.Provider, Model: a.Response.Model, Cached: a.Response.Cached,
		}}
		if a.Bayes != nil {
			out.Bayes = &api.Bayes{Candidates: a.Bayes.Candidates, ExpectedF1: a.Bayes.Expected, CoarseExpectedF1: a.Bayes.CoarseExpected}
		}
		writeJSON(w, out)
	}
}

func (s *Server) handleScore(w http.ResponseWriter, r *http.Request) {
	var req api.ScoreRequest
	if !decode(w, r, &req) {
		return
	}
	if len(req.References) == 0 {
		writeProblem(w, http.StatusBadRequest, api.ProblemInvalidField, "Invalid field", "",
			[]api.FieldError{{Pointer: "/references", Detail: "at least one reference is required"}})
		return
	}
	cands := make([]string, len(req.References))
	for i := range cands {
		cands[i] = req.Candidate
	}
	each, err := s.p.ScoreEach(r.Context(), cands, req.References)
	if err != nil {
		s.failed(w, err)
		return
	}
	out := api.ScoreResponse{Each: make([]api.Scores, len(each)), Embedder: s.p.TextEncoder().Name()}
	for i, e := range each {
		out.Each[i] = api.Scores{BLEU4: e.BLEU.BLEU(), ROUGE1: e.ROUGE1, ROUGE2: e.ROUGE2, ROUGEL: e.ROUGEL,
			BERTScoreP: e.BERTScoreP, BERTScoreR: e.BERTScoreR, BERTScoreF: e.BERTScoreF}
	}
	m := pmlm.AggregateScores(each)
	out.Mean = api.Scores{BLEU4: m.BLEU4, ROUGE1: m.ROUGE1, ROUGE2: m.ROUGE2, ROUGEL: m.ROUGEL,
		BERTScoreP: m.BERTScoreP, BERTScoreR: m.BERTScoreR, BERTScoreF: m.BERTScoreF}
	writeJSON(w, out)
}

func (s *Server) handleModel(w http.ResponseWriter, _ *http.Request) { writeJSON(w, s.model) }

func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, api.Health{Status: "ok"})
}

func (s *Server) handleReady(w http.ResponseWriter, _ *http.Request) {
	if s.draining.Load() {
		w.Header().Set("Content-Type", api.MediaJSON)
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(api.Health{Status: "shutting down"})
		return
	}
	writeJSON(w, api.Health{Status: "ready"})
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", api.MediaJSON)
	_, _ = w.Write(api.OpenAPI())
}

// modelInfo describes the served model for GET /v1/model.
func modelInfo(p *pmlm.Pipeline, m *pmlm.Manifest) api.ModelResponse {
	out := api.ModelResponse{MaxVisits: p.MaxVisits(), Labels: p.Labels(), Parts: map[string]string{},
		TextEncoder: p.TextEncoder().Name()}
	for _, mt := range p.Catalogue() {
		out.Metrics = append(out.Metrics, api.Metric{Name: mt.Name, Description: mt.Description, Unit: mt.Unit, Min: mt.Min, Max: mt.Max})
	}
	if id, ok := p.Responder().(interface{ Identity() llm.Identity }); ok {
		i := id.Identity()
		out.Responder = api.Responder{Provider: i.Provider, Model: i.Model}
	}
	if m != nil {
		out.Format, out.Version, out.Checksum, out.K, out.Steps = m.Format, m.Version, m.Checksum, m.K, m.Steps
		for role, part := range m.Parts {
			out.Parts[role] = part.Kind
		}
		if out.Responder.Provider == "" {
			out.Responder = api.Responder{Provider: m.Responder.Provider, Model: m.Responder.Model}
		}
	}
	return out
}

// Serve answers on ln until ctx ends, then shuts down gracefully:
// /readyz fails and new API requests get 503 at once, in-flight requests
// finish (up to Config.ShutdownTimeout), and Serve returns nil. With
// certFile and keyFile it serves TLS.
func (s *Server) Serve(ctx context.Context, ln net.Listener, certFile, keyFile string) error {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() {
		if certFile != "" || keyFile != "" {
			errc <- srv.ServeTLS(ln, certFile, keyFile)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	s.draining.Store(true)
	s.log.Info("shutting down", "in_flight", len(s.slots))
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}

// truncate shortens s to at most n bytes for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
