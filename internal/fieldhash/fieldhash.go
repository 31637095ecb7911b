// Package fieldhash feeds a hash with a sequence of fields, each string
// preceded by its length, so that no two different sequences of fields
// hash the same bytes ("ab","c" and "a","bc" differ).
//
// It is the one encoding behind the project's persisted digests and keys:
// the cohort digest and a model's training digest (little-endian) and the
// answer cache's keys (big-endian). Those values are stored in manifests,
// saved runs and cache files, so the byte order of each user is part of
// its format and must not change; golden tests in each user pin it.
package fieldhash

import (
	"encoding/binary"
	"hash"
)

// Writer writes fields into a hash in a fixed byte order.
type Writer struct {
	h     hash.Hash
	order binary.ByteOrder
	buf   [8]byte
}

// New returns a Writer that writes into h, integers in order.
func New(h hash.Hash, order binary.ByteOrder) *Writer {
	return &Writer{h: h, order: order}
}

// Uint64 writes v as 8 bytes.
func (w *Writer) Uint64(v uint64) {
	w.order.PutUint64(w.buf[:], v)
	w.h.Write(w.buf[:])
}

// String writes the length of s (Uint64), then its bytes.
func (w *Writer) String(s string) {
	w.Uint64(uint64(len(s)))
	w.h.Write([]byte(s))
}
