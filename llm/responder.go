// Package llm is the responder of the PMLM pipeline (LLM_r in the paper):
// the model that receives a personalized prompt and answers it as a doctor
// would. The RL loop calls it thousands of times, so the package makes
// repeated calls cheap (a persistent response cache), safe under failures
// (timeouts, retries with backoff, concurrency and rate limits, a budget) and
// honest about what happened (token counts, cache status, typed errors for
// empty, truncated and refused answers).
//
// The parts compose as decorators around the Responder interface:
//
//	model := FromModel(langchaingoModel, WithSystem("You are an obstetrician."))
//	r := Guard(model, GuardConfig{Timeout: 30 * time.Second, MaxAttempts: 5})
//	r = Cached(r, store)
//
// New builds the first two from a Config for OpenAI, Anthropic, Google AI,
// Ollama and any OpenAI-compatible server. API keys are read from the
// environment only, never from flags or files, and never logged.
//
// CaseResponder is the offline, embedded default: a stand-in for an LLM that
// answers with the doctor reply of the nearest training prompt.
package llm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"
)

// Responder answers prompts. Implementations are safe for concurrent use.
type Responder interface {
	// Respond answers one prompt. The returned error wraps one of the
	// package's sentinel errors (ErrEmpty, ErrTruncated, ...), a
	// *StatusError, or the context's error where one applies.
	Respond(ctx context.Context, prompt string) (Response, error)
}

// Request is one prompt with the patients whose own records must not
// inform its answer.
//
// Exclusion is by opaque patient key (the pipeline passes
// cohort.Patient.ID), carried in the request itself — never a slice index,
// which an external store with incremental updates cannot honour, and never
// a context value, which decorators such as the response cache cannot see
// in their key. A responder that knows no patients (a general LLM) ignores
// Exclude; one that draws on patient records (CaseResponder, a model
// trained on the cohort) implements PatientResponder and honours it.
type Request struct {
	// Prompt is the text to answer.
	Prompt string
	// Exclude holds the keys of the patients whose records must not be
	// used: while training, the query patient's own.
	Exclude []string
}

// PatientResponder is a Responder that draws on patient records and so
// must honour Request.Exclude. Decorators (Cached) forward it.
type PatientResponder interface {
	Responder
	// RespondTo answers req.Prompt without using the records of the
	// patients in req.Exclude.
	RespondTo(ctx context.Context, req Request) (Response, error)
}

// RespondTo answers req with r: through PatientResponder.RespondTo when r
// implements it, otherwise with r.Respond(ctx, req.Prompt), since a
// responder that holds no patient record has nothing to exclude.
func RespondTo(ctx context.Context, r Responder, req Request) (Response, error) {
	if pr, ok := r.(PatientResponder); ok {
		return pr.RespondTo(ctx, req)
	}
	return r.Respond(ctx, req.Prompt)
}

// Response is an answer and what a caller needs to account for it.
type Response struct {
	// Text is the answer.
	Text string `json:"text"`
	// Provider and Model name what produced the answer, as reported by the
	// provider where it reports it.
	Provider string `json:"provider"`
	Model    string `json:"model"`
	// Token counts as the provider reported them; zero where it did not.
	// For a cached answer they are the counts of the original call, which
	// were not spent again.
	PromptTokens     int `json:"prompt_tokens,omitempty"`
	CompletionTokens int `json:"completion_tokens,omitempty"`
	TotalTokens      int `json:"total_tokens,omitempty"`
	// StopReason is the provider's finish reason ("stop", "length", ...),
	// empty where it reports none.
	StopReason string `json:"stop_reason,omitempty"`
	// Cached is true when the answer came from a response cache and no
	// request was made.
	Cached bool `json:"cached"`
	// Attempts is the number of requests Guard made for this answer (0
	// when no Guard was involved or the answer was cached).
	Attempts int `json:"attempts,omitempty"`
	// Latency is the wall time of the Respond call that returned it.
	Latency time.Duration `json:"latency_ns"`
}

// Identity describes what determines a responder's answers. The response
// cache keys on it, so two responders with equal identities must give equal
// answers to equal prompts.
type Identity struct {
	Provider string
	Model    string
	// System is the system prompt sent before every prompt.
	System string
	// Params are the generation parameters.
	Params Params
}

