package llm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms/openai"
)

func TestRespondSuccess(t *testing.T) {
	s := newChatServer(t)
	r := newTestResponder(t, s, fastGuard(), func(c *Config) { c.System = "You are an obstetrician." })
	resp, err := r.Respond(context.Background(), "summarize the case")
	require.NoError(t, err)
	assert.Equal(t, "answer to: summarize the case", resp.Text)
	assert.Equal(t, ProviderOpenAICompatible, resp.Provider)
	assert.Equal(t, "test-model", resp.Model)
	assert.Equal(t, "stop", resp.StopReason)
	// The server counts words: 4 system + 3 prompt, and 5 in the answer.
	assert.Equal(t, 7, resp.PromptTokens)
	assert.Equal(t, 5, resp.CompletionTokens)
	assert.Equal(t, 12, resp.TotalTokens)
	assert.Equal(t, 1, resp.Attempts)
	assert.False(t, resp.Cached)
	assert.Positive(t, resp.Latency)

	req := s.lastRequest(t)
	assert.Equal(t, "test-model", req.Model)
	require.Len(t, req.Messages, 2)
	assert.Equal(t, "system", req.Messages[0].Role)
	assert.Equal(t, "You are an obstetrician.", req.Messages[0].Content)
	require.NotNil(t, req.Temperature)
	assert.Zero(t, *req.Temperature)
	require.NotNil(t, req.Seed)
	assert.Equal(t, DefaultSeed, *req.Seed)
	assert.Nil(t, req.MaxTokens)
	assert.Equal(t, []string{"Bearer no-key"}, s.auth)
}

func TestAPIKeyFromEnvironmentOnly(t *testing.T) {
	s := newChatServer(t)
	env := map[string]string{"MY_KEY": "sk-from-env"}
	r := newTestResponder(t, s, fastGuard(), func(c *Config) {
		c.APIKeyEnv = "MY_KEY"
		c.Getenv = func(k string) string { return env[k] }
	})
	_, err := r.Respond(context.Background(), "hi")
	require.NoError(t, err)
	assert.Equal(t, []string{"Bearer sk-from-env"}, s.auth)

	for _, p := range []string{ProviderOpenAI, ProviderAnthropic, ProviderGoogleAI} {
		_, err := New(context.Background(), Config{Provider: p, Model: "m", Getenv: func(string) string { return "" }})
		require.ErrorIs(t, err, ErrMissingAPIKey, p)
	}
	_, err = New(context.Background(), Config{Provider: "nope", Model: "m"})
	require.ErrorContains(t, err, "unknown provider")
	_, err = New(context.Background(), Config{Provider: ProviderOpenAICompatible, Model: "m"})
	require.ErrorContains(t, err, "base URL")
	_, err = New(context.Background(), Config{Provider: ProviderOllama})
	require.ErrorContains(t, err, "no model")
}

func TestProvidersConstructOffline(t *testing.T) {
	env := func(string) string { return "test-key" }
	for _, p := range Providers() {
		cfg := Config{Provider: p, Model: "m", BaseURL: "http://127.0.0.1:1/v1", Getenv: env}
		r, err := New(context.Background(), cfg)
		require.NoError(t, err, p)
		assert.Equal(t, p, r.Identity().Provider)
	}
}

func TestLegacyMaxTokensField(t *testing.T) {
	s := newChatServer(t)
	p := DefaultParams()
	p.MaxTokens, p.LegacyMaxTokens = 64, true
	r := newTestResponder(t, s, fastGuard(), func(c *Config) { c.Params = &p })
	_, err := r.Respond(context.Background(), "hi")
	require.NoError(t, err)
	req := s.lastRequest(t)
	require.NotNil(t, req.MaxTokens)
	assert.Equal(t, 64, *req.MaxTokens)
	assert.Nil(t, req.MaxCompletionTokens)

	p.LegacyMaxTokens = false
	r = newTestResponder(t, s, fastGuard(), func(c *Config) { c.Params = &p })
	_, err = r.Respond(context.Background(), "hi")
	require.NoError(t, err)
	req = s.lastRequest(t)
	assert.Nil(t, req.MaxTokens)
	require.NotNil(t, req.MaxCompletionTokens)
	assert.Equal(t, 64, *req.MaxCompletionTokens)
}

