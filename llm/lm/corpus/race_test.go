//go:build race

package corpus_test

// raceEnabled is true under the race detector, which slows model training
// about tenfold.
const raceEnabled = true
