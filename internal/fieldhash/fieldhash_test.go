package fieldhash

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
)

func digest(order binary.ByteOrder, fields ...string) string {
	h := sha256.New()
	w := New(h, order)
	for _, f := range fields {
		w.String(f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestFieldBoundariesChangeTheHash(t *testing.T) {
	assert.NotEqual(t, digest(binary.LittleEndian, "ab", "c"), digest(binary.LittleEndian, "a", "bc"))
	assert.NotEqual(t, digest(binary.LittleEndian, "", "x"), digest(binary.LittleEndian, "x", ""))
	assert.NotEqual(t, digest(binary.LittleEndian, "x"), digest(binary.BigEndian, "x"))
}

func TestWritesTheDocumentedBytes(t *testing.T) {
	// The bytes written, checked without the hash: 8-byte length, then the
	// string; the byte order is the one asked for.
	for _, tc := range []struct {
		order binary.ByteOrder
		want  string
	}{
		{binary.LittleEndian, "0200000000000000" + hex.EncodeToString([]byte("hi")) + "0100000000000000"},
		{binary.BigEndian, "0000000000000002" + hex.EncodeToString([]byte("hi")) + "0000000000000001"},
	} {
		var rec recorder
		w := New(&rec, tc.order)
		w.String("hi")
		w.Uint64(1)
		assert.Equal(t, tc.want, hex.EncodeToString(rec.b), tc.order.String())
	}
}

// recorder is a hash.Hash that keeps what is written.
type recorder struct{ b []byte }

func (r *recorder) Write(p []byte) (int, error) { r.b = append(r.b, p...); return len(p), nil }
func (r *recorder) Sum(b []byte) []byte         { return append(b, r.b...) }
func (r *recorder) Reset()                      { r.b = nil }
func (r *recorder) Size() int                   { return len(r.b) }
func (r *recorder) BlockSize() int              { return 1 }