func TestRetryAfter429(t *testing.T) {
	s := newChatServer(t, status(http.StatusTooManyRequests, "1"))
	g := fastGuard()
	r := newTestResponder(t, s, g)
	start := time.Now()
	resp, err := r.Respond(context.Background(), "hi")
	require.NoError(t, err)
	assert.Equal(t, "answer to: hi", resp.Text)
	assert.Equal(t, 2, resp.Attempts)
	assert.EqualValues(t, 2, s.requests.Load())
	// The backoff alone is at most 5 ms: the wait is the server's.
	assert.GreaterOrEqual(t, time.Since(start), time.Second)
}

func TestRetryAfterTooLongGivesUp(t *testing.T) {
	s := newChatServer(t, status(http.StatusTooManyRequests, "3600"))
	r := newTestResponder(t, s, fastGuard())
	_, err := r.Respond(context.Background(), "hi")
	var se *StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, http.StatusTooManyRequests, se.StatusCode)
	assert.Equal(t, time.Hour, se.RetryAfter)
	assert.EqualValues(t, 1, s.requests.Load())
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	assert.Equal(t, 7*time.Second, parseRetryAfter("7", now))
	assert.Equal(t, 90*time.Second, parseRetryAfter(now.Add(90*time.Second).Format(http.TimeFormat), now))
	assert.Zero(t, parseRetryAfter(now.Add(-time.Minute).Format(http.TimeFormat), now))
	assert.Zero(t, parseRetryAfter("", now))
	assert.Zero(t, parseRetryAfter("soon", now))
	assert.Zero(t, parseRetryAfter("-3", now))
}

func TestServerErrorThenSuccess(t *testing.T) {
	s := newChatServer(t, status(http.StatusInternalServerError, ""), status(http.StatusBadGateway, ""))
	r := newTestResponder(t, s, fastGuard())
	resp, err := r.Respond(context.Background(), "hi")
	require.NoError(t, err)
	assert.Equal(t, 3, resp.Attempts)
	assert.EqualValues(t, 3, s.requests.Load())
}

func TestRetriesRunOut(t *testing.T) {
	s := newChatServer(t, status(503, ""), status(503, ""), status(503, ""), status(503, ""))
	r := newTestResponder(t, s, fastGuard())
	_, err := r.Respond(context.Background(), "hi")
	var se *StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 503, se.StatusCode)
	assert.ErrorContains(t, err, "after 3 attempts")
	assert.EqualValues(t, 3, s.requests.Load())
}

func TestClientErrorNotRetried(t *testing.T) {
	s := newChatServer(t, status(http.StatusBadRequest, ""))
	r := newTestResponder(t, s, fastGuard())
	_, err := r.Respond(context.Background(), "hi")
	var se *StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 400, se.StatusCode)
	assert.EqualValues(t, 1, s.requests.Load())
}

func TestTimeout(t *testing.T) {
	g := fastGuard()
	g.Timeout = 100 * time.Millisecond
	g.MaxAttempts = 1
	s := newChatServer(t, stall(5*time.Second))
	r := newTestResponder(t, s, g)
	start := time.Now()
	_, err := r.Respond(context.Background(), "hi")
	require.ErrorIs(t, err, ErrTimeout)
	assert.Less(t, time.Since(start), 2*time.Second)

	// A slow first answer is retried.
	g.MaxAttempts = 2
	s = newChatServer(t, stall(5*time.Second))
	r = newTestResponder(t, s, g)
	resp, err := r.Respond(context.Background(), "hi")
	require.NoError(t, err)
	assert.Equal(t, 2, resp.Attempts)
}

func TestMalformedJSON(t *testing.T) {
	s := newChatServer(t, raw(`{"id": "chatcmpl-1", "choices": [`))
	r := newTestResponder(t, s, fastGuard())
	_, err := r.Respond(context.Background(), "hi")
	require.ErrorIs(t, err, ErrMalformedResponse)
	assert.EqualValues(t, 1, s.requests.Load(), "a malformed body is not retried")
}

func TestEmptyChoices(t *testing.T) {
	s := newChatServer(t, raw(`{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"test-model","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":0,"total_tokens":1}}`))
	r := newTestResponder(t, s, fastGuard())
	_, err := r.Respond(context.Background(), "hi")
	require.ErrorIs(t, err, ErrEmpty)

	s = newChatServer(t, finish("   ", "stop"))
	r = newTestResponder(t, s, fastGuard())
	_, err = r.Respond(context.Background(), "hi")
	require.ErrorIs(t, err, ErrEmpty)
}

