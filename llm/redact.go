package llm

import (
	"regexp"
	"strings"
)

// secretPatterns match credentials that a provider's error body may echo
// (a 401 that repeats the Authorization header, a key in a query string),
// whatever key the responder was built with.
var secretPatterns = []*regexp.Regexp{
	regexp.MustCompile(`(?i)\bBearer\s+[A-Za-z0-9._~+/=-]{8,}`),
	regexp.MustCompile(`\b(sk|pk|rk)-[A-Za-z0-9_-]{8,}`),
	regexp.MustCompile(`\bAIza[A-Za-z0-9_-]{20,}`),
	regexp.MustCompile(`(?i)("?(x-api-key|x-goog-api-key|api[_-]?key|authorization|access[_-]?token)"?\s*[:=]\s*"?)[^\s",}&]+`),
}

// Redact returns s with the given secrets and anything that looks like a
// credential replaced by "[REDACTED]". Every error a responder returns
// passes through it, so that no API key reaches a log or a terminal.
func Redact(s string, secrets ...string) string {
	for _, k := range secrets {
		if len(k) >= 4 {
			s = strings.ReplaceAll(s, k, "[REDACTED]")
		}
	}
	for i, re := range secretPatterns {
		if i == len(secretPatterns)-1 {
			s = re.ReplaceAllString(s, "${1}[REDACTED]")
		} else {
			s = re.ReplaceAllString(s, "[REDACTED]")
		}
	}
	return s
}

// redactedError shows its cause's message with secrets redacted; errors.Is
// and errors.As still reach the cause.
type redactedError struct {
	err     error
	secrets []string
}

func (e *redactedError) Error() string { return Redact(e.err.Error(), e.secrets...) }
func (e *redactedError) Unwrap() error { return e.err }

// redactErr wraps err so that its message carries no secret.
func redactErr(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	return &redactedError{err: err, secrets: secrets}
}
