package lm

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
)

// Digest is the hex SHA-256 of the model's shape, vocabulary and weights.
func (m *Model) Digest() string {
	h := sha256.New()
	c := m.cfg
	for _, v := range []int{c.Vocab, c.Dim, c.Heads, c.Layers, c.Hidden, c.Context, c.MaxPrompt} {
		_ = binary.Write(h, binary.LittleEndian, int64(v))
	}
	for _, p := range m.vocab.pieces {
		_ = binary.Write(h, binary.LittleEndian, uint64(len(p)))
		h.Write([]byte(p))
	}
	buf := make([]byte, 4*len(m.params))
	for i, x := range m.params {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(x))
	}
	h.Write(buf)
	return hex.EncodeToString(h.Sum(nil))
}