func TestTruncatedAndRefused(t *testing.T) {
	s := newChatServer(t, finish("The patient was discharged on", "length"))
	r := newTestResponder(t, s, fastGuard())
	resp, err := r.Respond(context.Background(), "hi")
	require.ErrorIs(t, err, ErrTruncated)
	assert.Equal(t, "The patient was discharged on", resp.Text, "the partial answer comes back with the error")
	assert.EqualValues(t, 1, s.requests.Load())

	s = newChatServer(t, finish("", "content_filter"))
	r = newTestResponder(t, s, fastGuard())
	_, err = r.Respond(context.Background(), "hi")
	require.ErrorIs(t, err, ErrRefused)

	s = newChatServer(t, raw(`{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":6,"total_tokens":7}}`))
	r = newTestResponder(t, s, fastGuard())
	_, err = r.Respond(context.Background(), "hi")
	require.ErrorIs(t, err, ErrRefused)
}

func TestContextCancellation(t *testing.T) {
	s := newChatServer(t, stall(10*time.Second))
	r := newTestResponder(t, s, fastGuard())
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := r.Respond(ctx, "hi")
	require.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, ErrTimeout)
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.EqualValues(t, 1, s.requests.Load(), "a cancelled call is not retried")
}

func TestConcurrentCalls(t *testing.T) {
	s := newChatServer(t)
	g := fastGuard()
	g.MaxConcurrent = 32
	r := newTestResponder(t, s, g)
	prompts := make([]string, 32)
	for i := range prompts {
		prompts[i] = fmt.Sprintf("prompt number %d", i)
	}
	out, err := RespondAll(context.Background(), r, prompts, 32)
	require.NoError(t, err)
	require.Len(t, out, 32)
	for i, resp := range out {
		assert.Equal(t, "answer to: "+prompts[i], resp.Text)
	}
	assert.EqualValues(t, 32, s.requests.Load())
}

func TestConcurrencyCap(t *testing.T) {
	slow := make([]step, 16)
	for i := range slow {
		slow[i] = stall(20 * time.Millisecond)
	}
	s := newChatServer(t, slow...)
	g := fastGuard()
	g.MaxConcurrent = 3
	r := newTestResponder(t, s, g)
	prompts := make([]string, 16)
	for i := range prompts {
		prompts[i] = fmt.Sprint("p", i)
	}
	_, err := RespondAll(context.Background(), r, prompts, 16)
	require.NoError(t, err)
	assert.LessOrEqual(t, s.maxIn.Load(), int64(3))
	assert.Greater(t, s.maxIn.Load(), int64(1), "calls did overlap")
}

func TestRespondAllFirstErrorCancels(t *testing.T) {
	s := newChatServer(t, status(http.StatusBadRequest, ""))
	g := fastGuard()
	g.MaxConcurrent = 1
	r := newTestResponder(t, s, g)
	prompts := make([]string, 20)
	for i := range prompts {
		prompts[i] = fmt.Sprint("p", i)
	}
	_, err := RespondAll(context.Background(), r, prompts, 1)
	require.ErrorContains(t, err, "prompt 0")
	assert.EqualValues(t, 1, s.requests.Load())
}

func TestRateLimit(t *testing.T) {
	s := newChatServer(t)
	g := fastGuard()
	g.RequestsPerSecond, g.Burst = 50, 1
	r := newTestResponder(t, s, g)
	start := time.Now()
	_, err := RespondAll(context.Background(), r, []string{"a", "b", "c", "d", "e", "f"}, 6)
	require.NoError(t, err)
	// 6 requests at 50/s with a burst of 1 need at least 5 intervals of 20 ms.
	assert.GreaterOrEqual(t, time.Since(start), 90*time.Millisecond)
}

func TestBudget(t *testing.T) {
	s := newChatServer(t)
	g := fastGuard()
	g.Budget = &Budget{MaxCalls: 3}
	r := newTestResponder(t, s, g)
	for i := range 3 {
		_, err := r.Respond(context.Background(), fmt.Sprint("p", i))
		require.NoError(t, err)
	}
	_, err := r.Respond(context.Background(), "one too many")
	require.ErrorIs(t, err, ErrBudgetExhausted)
	assert.EqualValues(t, 3, s.requests.Load())
	assert.EqualValues(t, 3, g.Budget.Calls())

	// Tokens: each call here costs 1 + 3 = 4 tokens ("pN", "answer to: pN").
	s = newChatServer(t)
	g.Budget = &Budget{MaxTokens: 8}
	r = newTestResponder(t, s, g)
	_, err = r.Respond(context.Background(), "p1")
	require.NoError(t, err)
	_, err = r.Respond(context.Background(), "p2")
	require.NoError(t, err)
	_, err = r.Respond(context.Background(), "p3")
	require.ErrorIs(t, err, ErrBudgetExhausted)
	assert.EqualValues(t, 2, s.requests.Load())
	assert.EqualValues(t, 8, g.Budget.Tokens())
}

