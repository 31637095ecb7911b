//go:build race

package main

// raceEnabled is true under the race detector, which slows the tight loops
// of model training about tenfold: tests that train shrink their work.
const raceEnabled = true
