package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// chatRequest is the part of an OpenAI chat-completions request the test
// server reads.
type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	Temperature         *float64 `json:"temperature"`
	Seed                *int     `json:"seed"`
	MaxTokens           *int     `json:"max_tokens"`
	MaxCompletionTokens *int     `json:"max_completion_tokens"`
}

func (r chatRequest) lastUser() string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			return r.Messages[i].Content
		}
	}
	return ""
}

// step answers one request; returning false falls through to the default
// successful answer.
type step func(w http.ResponseWriter, r *http.Request, req chatRequest) bool

// chatServer speaks the OpenAI chat-completions protocol on loopback. By
// default it answers "answer to: PROMPT" with finish_reason "stop" and
// word counts as token usage; a script of steps overrides the first
// requests.
type chatServer struct {
	srv      *httptest.Server
	requests atomic.Int64
	inFlight atomic.Int64
	maxIn    atomic.Int64

	mu     sync.Mutex
	script []step
	bodies []chatRequest
	auth   []string
}

func newChatServer(t *testing.T, script ...step) *chatServer {
	t.Helper()
	s := &chatServer{script: script}
	s.srv = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *chatServer) baseURL() string { return s.srv.URL + "/v1" }

func (s *chatServer) handle(w http.ResponseWriter, r *http.Request) {
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		m := s.maxIn.Load()
		if n <= m || s.maxIn.CompareAndSwap(m, n) {
			break
		}
	}
	s.requests.Add(1)
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		http.Error(w, `{"error":{"message":"not found"}}`, http.StatusNotFound)
		return
	}
	var req chatRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "bad json: "+err.Error())
		return
	}
	s.mu.Lock()
	s.bodies = append(s.bodies, req)
	s.auth = append(s.auth, r.Header.Get("Authorization"))
	var st step
	if len(s.script) > 0 {
		st, s.script = s.script[0], s.script[1:]
	}
	s.mu.Unlock()
	if st != nil && st(w, r, req) {
		return
	}
	writeChat(w, req, "answer to: "+req.lastUser(), "stop")
}

func (s *chatServer) lastRequest(t *testing.T) chatRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	require.NotEmpty(t, s.bodies)
	return s.bodies[len(s.bodies)-1]
}

// writeChat writes a chat.completion object with the real field set.
func writeChat(w http.ResponseWriter, req chatRequest, content, finish string) {
	prompt := 0
	for _, m := range req.Messages {
		prompt += len(strings.Fields(m.Content))
	}
	completion := len(strings.Fields(content))
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"id":      "chatcmpl-test",
		"object":  "chat.completion",
		"created": 1700000000,
		"model":   req.Model,
		"choices": []map[string]any{{
			"index":         0,
			"message":       map[string]any{"role": "assistant", "content": content},
			"finish_reason": finish,
		}},
		"usage": map[string]any{"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
	})
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"error":{"message":%q,"type":"test_error"}}`, msg)
}

// status answers with an error status and an optional Retry-After.
func status(code int, retryAfter string) step {
	return func(w http.ResponseWriter, _ *http.Request, _ chatRequest) bool {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		writeError(w, code, http.StatusText(code))
		return true
	}
}

// raw answers 200 with the given JSON-typed body.
func raw(body string) step {
	return func(w http.ResponseWriter, _ *http.Request, _ chatRequest) bool {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body)
		return true
	}
}

// finish answers content with the given finish reason.
func finish(content, reason string) step {
	return func(w http.ResponseWriter, _ *http.Request, req chatRequest) bool {
		writeChat(w, req, content, reason)
		return true
	}
}

// stall waits for d or until the client goes away, then answers normally.
func stall(d time.Duration) step {
	return func(_ http.ResponseWriter, r *http.Request, _ chatRequest) bool {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return true
		}
		return false
	}
}

// fastGuard is a GuardConfig with test-sized delays.
func fastGuard() GuardConfig {
	return GuardConfig{Timeout: 2 * time.Second, MaxAttempts: 3, BaseBackoff: time.Millisecond,
		MaxBackoff: 5 * time.Millisecond, Seed: 7}
}

// newTestResponder builds the responder the way a user would, through New
// and langchaingo's real openai client, pointed at s.
func newTestResponder(t *testing.T, s *chatServer, g GuardConfig, mod ...func(*Config)) *Guarded {
	t.Helper()
	cfg := Config{Provider: ProviderOpenAICompatible, Model: "test-model", BaseURL: s.baseURL(),
		Getenv: func(string) string { return "" }, Guard: g}
	for _, m := range mod {
		m(&cfg)
	}
	r, err := New(context.Background(), cfg)
	require.NoError(t, err)
	return r
}
