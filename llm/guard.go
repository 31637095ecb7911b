package llm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// GuardConfig configures Guard. The zero value of every field picks the
// default given in its comment.
type GuardConfig struct {
	// Timeout bounds each attempt (default 60 s; negative: none).
	Timeout time.Duration
	// MaxAttempts is the number of requests made for one prompt, the first
	// included (default 4; 1 disables retries).
	MaxAttempts int
	// BaseBackoff is the delay before the first retry (default 500 ms); it
	// doubles at each retry up to MaxBackoff (default 30 s). Each delay is
	// drawn uniformly from [d/2, d) ("equal jitter"), and is at least the
	// server's Retry-After.
	BaseBackoff, MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After honoured (default 2 min); a
	// server asking for a longer wait gets its error returned at once.
	MaxRetryAfter time.Duration
	// Seed seeds the jitter (math/rand/v2 PCG); each Guard has its own
	// source.
	Seed uint64
	// MaxConcurrent caps the requests in flight through this Guard
	// (default 8; negative: no cap).
	MaxConcurrent int
	// RequestsPerSecond and Burst set a token-bucket rate limit
	// (golang.org/x/time/rate) on requests, retries included (0: none;
	// Burst defaults to 1).
	RequestsPerSecond float64
	Burst             int
	// Budget, when set, bounds the calls and tokens spent. Several Guards
	// may share one Budget.
	Budget *Budget
	// Logger receives one record per retry and per failed call: provider,
	// model, attempt, status, wait. Never the prompt, the answer or a key.
	// Default: discard.
	Logger *slog.Logger
}

// Guard wraps r with a per-attempt timeout, retries with exponential
// backoff and jitter (on 408, 429 and 5xx statuses, timeouts and transport
// failures, honouring Retry-After), a concurrency cap, a rate limit and a
// budget. Errors that retrying cannot fix (context cancellation, other
// statuses, empty, truncated, refused or malformed answers) are returned at
// once.
func Guard(r Responder, cfg GuardConfig) *Guarded {
	g := &Guarded{next: r, cfg: cfg}
	if g.cfg.Timeout == 0 {
		g.cfg.Timeout = 60 * time.Second
	}
	if g.cfg.MaxAttempts < 1 {
		g.cfg.MaxAttempts = 4
	}
	if g.cfg.BaseBackoff <= 0 {
		g.cfg.BaseBackoff = 500 * time.Millisecond
	}
	if g.cfg.MaxBackoff <= 0 {
		g.cfg.MaxBackoff = 30 * time.Second
	}
	if g.cfg.MaxRetryAfter <= 0 {
		g.cfg.MaxRetryAfter = 2 * time.Minute
	}
	if g.cfg.MaxConcurrent == 0 {
		g.cfg.MaxConcurrent = 8
	}
	if g.cfg.MaxConcurrent > 0 {
		g.sem = make(chan struct{}, g.cfg.MaxConcurrent)
	}
	if g.cfg.RequestsPerSecond > 0 {
		g.limiter = rate.NewLimiter(rate.Limit(g.cfg.RequestsPerSecond), max(g.cfg.Burst, 1))
	}
	if g.cfg.Logger == nil {
		g.cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	g.rng = rand.New(rand.NewPCG(g.cfg.Seed, 0x9e3779b97f4a7c15))
	return g
}

// Guarded is the Responder Guard returns.
type Guarded struct {
	next    Responder
	cfg     GuardConfig
	sem     chan struct{}
	limiter *rate.Limiter
	mu      sync.Mutex // guards rng
	rng     *rand.Rand
}

// Identity implements Identified by forwarding to the wrapped responder.
func (g *Guarded) Identity() Identity { return identityOf(g.next) }

// Respond implements Responder.
func (g *Guarded) Respond(ctx context.Context, prompt string) (Response, error) {
	return g.do(ctx, func(ctx context.Context) (Response, error) { return g.next.Respond(ctx, prompt) })
}

// RespondTo implements PatientResponder: the request, exclusions included,
// goes to the wrapped responder (through its RespondTo where it has one),
// so a Guard never hides a patient's exclusion.
func (g *Guarded) RespondTo(ctx context.Context, req Request) (Response, error) {
	return g.do(ctx, func(ctx context.Context) (Response, error) { return RespondTo(ctx, g.next, req) })
}

var _ PatientResponder = (*Guarded)(nil)

// Complete answers with an explicit system prompt when the wrapped
// responder supports it (ModelResponder does), with the same protection as
// Respond.
func (g *Guarded) Complete(ctx context.Context, system, prompt string) (Response, error) {
	c, ok := g.next.(interface {
		Complete(ctx context.Context, system, prompt string) (Response, error)
	})
	if !ok {
		return Response{}, fmt.Errorf("llm: %T has no Complete method", g.next)
	}
	return g.do(ctx, func(ctx context.Context) (Response, error) { return c.Complete(ctx, system, prompt) })
}

func (g *Guarded) do(ctx context.Context, call func(context.Context) (Response, error)) (Response, error) {
	start := time.Now()
	id := identityOf(g.next)
	log := g.cfg.Logger.With("provider", id.Provider, "model", id.Model)
	for attempt := 1; ; attempt++ {
		resp, err := g.attempt(ctx, call)
		resp.Attempts = attempt
		resp.Latency = time.Since(start)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil || !retryable(err) {
			log.LogAttrs(ctx, slog.LevelWarn, "llm call failed", slog.Int("attempt", attempt), slog.String("class", errorClass(err)))
			return resp, err
		}
		if attempt >= g.cfg.MaxAttempts {
			log.LogAttrs(ctx, slog.LevelWarn, "llm call failed, no attempt left", slog.Int("attempt", attempt), slog.String("class", errorClass(err)))
			return resp, fmt.Errorf("llm: giving up after %d attempts: %w", attempt, err)
		}
		wait := g.backoff(attempt)
		var se *StatusError
		if errors.As(err, &se) && se.RetryAfter > 0 {
			if se.RetryAfter > g.cfg.MaxRetryAfter {
				return resp, fmt.Errorf("llm: server asks to retry after %v, more than the %v allowed: %w", se.RetryAfter, g.cfg.MaxRetryAfter, err)
			}
			wait = max(wait, se.RetryAfter)
		}
		log.LogAttrs(ctx, slog.LevelInfo, "llm call retry", slog.Int("attempt", attempt),
			slog.String("class", errorClass(err)), slog.Duration("wait", wait))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return resp, fmt.Errorf("llm: waiting to retry: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// attempt makes one request under the concurrency cap, the rate limit, the
// budget and the per-attempt timeout.
func (g *Guarded) attempt(ctx context.Context, call func(context.Context) (Response, error)) (Response, error) {
	if g.sem != nil {
		select {
		case g.sem <- struct{}{}:
			defer func() { <-g.sem }()
		case <-ctx.Done():
			return Response{}, fmt.Errorf("llm: waiting for a call slot: %w", ctx.Err())
		}
	}
	if g.limiter != nil {
		if err := g.limiter.Wait(ctx); err != nil {
			return Response{}, fmt.Errorf("llm: rate limit: %w", err)
		}
	}
	if err := g.cfg.Budget.reserve(); err != nil {
		return Response{}, err
	}
	actx := ctx
	if g.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, g.cfg.Timeout)
		defer cancel()
	}
	resp, err := call(actx)
	g.cfg.Budget.spend(resp.TotalTokens)
	if err != nil && ctx.Err() == nil && actx.Err() != nil && !errors.Is(err, ErrTimeout) {
		err = fmt.Errorf("%w after %v: %w", ErrTimeout, g.cfg.Timeout, err)
	}
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	return resp, err
}

// backoff returns the jittered delay before retry number attempt (1-based).
func (g *Guarded) backoff(attempt int) time.Duration {
	d := g.cfg.BaseBackoff
	for i := 1; i < attempt && d < g.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, g.cfg.MaxBackoff)
	g.mu.Lock()
	j := time.Duration(g.rng.Int64N(int64(d/2) + 1))
	g.mu.Unlock()
	return d/2 + j
}

func retryable(err error) bool {
	var se *StatusError
	var te *TransportError
	switch {
	case errors.As(err, &se):
		return se.Retryable()
	case errors.As(err, &te), errors.Is(err, ErrTimeout):
		return true
	}
	return false
}

// errorClass names an error for logs without its text, which may quote
// the server's message.
func errorClass(err error) string {
	var se *StatusError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("status %d", se.StatusCode)
	case errors.Is(err, ErrTimeout):
		return "timeout"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "context"
	case errors.Is(err, ErrBudgetExhausted):
		return "budget"
	case errors.Is(err, ErrEmpty):
		return "empty"
	case errors.Is(err, ErrTruncated):
		return "truncated"
	case errors.Is(err, ErrRefused):
		return "refused"
	case errors.Is(err, ErrMalformedResponse):
		return "malformed"
	}
	var te *TransportError
	if errors.As(err, &te) {
		return "transport"
	}
	return "other"
}

