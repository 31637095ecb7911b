// Package cputime reads the CPU time the process has used. Benchmarks
// report it beside wall time: on a shared machine the wall time mostly
// measures the other processes, the CPU time far less so.
package cputime