// Identified is implemented by responders that can describe themselves.
// Decorators forward it.
type Identified interface {
	Identity() Identity
}

// Params are generation parameters. The zero value is not the default: use
// DefaultParams, which is deterministic (temperature 0, a fixed seed).
type Params struct {
	// Temperature is always sent (langchaingo sends 0 when unset).
	Temperature float64
	// Seed is sent where the provider supports it (OpenAI, OpenAI-compatible
	// servers, Ollama); 0 means none.
	Seed int
	// MaxTokens caps the answer length; 0 leaves it to the server.
	MaxTokens int
	// TopP, when non-zero, sets nucleus sampling.
	TopP float64
	// LegacyMaxTokens sends the cap as "max_tokens" instead of
	// "max_completion_tokens", for older OpenAI-compatible servers.
	LegacyMaxTokens bool
}

// DefaultSeed is the seed DefaultParams sends.
const DefaultSeed = 1

// DefaultParams returns deterministic generation settings: temperature 0
// and seed DefaultSeed.
func DefaultParams() Params { return Params{Temperature: 0, Seed: DefaultSeed} }

// Sentinel errors; test with errors.Is.
var (
	// ErrEmpty is returned when the model returned no choices or an empty text.
	ErrEmpty = errors.New("llm: empty answer")
	// ErrTruncated is returned when the answer stopped at the token limit (finish reason
	// "length" or "max_tokens"). Respond returns the partial Response with it.
	ErrTruncated = errors.New("llm: answer truncated at the token limit")
	// ErrRefused is returned when the model or its content filter refused to answer
	// (finish reason "content_filter", "refusal", a safety stop, or an
	// OpenAI "refusal" message).
	ErrRefused = errors.New("llm: answer refused")
	// ErrBudgetExhausted is returned when the Budget allows no further call.
	ErrBudgetExhausted = errors.New("llm: budget exhausted")
	// ErrTimeout is returned when one attempt ran past its per-call timeout.
	ErrTimeout = errors.New("llm: call timed out")
	// ErrMalformedResponse is returned when the server answered 200 with a body that is not
	// valid JSON.
	ErrMalformedResponse = errors.New("llm: malformed response")
	// ErrMissingAPIKey is returned when the environment variable holding the API key is
	// empty.
	ErrMissingAPIKey = errors.New("llm: missing API key")
)

// StatusError is an HTTP error status returned by the provider.
type StatusError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// RetryAfter is the server's Retry-After header, 0 when absent.
	RetryAfter time.Duration
	// Err is the error the client library returned.
	Err error
}

// Error names the status, the Retry-After delay and the library's message.
func (e *StatusError) Error() string {
	s := fmt.Sprintf("llm: HTTP status %d", e.StatusCode)
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %v)", e.RetryAfter)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the library's error.
func (e *StatusError) Unwrap() error { return e.Err }

// Retryable reports whether the status is worth retrying: 408, 429 and 5xx.
func (e *StatusError) Retryable() bool {
	return e.StatusCode == 408 || e.StatusCode == 429 || e.StatusCode >= 500
}

// TransportError is a failure to get any HTTP response (connection refused
// or reset, DNS failure). Guard retries it.
type TransportError struct{ Err error }

// Error returns the underlying error's text.
func (e *TransportError) Error() string { return "llm: transport: " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *TransportError) Unwrap() error { return e.Err }

// RespondAll answers prompts with at most concurrency calls in flight
// (concurrency < 1 means 1). Answers are in the order of prompts. The first
// error cancels the calls not yet finished and is returned, wrapped with the
// index of its prompt.
func RespondAll(ctx context.Context, r Responder, prompts []string, concurrency int) ([]Response, error) {
	out := make([]Response, len(prompts))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(concurrency, 1))
	for i, p := range prompts {
		if gctx.Err() != nil {
			break // an earlier call failed; don't start more
		}
		g.Go(func() error {
			resp, err := r.Respond(gctx, p)
			if err != nil {
				return fmt.Errorf("prompt %d: %w", i, err)
			}
			out[i] = resp
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