// identityOf returns r's Identity, or one naming its Go type.
func identityOf(r Responder) Identity {
	if id, ok := r.(Identified); ok {
		return id.Identity()
	}
	return Identity{Provider: fmt.Sprintf("%T", r)}
}

// Budget bounds what a run may spend. It is safe for concurrent use; the
// zero value and a nil *Budget allow everything.
type Budget struct {
	// MaxCalls is the most requests (retries included) allowed; 0: no cap.
	MaxCalls int64
	// MaxTokens is the most tokens (as reported) allowed; 0: no cap. Calls
	// already in flight when the cap is reached finish, so the total may
	// exceed it by their tokens.
	MaxTokens int64

	calls, tokens atomic.Int64
}

// Calls returns the requests made so far.
func (b *Budget) Calls() int64 { return b.calls.Load() }

// Tokens returns the tokens spent so far.
func (b *Budget) Tokens() int64 { return b.tokens.Load() }

func (b *Budget) reserve() error {
	if b == nil {
		return nil
	}
	if b.MaxTokens > 0 && b.tokens.Load() >= b.MaxTokens {
		return fmt.Errorf("%w: %d of %d tokens spent", ErrBudgetExhausted, b.tokens.Load(), b.MaxTokens)
	}
	if n := b.calls.Add(1); b.MaxCalls > 0 && n > b.MaxCalls {
		b.calls.Add(-1)
		return fmt.Errorf("%w: %d calls made, the cap", ErrBudgetExhausted, b.MaxCalls)
	}
	return nil
}

func (b *Budget) spend(tokens int) {
	if b != nil && tokens > 0 {
		b.tokens.Add(int64(tokens))
	}
}
