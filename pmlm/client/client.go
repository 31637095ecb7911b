// Package client is a typed Go client of pmlm's HTTP/JSON API (package
// pmlm/api, served by pmlm serve and package pmlm/server).
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pmlm-go/pmlm/pmlm/api"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

// Client calls one pmlm server. Its zero value is not usable: make it with
// New. It is safe for concurrent use.
type Client struct {
	base  string
	http  *http.Client
	token string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the http.Client (default http.DefaultClient), for
// TLS settings, timeouts or a transport.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithToken sets the bearer token sent with every request.
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// New returns a client of the server at baseURL (e.g.
// "http://127.0.0.1:8080").
func New(baseURL string, opts ...Option) *Client {
	c := &Client{base: strings.TrimRight(baseURL, "/"), http: http.DefaultClient}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Error is a problem the server answered (RFC 9457), with the HTTP status
// and, for a 503, how long to wait before retrying.
type Error struct {
	StatusCode int
	Problem    api.Problem
	RetryAfter time.Duration
}

// Error formats the status, the problem's title and detail, and the
// fields the problem names.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pmlm server: %d %s", e.StatusCode, e.Problem.Title)
	if e.Problem.Detail != "" {
		b.WriteString(": " + e.Problem.Detail)
	}
	for _, f := range e.Problem.Errors {
		fmt.Fprintf(&b, "; %s: %s", f.Pointer, f.Detail)
	}
	return b.String()
}

// Prompt returns a patient's coarse and refined prompts (POST /v1/prompt).
func (c *Client) Prompt(ctx context.Context, req *api.PatientRequest) (*api.PromptResponse, error) {
	var out api.PromptResponse
	return &out, c.do(ctx, http.MethodPost, "/v1/prompt", req, &out)
}

// Respond returns a patient's prompts and the responder's answer (POST
// /v1/respond).
func (c *Client) Respond(ctx context.Context, req *api.PatientRequest) (*api.RespondResponse, error) {
	var out api.RespondResponse
	return &out, c.do(ctx, http.MethodPost, "/v1/respond", req, &out)
}

// Score scores a candidate against references (POST /v1/score).
func (c *Client) Score(ctx context.Context, req *api.ScoreRequest) (*api.ScoreResponse, error) {
	var out api.ScoreResponse
	return &out, c.do(ctx, http.MethodPost, "/v1/score", req, &out)
}

// Model describes the served model: its metric catalogue, labels and
// parts (GET /v1/model).
func (c *Client) Model(ctx context.Context) (*api.ModelResponse, error) {
	var out api.ModelResponse
	return &out, c.do(ctx, http.MethodGet, "/v1/model", nil, &out)
}

// Healthy reports nil when the server is up (GET /healthz).
func (c *Client) Healthy(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/healthz", nil, &api.Health{})
}

// Ready reports nil when the server accepts work (GET /readyz).
func (c *Client) Ready(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/readyz", nil, &api.Health{})
}

// maxResponse bounds what the client reads of an answer.
const maxResponse = 16 << 20

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("pmlm client: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("pmlm client: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", api.MediaJSON)
	}
	req.Header.Set("Accept", api.MediaJSON+", "+api.MediaProblem)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("pmlm client: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("pmlm client: %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		e := &Error{StatusCode: resp.StatusCode}
		if err := json.Unmarshal(raw, &e.Problem); err != nil || e.Problem.Title == "" {
			e.Problem.Title = http.StatusText(resp.StatusCode)
		}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
			e.RetryAfter = time.Duration(s) * time.Second
		}
		return e
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("pmlm client: %s %s: decode: %w", method, path, err)
	}
	return nil
}

// IsBusy reports whether err is the server's 503 (queue full or shutting
// down), after which the request may be retried after Error.RetryAfter.
func IsBusy(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == http.StatusServiceUnavailable
}

// PatientRequest turns a cohort patient, whose visit values follow the
// catalogue metrics, into a request with the values keyed by metric name
// (missing values left out).
func PatientRequest(metrics []cohort.Metric, pt *cohort.Patient) *api.PatientRequest {
	req := &api.PatientRequest{Visits: make([]api.Visit, 0, len(pt.Visits))}
	for _, v := range pt.Visits {
		vals := make(map[string]*float64, len(v.Values))
		for i, x := range v.Values {
			if !cohort.IsMissing(x) && i < len(metrics) {
				vals[metrics[i].Name] = &x
			}
		}
		req.Visits = append(req.Visits, api.Visit{Date: v.Date.Format(cohort.DateLayout), Values: vals})
	}
	return req
}
