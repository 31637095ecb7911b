package llm_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/pmlm-go/pmlm/llm"
)

// A local OpenAI-compatible server (vLLM, llama.cpp's server) behind
// retries, a timeout and a call budget. The server here answers 503 once.
func ExampleNew() {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Content-Type", "application/json")
		if calls == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"error":{"message":"overloaded"}}`)
			return
		}
		fmt.Fprint(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"qwen2.5-7b-instruct",`+
			`"choices":[{"index":0,"message":{"role":"assistant","content":"Recheck hemoglobin in 4 weeks."},"finish_reason":"stop"}],`+
			`"usage":{"prompt_tokens":12,"completion_tokens":6,"total_tokens":18}}`)
	}))
	defer srv.Close()

	budget := &llm.Budget{MaxCalls: 100}
	r, err := llm.New(context.Background(), llm.Config{
		Provider: llm.ProviderOpenAICompatible,
		Model:    "qwen2.5-7b-instruct",
		BaseURL:  srv.URL + "/v1",
		System:   "You are an obstetrician writing discharge advice.",
		Guard:    llm.GuardConfig{Timeout: 10 * time.Second, BaseBackoff: time.Millisecond, Budget: budget},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := r.Respond(context.Background(), "Predicted label: anemia.")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Text)
	fmt.Printf("attempts %d, tokens %d, calls spent %d\n", resp.Attempts, resp.TotalTokens, budget.Calls())
	// Output:
	// Recheck hemoglobin in 4 weeks.
	// attempts 2, tokens 18, calls spent 2
}
