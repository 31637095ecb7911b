// Package fuzzseed seeds the fuzz targets of the project's readers with a
// valid encoding and the damaged copies every reader must refuse cleanly.
package fuzzseed

import (
	"bytes"
	"testing"
)

// AddDamaged adds valid, its first third (a truncated file), a copy with
// one byte flipped in the middle and an empty input to f's seed corpus.
func AddDamaged(f *testing.F, valid []byte) {
	f.Helper()
	f.Add(valid)
	f.Add(valid[:len(valid)/3])
	flipped := bytes.Clone(valid)
	if len(flipped) > 0 {
		flipped[len(flipped)/2] ^= 0xff
	}
	f.Add(flipped)
	f.Add([]byte{})
}
