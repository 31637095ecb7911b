package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/pmlm-go/pmlm/llm"
)

// guardFlags declares --timeout and --attempts, which bound the calls to
// an LLM provider (llm.Guard), and returns the function that gives their
// GuardConfig once the flags are parsed, or an error naming the flag.
func guardFlags(fs *flag.FlagSet) func() (llm.GuardConfig, error) {
	timeout := fs.Duration("timeout", 60*time.Second, "LLM provider: timeout of each request")
	attempts := fs.Int("attempts", 4, "LLM provider: requests per prompt, retries included")
	return func() (llm.GuardConfig, error) {
		if *timeout <= 0 {
			return llm.GuardConfig{}, fmt.Errorf("%w: --timeout %v: must be positive", errUsage, *timeout)
		}
		if *attempts < 1 {
			return llm.GuardConfig{}, fmt.Errorf("%w: --attempts %d: must be at least 1", errUsage, *attempts)
		}
		return llm.GuardConfig{Timeout: *timeout, MaxAttempts: *attempts}, nil
	}
}
