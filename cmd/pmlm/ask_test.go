package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// openAIServer answers chat completions with "echo: PROMPT" and counts
// the requests.
func openAIServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if r.URL.Path != "/v1/chat/completions" {
			http.NotFound(w, r)
			return
		}
		var req struct {
			Model    string `json:"model"`
			Messages []struct{ Role, Content string }
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":%q,`+
			`"choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}],`+
			`"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}`,
			req.Model, "echo: "+req.Messages[len(req.Messages)-1].Content)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func runAsk(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"ask"}, args...), &env{stdout: &out, stderr: &errOut})
	return code, out.String(), errOut.String()
}

func TestAskOpenAICompatible(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	srv, n := openAIServer(t)
	code, out, errOut := runAsk(t, "--llm", "openai-compatible", "--model", "local-model",
		"--base-url", srv.URL+"/v1", "what is next?")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "echo: what is next?\n", out)
	assert.EqualValues(t, 1, n.Load())
}

func TestAskJSONAndCache(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	srv, n := openAIServer(t)
	cache := filepath.Join(t.TempDir(), "cache.db")
	args := []string{"--llm", "openai-compatible", "--model", "local-model", "--base-url", srv.URL + "/v1",
		"--cache", cache, "--json", "hello"}
	var got [2]map[string]any
	for i := range got {
		code, out, errOut := runAsk(t, args...)
		require.Equal(t, 0, code, errOut)
		require.NoError(t, json.Unmarshal([]byte(out), &got[i]), out)
	}
	assert.EqualValues(t, 1, n.Load(), "the second run is answered from the cache file")
	assert.Equal(t, "echo: hello", got[0]["text"])
	assert.Equal(t, "local-model", got[0]["model"])
	assert.Equal(t, "openai-compatible", got[0]["provider"])
	assert.EqualValues(t, 8, got[0]["total_tokens"])
	assert.Equal(t, false, got[0]["cached"])
	assert.Equal(t, true, got[1]["cached"])
	assert.Equal(t, got[0]["text"], got[1]["text"])
	assert.Equal(t, map[string]any{"Hits": 1.0, "Misses": 0.0, "Entries": 1.0}, got[1]["cache"])
}

func TestAskCase(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "cases.jsonl",
		`{"id":"p1","prompt":"Predicted label: anemia. Similar patients: anemia.","reply":"Oral iron; recheck hemoglobin."}`+"\n"+
			`{"id":"p2","prompt":"Predicted label: preeclampsia. Similar patients: preeclampsia.","reply":"Monitor blood pressure."}`+"\n")
	for _, emb := range []string{"lexical", "wordvec"} {
		code, out, errOut := runAsk(t, "--llm", "case", "--data", dir, "--embedder", emb,
			"Predicted label: preeclampsia. Similar patients: preeclampsia, anemia.")
		require.Equal(t, 0, code, errOut)
		assert.Equal(t, "Monitor blood pressure.\n", out, emb)
	}
}

func TestAskErrors(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.jsonl", `{"id":"p1","prompt":"x"}`+"\n")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{}, 2, "usage: pmlm ask"},
		{[]string{"hi"}, 1, "--llm is required"},
		{[]string{"--llm", "openai", "hi"}, 1, "--model is required"},
		{[]string{"--llm", "openai", "--model", "m", "hi"}, 1, "OPENAI_API_KEY"},
		{[]string{"--llm", "nope", "--model", "m", "hi"}, 1, "unknown provider"},
		{[]string{"--llm", "case", "hi"}, 1, "needs --data"},
		{[]string{"--llm", "case", "--data", dir, "--k", "0", "hi"}, 2, "--k 0: must be at least 1"}, // checked before any work (issue 15 item 7)
		{[]string{"--llm", "case", "--data", bad, "hi"}, 1, `bad.jsonl:1: missing field "reply"`},
		{[]string{"--llm", "case", "--data", filepath.Join(dir, "missing.jsonl"), "hi"}, 1, "missing.jsonl: no such file"},
		{[]string{"--llm", "openai-compatible", "--model", "m", "--base-url", "http://127.0.0.1:1/v1", "--attempts", "1", "hi"}, 1, "transport"},
	} {
		code, _, errOut := runAsk(t, tc.args...)
		assert.Equal(t, tc.code, code, tc.args)
		assert.Contains(t, errOut, tc.want, tc.args)
	}
}
