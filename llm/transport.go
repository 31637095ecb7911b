package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// NewHTTPClient returns an http.Client for langchaingo providers (pass it
// with openai.WithHTTPClient, anthropic.WithHTTPClient, ollama.WithHTTPClient)
// whose transport lets FromModel see what the client libraries hide: the
// HTTP status, the Retry-After header, OpenAI "refusal" messages and bodies
// that are not JSON. langchaingo's openai client, for instance, reports a
// 503 only as the text "API returned unexpected status code: 503".
//
// timeout bounds a whole request (0: none); Guard's per-call timeout
// normally fires first. base is the underlying transport (nil:
// http.DefaultTransport).
func NewHTTPClient(timeout time.Duration, base http.RoundTripper) *http.Client {
	if base == nil {
		base = http.DefaultTransport
	}
	return &http.Client{Timeout: timeout, Transport: &observingTransport{base: base}}
}

// maxObservedBody is the largest JSON body the transport buffers to look
// for refusals; larger bodies pass through unread.
const maxObservedBody = 16 << 20

// observation is what the transport saw of the requests made with one
// context; FromModel attaches a fresh one to each call.
type observation struct {
	mu         sync.Mutex
	seen       bool // a response or a transport error was observed
	status     int
	retryAfter time.Duration
	refused    bool
	noChoices  bool // a "choices" array was present and empty
	malformed  bool
	transport  error
}

type observationKey struct{}

func withObservation(ctx context.Context) (context.Context, *observation) {
	o := &observation{}
	return context.WithValue(ctx, observationKey{}, o), o
}

// snapshot returns a copy of the observation's fields.
func (o *observation) snapshot() observation {
	o.mu.Lock()
	defer o.mu.Unlock()
	return observation{seen: o.seen, status: o.status, retryAfter: o.retryAfter,
		refused: o.refused, noChoices: o.noChoices, malformed: o.malformed, transport: o.transport}
}

type observingTransport struct{ base http.RoundTripper }

func (t *observingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	o, _ := req.Context().Value(observationKey{}).(*observation)
	resp, err := t.base.RoundTrip(req)
	if o == nil {
		return resp, err
	}
	if err != nil {
		o.mu.Lock()
		o.seen, o.transport = true, err
		o.mu.Unlock()
		return resp, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seen, o.status, o.transport = true, resp.StatusCode, nil
	o.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	if resp.StatusCode != http.StatusOK || !isJSON(resp.Header.Get("Content-Type")) ||
		resp.ContentLength > maxObservedBody {
		return resp, nil
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxObservedBody+1))
	resp.Body.Close()
	// Hand the client exactly what was read, and the read error if any, so
	// its own error handling is unchanged.
	resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{rerr}))
	if rerr != nil || len(body) > maxObservedBody {
		return resp, nil
	}
	if !json.Valid(body) {
		o.malformed = true
		return resp, nil
	}
	var probe struct {
		Choices *[]struct {
			Message struct {
				Refusal *string `json:"refusal"`
			} `json:"message"`
		} `json:"choices"`
	}
	if json.Unmarshal(body, &probe) == nil && probe.Choices != nil {
		o.noChoices = len(*probe.Choices) == 0
		for _, c := range *probe.Choices {
			if c.Message.Refusal != nil && *c.Message.Refusal != "" {
				o.refused = true
			}
		}
	}
	return resp, nil
}

// errReader returns err (or io.EOF) on every read.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	return 0, io.EOF
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date
// (RFC 9110 §10.2.3). It returns 0 for an absent or unparsable value and
// for a date in the past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