func TestLogsHoldNoPromptOrKey(t *testing.T) {
	var buf bytes.Buffer
	s := newChatServer(t, status(500, ""))
	g := fastGuard()
	g.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r := newTestResponder(t, s, g, func(c *Config) {
		c.Getenv = func(string) string { return "sk-secret-key" }
	})
	_, err := r.Respond(context.Background(), "patient Zhang has anemia")
	require.NoError(t, err)
	assert.Contains(t, buf.String(), "status 500", "the retry is logged")
	assert.NotContains(t, buf.String(), "Zhang")
	assert.NotContains(t, buf.String(), "sk-secret")
}

// Without NewHTTPClient the adapter still recognizes the status code in
// the error text of langchaingo's openai client.
func TestFromModelWithPlainClient(t *testing.T) {
	s := newChatServer(t, status(http.StatusServiceUnavailable, ""))
	m, err := openai.New(openai.WithBaseURL(s.baseURL()), openai.WithToken("x"), openai.WithModel("m"),
		openai.WithHTTPClient(&http.Client{Timeout: 5 * time.Second}))
	require.NoError(t, err)
	r := Guard(FromModel(m, WithName("openai", "m")), fastGuard())
	resp, err := r.Respond(context.Background(), "hi")
	require.NoError(t, err)
	assert.Equal(t, 2, resp.Attempts)

	one := FromModel(m)
	s.mu.Lock()
	s.script = []step{status(http.StatusServiceUnavailable, "")}
	s.mu.Unlock()
	_, err = one.Respond(context.Background(), "hi")
	var se *StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 503, se.StatusCode)
	assert.Equal(t, "*openai.LLM", one.Identity().Provider)
}

func TestComplete(t *testing.T) {
	s := newChatServer(t)
	r := newTestResponder(t, s, fastGuard(), func(c *Config) { c.System = "default system" })
	resp, err := r.Complete(context.Background(), "Answer with one label.", "which label?")
	require.NoError(t, err)
	assert.Equal(t, "answer to: which label?", resp.Text)
	req := s.lastRequest(t)
	assert.Equal(t, "Answer with one label.", req.Messages[0].Content)
}

func TestTransportErrorRetried(t *testing.T) {
	s := newChatServer(t)
	url := s.baseURL()
	s.srv.Close() // nothing listens any more
	g := fastGuard()
	r := newTestResponder(t, s, g, func(c *Config) { c.BaseURL = url })
	_, err := r.Respond(context.Background(), "hi")
	var te *TransportError
	require.ErrorAs(t, err, &te)
	assert.ErrorContains(t, err, "after 3 attempts")
	assert.False(t, errors.Is(err, context.Canceled))
}

func TestGoogleAIThroughOpenAICompatibleEndpoint(t *testing.T) {
	s := newChatServer(t, status(http.StatusTooManyRequests, "0"))
	r := newTestResponder(t, s, fastGuard(), func(c *Config) {
		c.Provider = ProviderGoogleAI
		c.Model = "gemini-test"
		c.Getenv = func(k string) string { return map[string]string{"GOOGLE_API_KEY": "g-key"}[k] }
	})
	resp, err := r.Respond(context.Background(), "hi")
	require.NoError(t, err)
	assert.Equal(t, ProviderGoogleAI, resp.Provider)
	assert.Equal(t, 2, resp.Attempts, "the 429 was seen through the observing transport and retried")
	assert.Equal(t, []string{"Bearer g-key", "Bearer g-key"}, s.auth)
	assert.Equal(t, "gemini-test", s.lastRequest(t).Model)
}

func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for _, s := range []string{"", "0", "7", "-1", "99999999999999999999", "Fri, 27 Nov 2026 12:01:00 GMT", "soon"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d := parseRetryAfter(v, now)
		require.GreaterOrEqual(t, d, time.Duration(0))
	})
}
