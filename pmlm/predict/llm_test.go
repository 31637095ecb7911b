package predict

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms/openai"
)

var testClasses = []string{"normal", "gestational diabetes", "acute fetal distress (heart type)", "acute fetal distress (amniotic fluid type)"}

func TestParseLabel(t *testing.T) {
	cases := []struct {
		answer string
		want   int
	}{
		{"normal", 0},
		{"  Gestational Diabetes. ", 1},
		{"Answer: gestational diabetes", 1},
		{`"normal"`, 0},
		{"2", 1},
		{"(3)", 2},
		{"Option 4", 3},
		{"I would choose option 2 here.", 1},
		{"The patient most likely has gestational diabetes given the glucose values.", 1},
		{"Acute fetal distress (heart type)", 2},
		{"This looks like acute fetal distress (amniotic fluid type).", 3},
		{"The label is: NORMAL", 0},
		// Unknown: no option, several options, numbers out of range.
		{"I cannot tell.", -1},
		{"Either normal or gestational diabetes.", -1},
		{"7", -1},
		{"abnormal findings", -1},
		{"acute fetal distress", -1},
		{"", -1},
	}
	for _, c := range cases {
		got, err := ParseLabel(c.answer, testClasses)
		if c.want < 0 {
			assert.ErrorIs(t, err, ErrUnknownLabel, "answer %q", c.answer)
			continue
		}
		require.NoError(t, err, "answer %q", c.answer)
		assert.Equal(t, c.want, got, "answer %q", c.answer)
	}
}

// chatServer speaks the OpenAI chat-completions protocol: it answers each
// prompt with answer(prompt) and counts requests.
func chatServer(t *testing.T, answer func(prompt string) string) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" || r.Method != http.MethodPost {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		if r.Header.Get("Authorization") != "Bearer test" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		var req struct {
			Model    string `json:"model"`
			Messages []struct {
				Role    string `json:"role"`
				Content any    `json:"content"`
			} `json:"messages"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) == 0 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		n.Add(1)
		prompt := ""
		switch c := req.Messages[len(req.Messages)-1].Content.(type) {
		case string:
			prompt = c
		case []any: // content parts
			for _, p := range c {
				if m, ok := p.(map[string]any); ok {
					if s, ok := m["text"].(string); ok {
						prompt += s
					}
				}
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": req.Model,
			"choices": []any{map[string]any{
				"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": answer(prompt)},
			}},
			"usage": map[string]any{"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13},
		})
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestLLMClassifierOverOpenAIProtocol(t *testing.T) {
	var prompts []string
	srv, calls := chatServer(t, func(prompt string) string {
		prompts = append(prompts, prompt)
		switch {
		case strings.Contains(prompt, "GLU 9.1"):
			return "Based on the glucose values, the answer is gestational diabetes."
		case strings.Contains(prompt, "GLU 4.2"):
			return "1"
		}
		return "I am not sure."
	})
	model, err := openai.New(openai.WithBaseURL(srv.URL+"/v1"), openai.WithToken("test"), openai.WithModel("predictor"))
	require.NoError(t, err)
	c := &LLMClassifier{
		Model:    model,
		Channels: []Channel{{"ALB", "g/L"}, {"GLU", "mmol/L"}, {"pH", ""}},
		Classes:  testClasses,
	}
	ctx := context.Background()
	require.NoError(t, c.Fit(ctx, [][][]float64{{{1, 2, 3}}, {{1, 2, 3}}}, []int{0, 1}, 4))
	assert.Error(t, c.Fit(ctx, [][][]float64{{{1, 2}}, {{1, 2}}}, []int{0, 1}, 4))
	assert.Error(t, c.Fit(ctx, [][][]float64{{{1, 2, 3}}, {{1, 2, 3}}}, []int{0, 1}, 2))

	nan := math.NaN()
	p, answer, err := c.PredictDated(ctx, [][]float64{{41.2, 5.0, 6.5}, {nan, 9.1, nan}}, []string{"2021-03-14", "2021-04-02"})
	require.NoError(t, err)
	assert.Equal(t, 1, p.Label)
	assert.Equal(t, []float64{0, 1, 0, 0}, p.Probs)
	assert.Contains(t, answer, "gestational diabetes")
	require.Len(t, prompts, 1)
	assert.Contains(t, prompts[0], "Here is the health check data of a pregnant patient")
	assert.Contains(t, prompts[0], "Visit 1 (2021-03-14): ALB 41.2 g/L, GLU 5 mmol/L, pH 6.5\n")
	assert.Contains(t, prompts[0], "Visit 2 (2021-04-02): GLU 9.1 mmol/L\n")
	assert.Contains(t, prompts[0], "Options: 1. normal; 2. gestational diabetes;")

	p, err = c.Predict(ctx, [][]float64{{nan, 4.2, nan}, {nan, nan, nan}})
	require.NoError(t, err)
	assert.Equal(t, 0, p.Label)
	assert.Contains(t, prompts[1], "Visit 2: no measurements")

	p, err = c.Predict(ctx, [][]float64{{40, 6, 7}})
	require.NoError(t, err, "an unparseable answer is an unknown label, not an error")
	assert.Equal(t, -1, p.Label)
	assert.Nil(t, p.Probs)
	assert.Equal(t, int32(3), calls.Load())

	// Bad input never reaches the server.
	_, err = c.Predict(ctx, [][]float64{{1, 2}})
	assert.Error(t, err)
	_, err = c.Predict(ctx, nil)
	assert.Error(t, err)
	assert.Equal(t, int32(3), calls.Load())
}

func TestLLMClassifierServerError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":{"message":"overloaded"}}`, http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	model, err := openai.New(openai.WithBaseURL(srv.URL+"/v1"), openai.WithToken("test"))
	require.NoError(t, err)
	c := &LLMClassifier{Model: model, Channels: []Channel{{"ALB", "g/L"}}, Classes: testClasses}
	_, err = c.Predict(context.Background(), [][]float64{{40}})
	assert.ErrorContains(t, err, "503")
}

func FuzzParseLabel(f *testing.F) {
	for _, s := range []string{"normal", "Option 2", "(3)", "acute fetal distress (heart type) or normal", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, answer string) {
		got, err := ParseLabel(answer, testClasses)
		if err == nil && (got < 0 || got >= len(testClasses)) {
			t.Fatalf("label %d out of range for %q", got, answer)
		}
		if err != nil && got != -1 {
			t.Fatalf("error with label %d", got)
		}
	})
}
