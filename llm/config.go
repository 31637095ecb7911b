package llm

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/anthropic"
	"github.com/tmc/langchaingo/llms/ollama"
	"github.com/tmc/langchaingo/llms/openai"
)

// Providers New accepts.
const (
	ProviderOpenAI           = "openai"
	ProviderAnthropic        = "anthropic"
	ProviderGoogleAI         = "googleai"
	ProviderOllama           = "ollama"
	ProviderOpenAICompatible = "openai-compatible"
)

// GoogleAIOpenAIBaseURL is the OpenAI-compatible endpoint of Google's
// Gemini API, which New uses for ProviderGoogleAI.
const GoogleAIOpenAIBaseURL = "https://generativelanguage.googleapis.com/v1beta/openai"

// Providers lists the providers New accepts.
func Providers() []string {
	return []string{ProviderOpenAI, ProviderAnthropic, ProviderGoogleAI, ProviderOllama, ProviderOpenAICompatible}
}

// Config selects and configures a provider. It holds no secret: API keys
// come from the environment only (see APIKeyEnv).
type Config struct {
	// Provider is one of Providers().
	Provider string
	// Model is the provider's model name (required).
	Model string
	// BaseURL overrides the provider's endpoint; required for
	// "openai-compatible" (e.g. "http://localhost:8000/v1" for vLLM).
	BaseURL string
	// APIKeyEnv names the environment variable holding the API key. The
	// default is OPENAI_API_KEY (openai, openai-compatible),
	// ANTHROPIC_API_KEY (anthropic) or GOOGLE_API_KEY (googleai); Ollama
	// takes none. An OpenAI-compatible server without authentication gets a
	// placeholder token when the variable is empty.
	APIKeyEnv string
	// System is the system prompt sent before every prompt.
	System string
	// Params are the generation parameters; nil means DefaultParams().
	Params *Params
	// Guard configures timeouts, retries and limits.
	Guard GuardConfig
	// Getenv reads the environment (default os.Getenv); tests replace it.
	Getenv func(string) string
	// Transport is the HTTP transport under the observing one (default
	// http.DefaultTransport).
	Transport http.RoundTripper
}

// New builds a guarded responder for cfg: the provider's langchaingo model
// with an observing HTTP client (FromModel) wrapped by Guard(cfg.Guard).
// Wrap the result with Cached for a persistent cache.
func New(ctx context.Context, cfg Config) (*Guarded, error) {
	m, err := NewModel(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return Guard(m, cfg.Guard), nil
}

// NewModel builds the unguarded adapter for cfg.
func NewModel(ctx context.Context, cfg Config) (*ModelResponder, error) {
	if cfg.Model == "" {
		return nil, fmt.Errorf("llm: provider %q: no model name given", cfg.Provider)
	}
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	var secret string
	key := func(def string, required bool) (string, error) {
		name := cfg.APIKeyEnv
		if name == "" {
			name = def
		}
		k := getenv(name)
		secret = k
		if k == "" && required {
			return "", fmt.Errorf("%w: set the environment variable %s", ErrMissingAPIKey, name)
		}
		return k, nil
	}
	// The client's own timeout is a backstop a little past Guard's, so that
	// the per-attempt context, which yields a typed error, fires first.
	timeout := time.Duration(0)
	if t := cfg.Guard.Timeout; t >= 0 {
		if t == 0 {
			t = 60 * time.Second
		}
		timeout = t + time.Second
	}
	client := NewHTTPClient(timeout, cfg.Transport)

	var (
		model llms.Model
		err   error
	)
	switch cfg.Provider {
	case ProviderOpenAI, ProviderOpenAICompatible:
		compatible := cfg.Provider == ProviderOpenAICompatible
		if compatible && cfg.BaseURL == "" {
			return nil, fmt.Errorf("llm: provider %q needs a base URL", cfg.Provider)
		}
		k, kerr := key("OPENAI_API_KEY", !compatible)
		if kerr != nil {
			return nil, kerr
		}
		if k == "" {
			k = "no-key" // langchaingo requires a token; local servers ignore it
		}
		opts := []openai.Option{openai.WithToken(k), openai.WithModel(cfg.Model), openai.WithHTTPClient(client)}
		if cfg.BaseURL != "" {
			opts = append(opts, openai.WithBaseURL(cfg.BaseURL))
		}
		model, err = openai.New(opts...)
	case ProviderAnthropic:
		k, kerr := key("ANTHROPIC_API_KEY", true)
		if kerr != nil {
			return nil, kerr
		}
		opts := []anthropic.Option{anthropic.WithToken(k), anthropic.WithModel(cfg.Model), anthropic.WithHTTPClient(client)}
		if cfg.BaseURL != "" {
			opts = append(opts, anthropic.WithBaseURL(cfg.BaseURL))
		}
		model, err = anthropic.New(opts...)
	case ProviderGoogleAI:
		// Google's Gemini API through its OpenAI-compatible endpoint and
		// langchaingo's openai client: the same observing transport (HTTP
		// status, Retry-After) as the other providers, without the genai
		// and Vertex client libraries that langchaingo's googleai package
		// pulls in.
		k, kerr := key("GOOGLE_API_KEY", true)
		if kerr != nil {
			return nil, kerr
		}
		base := cfg.BaseURL
		if base == "" {
			base = GoogleAIOpenAIBaseURL
		}
		model, err = openai.New(openai.WithToken(k), openai.WithModel(cfg.Model),
			openai.WithHTTPClient(client), openai.WithBaseURL(base))
	case ProviderOllama:
		opts := []ollama.Option{ollama.WithModel(cfg.Model), ollama.WithHTTPClient(client)}
		if cfg.BaseURL != "" {
			opts = append(opts, ollama.WithServerURL(cfg.BaseURL))
		}
		model, err = ollama.New(opts...)
	default:
		return nil, fmt.Errorf("llm: unknown provider %q (want one of %v)", cfg.Provider, Providers())
	}
	if err != nil {
		return nil, fmt.Errorf("llm: %s client: %w", cfg.Provider, redactErr(err, []string{secret}))
	}
	params := DefaultParams()
	if cfg.Params != nil {
		params = *cfg.Params
	}
	return FromModel(model, WithName(cfg.Provider, cfg.Model), WithSystem(cfg.System), WithParams(params), withSecret(secret)), nil
}
