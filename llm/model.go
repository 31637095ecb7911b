package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/openai"
)

// ModelResponder answers prompts with one call to a langchaingo model: no
// timeout, retry or limit of its own (wrap it with Guard). It turns what
// the model returns into a Response or a typed error.
type ModelResponder struct {
	model    llms.Model
	id       Identity
	complete bool // id.Model was set by an option
	// secrets are redacted from every error (the API key).
	secrets []string
}

// withSecret makes the responder redact s from its errors.
func withSecret(s string) ModelOption {
	return func(m *ModelResponder) { m.secrets = append(m.secrets, s) }
}

// ModelOption configures FromModel.
type ModelOption func(*ModelResponder)

// WithSystem sets the system prompt sent before every prompt.
func WithSystem(system string) ModelOption {
	return func(m *ModelResponder) { m.id.System = system }
}

// WithParams sets the generation parameters (default DefaultParams()).
func WithParams(p Params) ModelOption {
	return func(m *ModelResponder) { m.id.Params = p }
}

// WithName records the provider and model names, for accounting and the
// cache key. A provider that reports the model name in its answer
// overrides modelName in Response.Model, not in the cache key.
func WithName(provider, modelName string) ModelOption {
	return func(m *ModelResponder) {
		m.id.Provider, m.id.Model = provider, modelName
		m.complete = true
	}
}

// FromModel adapts any langchaingo model. Give it an http.Client from
// NewHTTPClient (where the provider accepts one) so that HTTP statuses and
// Retry-After headers become *StatusError values that Guard can act on;
// without it, FromModel falls back to reading the status code from the
// error text of langchaingo's OpenAI client.
func FromModel(m llms.Model, opts ...ModelOption) *ModelResponder {
	r := &ModelResponder{model: m, id: Identity{Params: DefaultParams()}}
	for _, o := range opts {
		o(r)
	}
	if !r.complete {
		r.id.Provider = fmt.Sprintf("%T", m)
	}
	return r
}

// Identity implements Identified.
func (m *ModelResponder) Identity() Identity { return m.id }

// Complete answers prompt with an explicit system prompt (overriding the
// one set with WithSystem), for callers that need instructions of their
// own. (The LLM label predictor, predict.LLMClassifier, calls its
// langchaingo model directly.)
func (m *ModelResponder) Complete(ctx context.Context, system, prompt string) (Response, error) {
	return m.generate(ctx, system, prompt)
}

// Respond implements Responder.
func (m *ModelResponder) Respond(ctx context.Context, prompt string) (Response, error) {
	return m.generate(ctx, m.id.System, prompt)
}

func (m *ModelResponder) callOptions() []llms.CallOption {
	p := m.id.Params
	opts := []llms.CallOption{llms.WithTemperature(p.Temperature)}
	if p.Seed != 0 {
		opts = append(opts, llms.WithSeed(p.Seed))
	}
	if p.MaxTokens > 0 {
		opts = append(opts, llms.WithMaxTokens(p.MaxTokens))
	}
	if p.TopP != 0 {
		opts = append(opts, llms.WithTopP(p.TopP))
	}
	if p.LegacyMaxTokens {
		opts = append(opts, openai.WithLegacyMaxTokensField())
	}
	return opts
}

func (m *ModelResponder) generate(ctx context.Context, system, prompt string) (Response, error) {
	start := time.Now()
	msgs := make([]llms.MessageContent, 0, 2)
	if system != "" {
		msgs = append(msgs, llms.TextParts(llms.ChatMessageTypeSystem, system))
	}
	msgs = append(msgs, llms.TextParts(llms.ChatMessageTypeHuman, prompt))
	octx, obs := withObservation(ctx)
	out, err := m.model.GenerateContent(octx, msgs, m.callOptions()...)
	seen := obs.snapshot()
	resp := Response{Provider: m.id.Provider, Model: m.id.Model, Latency: time.Since(start)}
	if err != nil {
		return resp, m.classify(ctx, err, &seen)
	}
	if seen.refused {
		return resp, ErrRefused
	}
	if out == nil || len(out.Choices) == 0 || out.Choices[0] == nil {
		return resp, ErrEmpty
	}
	c := out.Choices[0]
	resp.Text = c.Content
	resp.StopReason = c.StopReason
	resp.PromptTokens, resp.CompletionTokens, resp.TotalTokens = tokenCounts(c.GenerationInfo)
	switch stopClass(c.StopReason) {
	case stopRefused:
		return resp, fmt.Errorf("%w (finish reason %q)", ErrRefused, c.StopReason)
	case stopTruncated:
		return resp, fmt.Errorf("%w (finish reason %q, %d completion tokens)", ErrTruncated, c.StopReason, resp.CompletionTokens)
	}
	if strings.TrimSpace(resp.Text) == "" {
		return resp, ErrEmpty
	}
	return resp, nil
}

