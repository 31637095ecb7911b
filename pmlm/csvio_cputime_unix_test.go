//go:build unix

package pmlm

import (
	"syscall"
	"time"
)

// processCPUTime returns the CPU time (user and system) the test process
// has used. The benchmarks report it because on a shared machine the wall
// time mostly measures the other processes.
func processCPUTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
