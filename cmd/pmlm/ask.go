package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pmlm-go/pmlm/encoder"
	"github.com/pmlm-go/pmlm/encoder/wordvec"
	"github.com/pmlm-go/pmlm/llm"
	"github.com/pmlm-go/pmlm/llm/lm"
)

// askCommand sends one prompt to a responder and prints the answer.
func askCommand() command {
	return command{
		name:  "ask",
		usage: "ask PROMPT --llm PROVIDER|case|lm [--model M] [--data CASES] [--json]",
		summary: "send one prompt to a responder LLM and print its answer\n\n" +
			"PROVIDER is openai, anthropic, googleai, ollama or openai-compatible (with --base-url).\n" +
			"API keys come from the environment only: OPENAI_API_KEY, ANTHROPIC_API_KEY, GOOGLE_API_KEY\n" +
			"(or the variable named by --api-key-env). Generation is deterministic by default\n" +
			"(temperature 0, seed 1). With --llm case the offline case responder, a stand-in for an\n" +
			"LLM, answers with the doctor reply of the nearest training prompt; --data is a JSON Lines\n" +
			"file of {\"id\", \"prompt\", \"reply\"} objects (or a directory holding cases.jsonl).\n" +
			"With --llm lm the offline generative responder answers: --model is a directory written by\n" +
			"'pmlm lm train' (greedy decoding; --beam N for beam search, --max-tokens caps the answer).",
		flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			provider := fs.String("llm", "", "responder: "+strings.Join(llm.Providers(), ", ")+", case or lm (required)")
			model := fs.String("model", "", "model name (required for LLM providers)")
			baseURL := fs.String("base-url", "", "endpoint (required for openai-compatible, e.g. http://localhost:8000/v1)")
			keyEnv := fs.String("api-key-env", "", "name of the environment variable holding the API key (default per provider)")
			system := fs.String("system", "", "system prompt")
			temperature := fs.Float64("temperature", 0, "sampling temperature")
			seed := fs.Int("seed", llm.DefaultSeed, "generation seed where the provider supports it (0: none)")
			maxTokens := fs.Int("max-tokens", 0, "answer length cap in tokens (0: the server's)")
			legacy := fs.Bool("legacy-max-tokens", false, "send the cap as max_tokens (older OpenAI-compatible servers)")
			guard := guardFlags(fs)
			cachePath := fs.String("cache", "", "persistent response cache file (bbolt)")
			asJSON := fs.Bool("json", false, "print the answer with model, token counts and cache status as JSON")
			data := fs.String("data", "", "case responder: JSON Lines file of training cases, or a directory holding cases.jsonl")
			k := fs.Int("k", 1, "case responder: number of nearest cases that vote")
			beam := fs.Int("beam", 1, "lm responder: beam width (1: greedy)")
			embedder := fs.String("embedder", "wordvec", "case responder: wordvec (embedded GloVe vectors) or lexical (TF-IDF over words)")
			return func(ctx context.Context, e *env, args []string) error {
				if err := wantArgs(args, 1); err != nil {
					return err
				}
				if strings.TrimSpace(args[0]) == "" {
					return fmt.Errorf("the prompt is empty")
				}
				// Missing or bad flags are reported by name (exit status 1);
				// a wrong argument count prints the usage (status 2).
				var (
					r   llm.Responder
					err error
				)
				switch *provider {
				case "":
					return fmt.Errorf("--llm is required")
				case "case":
					if *data == "" {
						return fmt.Errorf("--llm case needs --data")
					}
					r, err = caseResponder(ctx, *data, *k, *embedder)
				case "lm":
					if *model == "" {
						return fmt.Errorf("--llm lm needs --model DIR (a directory written by 'pmlm lm train')")
					}
					if *beam < 1 || *maxTokens < 0 {
						return fmt.Errorf("--beam %d and --max-tokens %d: want a beam of at least 1 and a cap of 0 or more", *beam, *maxTokens)
					}
					r, err = lmResponder(*model, lm.GenerateOptions{Beam: *beam, MaxTokens: *maxTokens})
				default:
					if *model == "" {
						return fmt.Errorf("--model is required for --llm %s", *provider)
					}
					g, gerr := guard()
					if gerr != nil {
						return gerr
					}
					params := llm.Params{Temperature: *temperature, Seed: *seed, MaxTokens: *maxTokens, LegacyMaxTokens: *legacy}
					r, err = llm.New(ctx, llm.Config{
						Provider: *provider, Model: *model, BaseURL: *baseURL, APIKeyEnv: *keyEnv,
						System: *system, Params: &params, Guard: g,
					})
				}
				if err != nil {
					return err
				}
				var store *llm.Cache
				if *cachePath != "" {
					if store, err = llm.OpenCache(*cachePath, nil); err != nil {
						return err
					}
					defer store.Close()
					r = llm.Cached(r, store)
				}
				resp, err := r.Respond(ctx, args[0])
				if err != nil && !(errors.Is(err, llm.ErrTruncated) && resp.Text != "") {
					return err
				}
				if *asJSON {
					out := askOutput{Response: resp, LatencyMS: float64(resp.Latency.Microseconds()) / 1000}
					if err != nil {
						out.Error = err.Error()
					}
					if store != nil {
						st, serr := store.Stats()
						if serr != nil {
							return serr
						}
						out.Cache = &st
					}
					enc := json.NewEncoder(e.stdout)
					enc.SetIndent("", "  ")
					if jerr := enc.Encode(out); jerr != nil {
						return jerr
					}
				} else {
					fmt.Fprintln(e.stdout, resp.Text)
				}
				return err // ErrTruncated after printing the partial answer
			}
		},
	}
}

// askOutput is the --json output of ask.
type askOutput struct {
	llm.Response
	LatencyMS float64         `json:"latency_ms"`
	Cache     *llm.CacheStats `json:"cache,omitempty"`
	Error     string          `json:"error,omitempty"`
}

// caseResponder builds the offline responder from a file of cases.
func caseResponder(ctx context.Context, data string, k int, embedder string) (llm.Responder, error) {
	if k < 1 {
		return nil, fmt.Errorf("--k must be positive, got %d", k)
	}
	if fi, err := os.Stat(data); err == nil && fi.IsDir() {
		data = filepath.Join(data, "cases.jsonl")
	}
	f, err := os.Open(data)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cases, err := llm.ReadCases(f, data)
	if err != nil {
		return nil, err
	}
	var enc encoder.TextEncoder
	switch embedder {
	case "wordvec":
		wv, err := wordvec.Default()
		if err != nil {
			return nil, fmt.Errorf("embedded word vectors: %w", err)
		}
		enc = wv
	case "lexical":
	default:
		return nil, fmt.Errorf("--embedder must be wordvec or lexical, got %q", embedder)
	}
	return llm.NewCaseResponder(ctx, cases, llm.CaseOptions{Encoder: enc, K: k})
}

// lmResponder loads a model directory written by 'pmlm lm train'.
func lmResponder(dir string, opt lm.GenerateOptions) (llm.Responder, error) {
	m, _, err := lm.Load(dir)
	if err != nil {
		return nil, err
	}
	return llm.NewGenerative(m, opt)
}