// statusText matches the error text of langchaingo's OpenAI client.
var statusText = regexp.MustCompile(`status code: (\d{3})`)

// classify turns a client library error into the package's errors.
func (m *ModelResponder) classify(ctx context.Context, err error, seen *observation) error {
	// The library's message may hold the provider's error body, which may
	// echo the request's credentials.
	err = redactErr(err, m.secrets)
	if cerr := ctx.Err(); cerr != nil {
		// langchaingo replaces context errors by plain text; restore them.
		if errors.Is(cerr, context.DeadlineExceeded) {
			return fmt.Errorf("%w: %w", ErrTimeout, cerr)
		}
		return fmt.Errorf("llm: %w", cerr)
	}
	if errors.Is(err, openai.ErrEmptyResponse) {
		return fmt.Errorf("%w: %w", ErrEmpty, err)
	}
	if seen.seen {
		switch {
		case seen.transport != nil:
			return &TransportError{Err: seen.transport}
		case seen.status != http.StatusOK:
			return &StatusError{StatusCode: seen.status, RetryAfter: seen.retryAfter, Err: err}
		case seen.malformed:
			return fmt.Errorf("%w: %w", ErrMalformedResponse, err)
		case seen.noChoices:
			return fmt.Errorf("%w: %w", ErrEmpty, err)
		}
	}
	if sm := statusText.FindStringSubmatch(err.Error()); sm != nil {
		code, _ := strconv.Atoi(sm[1])
		return &StatusError{StatusCode: code, Err: err}
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	if errors.As(err, &syn) || errors.As(err, &typ) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %w", ErrMalformedResponse, err)
	}
	return fmt.Errorf("llm: %w", err)
}

type stopKind int

const (
	stopNormal stopKind = iota
	stopTruncated
	stopRefused
)

// stopClass maps the finish reasons of OpenAI ("length",
// "content_filter"), Anthropic ("max_tokens", "refusal") and langchaingo's
// googleai package ("FinishReasonMaxTokens", "FinishReasonSafety"), for
// models built with it and passed to FromModel.
func stopClass(reason string) stopKind {
	switch strings.ToLower(reason) {
	case "length", "max_tokens", "finishreasonmaxtokens", "max_output_tokens":
		return stopTruncated
	case "content_filter", "refusal", "finishreasonsafety", "safety", "finishreasonrecitation":
		return stopRefused
	}
	return stopNormal
}

// tokenCounts reads the token counts langchaingo puts in GenerationInfo:
// PromptTokens/CompletionTokens/TotalTokens (OpenAI, Ollama, Google AI) or
// InputTokens/OutputTokens (Anthropic).
func tokenCounts(info map[string]any) (prompt, completion, total int) {
	get := func(keys ...string) int {
		for _, k := range keys {
			if n, ok := asInt(info[k]); ok {
				return n
			}
		}
		return 0
	}
	prompt = get("PromptTokens", "InputTokens")
	completion = get("CompletionTokens", "OutputTokens")
	total = get("TotalTokens")
	if total == 0 {
		total = prompt + completion
	}
	return prompt, completion, total
}

func asInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int32:
		return int(n), true
	case int64:
		return int(n), true
	case float64:
		return int(n), true
	}
	return 0, false
}
