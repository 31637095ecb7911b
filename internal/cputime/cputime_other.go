//go:build !unix

package cputime

import "time"

// Process returns the user and system time of the whole process, and
// false where the platform cannot tell (here: always).
func Process() (time.Duration, bool) { return 0, false }
