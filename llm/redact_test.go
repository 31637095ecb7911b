package llm

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue 15 item 12: a provider error body that echoes the request's
// Authorization header does not put the API key into the error.
func TestProviderErrorsCarryNoKey(t *testing.T) {
	const key = "sk-test-0123456789abcdefSECRET"
	echo := func(w http.ResponseWriter, r *http.Request, _ chatRequest) bool {
		writeError(w, http.StatusUnauthorized, "invalid credentials: Authorization: "+r.Header.Get("Authorization"))
		return true
	}
	s := newChatServer(t, echo)
	r := newTestResponder(t, s, fastGuard(), func(c *Config) {
		c.Getenv = func(string) string { return key }
	})
	_, err := r.Respond(context.Background(), "hi")
	require.Error(t, err)
	var se *StatusError
	require.ErrorAs(t, err, &se, "the typed error stays reachable")
	assert.Equal(t, 401, se.StatusCode)
	assert.NotContains(t, err.Error(), "0123456789abcdef")
	assert.Contains(t, err.Error(), "[REDACTED]")
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"Authorization: Bearer abcdefgh12345678":         "Authorization: [REDACTED]",
		`{"x-api-key":"k-123456789"}`:                    `{"x-api-key":"[REDACTED]"}`,
		"https://host/v1?key=AIzaSyA1234567890123456789": "https://host/v1?key=[REDACTED]",
		"token sk-proj-abcdefghijk ok":                   "token [REDACTED] ok",
		"no secret here: status 401":                     "no secret here: status 401",
	} {
		assert.Equal(t, want, Redact(in), in)
	}
	assert.Equal(t, "the key is [REDACTED].", Redact("the key is plainsecretvalue.", "plainsecretvalue"))
}
