package reward

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/pmlm-go/pmlm/encoder"
	"github.com/pmlm-go/pmlm/internal/cuda"
)

// Score is a BERTScore precision, recall and F1.
type Score struct {
	P float64 `json:"P"`
	R float64 `json:"R"`
	F float64 `json:"F"`
}

// BERTScoreOptions configures a BERTScorer.
type BERTScoreOptions struct {
	// IDF weights tokens by inverse document frequency,
	// idf(t) = log((M+1)/(df(t)+1)) over M reference documents, as
	// bert_score's idf=True does. Special tokens weigh 0 either way; without
	// IDF every other token weighs 1.
	IDF bool
	// IDFDocs, when non-empty, are the documents the idf weights are computed
	// over, once, instead of the references of each Score call. Set it for
	// the RL loop, whose calls carry one reference each: idf over a single
	// document gives every one of its tokens weight 0.
	IDFDocs []string
	// Baseline, when non-nil, rescales every score to (x−b)/(1−b), as
	// bert_score's rescale_with_baseline does. Load it with LoadBaseline for
	// the embedder's model and layer.
	Baseline *Baseline
	// Batched computes the similarity matrices of a Score call as one
	// batched float32 product through internal/cuda: on the GPU when the
	// binary is built with the "cuda" tag and a device is present, else on
	// the CPU kernels. Results then agree with the exact float64 path within
	// about 1e-6 rather than bit for bit. Call Close when done with the
	// scorer to release the device.
	Batched bool
	// CachedReferences is the number of references whose token vectors the
	// scorer keeps, dropping the least recently used beyond it; 0 means
	// DefaultCachedReferences.
	CachedReferences int
	// CachedBytes bounds the same cache by the size of its vectors
	// (Dim×8 bytes per token), dropping the least recently used beyond it;
	// 0 means DefaultCachedBytes. Contextual encoders make references
	// large: a 350-piece reply over 512-d states holds 1.4 MB.
	CachedBytes int64
}

// DefaultCachedReferences and DefaultCachedBytes bound the reference cache
// unless BERTScoreOptions says otherwise. 4,096 is more than the paper's
// 1,694 training replies, so that training never encodes a reference
// twice; with the 100-d word vectors they take about 0.6 GB. The byte
// bound matters for contextual encoders: with the 512-d USE states the
// count bound alone let each scorer grow to about 3.5 GB on the default
// cohort (measured: 9.7 GB resident for the two scorers of `pmlm
// experiment --text use --jobs 2`), while 2 GiB still holds about 1,500
// of its replies.
const (
	DefaultCachedReferences       = 4096
	DefaultCachedBytes      int64 = 2 << 30
)

// BERTScores is the result of BERTScorer.Score.
type BERTScores struct {
	// Embedder is the TextEncoder's Name: model and layer.
	Embedder string `json:"embedder"`
	// IDF and Rescaled record the options the scores were computed with.
	IDF      bool `json:"idf"`
	Rescaled bool `json:"rescaled"`
	// Pairs holds one score per candidate.
	Pairs []Score `json:"pairs"`
	// Mean is the mean of Pairs, component by component.
	Mean Score `json:"mean"`
	// Warnings report empty candidates or references (scored 0, as
	// bert_score does) and weights that sum to zero.
	Warnings []string `json:"warnings,omitempty"`
}

// BERTScorer computes BERTScore as the reference bert_score package does,
// over the token vectors of any encoder.TextEncoder: vectors are
// L2-normalized; each candidate token is matched to its most similar
// reference token (precision) and each reference token to its most similar
// candidate token (recall); the similarities are averaged with weights
// (0 for special tokens such as [CLS] and [SEP], which still take part in
// the matching as in bert_score; 1 or idf for the others); F is their
// harmonic mean. With several references per candidate, P, R and F are each
// the maximum over the references. The embeddings of references are cached,
// keyed by text, since training scores against the same references many
// times; the cache holds BERTScoreOptions.CachedReferences of them.
//
// A BERTScorer is safe for concurrent use if its TextEncoder is.
type BERTScorer struct {
	enc  encoder.TextEncoder
	opts BERTScoreOptions

	refCache *lru.Cache[string, *tokenVectors] // safe for concurrent use
	// cachedBytes is the size of the vectors in refCache.
	cachedBytes atomic.Int64

	mu     sync.Mutex
	docIDF map[tokenKey]float64 // idf over opts.IDFDocs, once computed
	mul    cuda.Multiplier      // for opts.Batched, created on first use
}

// NewBERTScorer returns a scorer over enc.
func NewBERTScorer(enc encoder.TextEncoder, opts BERTScoreOptions) *BERTScorer {
	opts.IDFDocs = append([]string(nil), opts.IDFDocs...)
	if opts.Baseline != nil {
		b := *opts.Baseline
		opts.Baseline = &b
	}
	if opts.CachedReferences <= 0 {
		opts.CachedReferences = DefaultCachedReferences
	}
	if opts.CachedBytes <= 0 {
		opts.CachedBytes = DefaultCachedBytes
	}
	s := &BERTScorer{enc: enc, opts: opts}
	cache, err := lru.NewWithEvict(opts.CachedReferences, func(_ string, tv *tokenVectors) {
		s.cachedBytes.Add(-tv.bytes())
	})
	if err != nil {
		panic(err) // unreachable: the size is positive
	}
	s.refCache = cache
	return s
}

// Embedder returns the name of the TextEncoder the scores come from.
func (s *BERTScorer) Embedder() string { return s.enc.Name() }

// Accelerator says where the batched similarity products run, e.g.
// "cpu (2 goroutines, avx2 kernel)" or "cuda: NVIDIA H100 …"; it is empty
// unless the scorer was made with Batched.
func (s *BERTScorer) Accelerator() string {
	if !s.opts.Batched {
		return ""
	}
	return s.multiplier().Name()
}

// Close releases the batched multiplier's device, if one was created; a
// later batched Score creates a new one. Close must not run concurrently
// with Score. Scorers without Batched need no Close.
func (s *BERTScorer) Close() error {
	s.mu.Lock()
	m := s.mul
	s.mul = nil
	s.mu.Unlock()
	if m == nil {
		return nil
	}
	return m.Close()
}

// multiplier returns the scorer's Multiplier, creating it on first use: the
// GPU where cuda.New finds one, else the CPU kernels.
func (s *BERTScorer) multiplier() cuda.Multiplier {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mul == nil {
		m, err := cuda.New()
		if err != nil {
			// Without a device (cuda.ErrNoDevice) the CPU twin computes
			// the same products.
			m = cuda.NewCPU(0)
		}
		s.mul = m
	}
	return s.mul
}

// tokenKey identifies a token for idf: its vocabulary id, or, for the
// out-of-vocabulary tokens of static embedders (id < 0), its text, so that
// different unknown words do not share a document frequency.
type tokenKey struct {
	id  int
	tok string
}

// tokenVectors is an encoded text, normalized for cosine similarity.
type tokenVectors struct {
	unit    [][]float64 // unit-length vectors (zero vectors stay zero)
	keys    []tokenKey
	special []bool
	content int // number of non-special tokens
}

// bytes is the size of the vectors, what the reference cache counts.
func (tv *tokenVectors) bytes() int64 {
	var n int64
	for _, u := range tv.unit {
		n += int64(len(u)) * 8
	}
	return n
}

func (s *BERTScorer) encode(ctx context.Context, text string) (*tokenVectors, error) {
	e, err := s.enc.Encode(ctx, text)
	if err != nil {
		return nil, fmt.Errorf("bertscore: %s: %w", s.enc.Name(), err)
	}
	n := len(e.Tokens)
	if len(e.Vectors) != n || len(e.IDs) != n || len(e.Special) != n {
		return nil, fmt.Errorf("bertscore: %s returned %d tokens, %d vectors, %d ids, %d special flags",
			s.enc.Name(), n, len(e.Vectors), len(e.IDs), len(e.Special))
	}
	tv := &tokenVectors{unit: make([][]float64, n), keys: make([]tokenKey, n), special: e.Special}
	dim := s.enc.Dim()
	for i, v := range e.Vectors {
		if len(v) != dim {
			return nil, fmt.Errorf("bertscore: %s: vector %d has length %d, want %d", s.enc.Name(), i, len(v), dim)
		}
		u := make([]float64, dim)
		var n2 float64
		for j, x := range v {
			u[j] = float64(x)
			n2 += u[j] * u[j]
		}
		if n2 > 0 {
			inv := 1 / math.Sqrt(n2)
			for j := range u {
				u[j] *= inv
			}
		}
		tv.unit[i] = u
		tv.keys[i] = tokenKey{id: e.IDs[i]}
		if e.IDs[i] < 0 {
			tv.keys[i].tok = e.Tokens[i]
		}
		if !e.Special[i] {
			tv.content++
		}
	}
	return tv, nil
}

// reference returns the cached encoding of a reference text.
func (s *BERTScorer) reference(ctx context.Context, text string) (*tokenVectors, error) {
	if tv, ok := s.refCache.Get(text); ok {
		return tv, nil
	}
	tv, err := s.encode(ctx, text)
	if err != nil {
		return nil, err
	}
	if found, _ := s.refCache.ContainsOrAdd(text, tv); found {
		return tv, nil // another goroutine cached it meanwhile
	}
	s.cachedBytes.Add(tv.bytes())
	for s.cachedBytes.Load() > s.opts.CachedBytes && s.refCache.Len() > 1 {
		s.refCache.RemoveOldest()
	}
	return tv, nil
}

// idfOver computes bert_score's get_idf_dict over docs.
func idfOver(docs []*tokenVectors) map[tokenKey]float64 {
	df := map[tokenKey]int{}
	for _, d := range docs {
		seen := map[tokenKey]bool{}
		for _, k := range d.keys {
			if !seen[k] {
				seen[k] = true
				df[k]++
			}
		}
	}
	m := float64(len(docs))
	idf := make(map[tokenKey]float64, len(df))
	for k, c := range df {
		idf[k] = math.Log((m + 1) / float64(c+1))
	}
	return idf
}

// weights returns the token weights of tv: 0 for special tokens, else 1
// or idf (unseen tokens: log(M+1)).
func weights(tv *tokenVectors, idf map[tokenKey]float64, unseen float64) []float64 {
	w := make([]float64, len(tv.keys))
	for i, k := range tv.keys {
		switch {
		case tv.special[i]:
		case idf == nil:
			w[i] = 1
		default:
			v, ok := idf[k]
			if !ok {
				v = unseen
			}
			w[i] = v
		}
	}
	return w
}

// Score scores each candidate against its references: refs[i] holds the
// references of cands[i] (bert_score's layout for several references, not
// sacrebleu's streams). An empty candidate or reference (no token other than
// special ones) scores 0 with a warning, as in bert_score; with a baseline
// that 0 is rescaled too.
func (s *BERTScorer) Score(ctx context.Context, cands []string, refs [][]string) (*BERTScores, error) {
	if len(cands) != len(refs) {
		return nil, fmt.Errorf("bertscore: %d candidates but %d reference lists", len(cands), len(refs))
	}
	out := &BERTScores{Embedder: s.enc.Name(), IDF: s.opts.IDF, Rescaled: s.opts.Baseline != nil, Pairs: make([]Score, len(cands))}
	refVecs := make([][]*tokenVectors, len(refs))
	var allRefs []*tokenVectors
	for i, group := range refs {
		if len(group) == 0 {
			return nil, fmt.Errorf("bertscore: candidate %d has no reference", i)
		}
		for _, r := range group {
			tv, err := s.reference(ctx, r)
			if err != nil {
				return nil, fmt.Errorf("candidate %d: reference: %w", i, err)
			}
			refVecs[i] = append(refVecs[i], tv)
			allRefs = append(allRefs, tv)
		}
	}
	var idf map[tokenKey]float64
	unseen := 0.0
	if s.opts.IDF {
		var err error
		idf, unseen, err = s.idf(ctx, allRefs)
		if err != nil {
			return nil, err
		}
	}
	cvs := make([]*tokenVectors, len(cands))
	for i, c := range cands {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		cv, err := s.encode(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("candidate %d: %w", i, err)
		}
		cvs[i] = cv
	}
	var pairs []pairMatch
	for i, cv := range cvs {
		for _, rv := range refVecs[i] {
			pairs = append(pairs, pairMatch{c: cv, r: rv})
		}
	}
	if s.opts.Batched {
		if err := batchedBest(s.multiplier(), pairs); err != nil {
			return nil, fmt.Errorf("bertscore: batched similarities: %w", err)
		}
	} else {
		for i, p := range pairs {
			if p.c.content > 0 && p.r.content > 0 {
				pairs[i].bestC, pairs[i].bestR = exactBest(p.c, p.r)
			}
		}
	}
	next := 0
	for i, cv := range cvs {
		best := Score{P: math.Inf(-1), R: math.Inf(-1), F: math.Inf(-1)}
		for k, rv := range refVecs[i] {
			pm := pairs[next]
			next++
			sc, warn := weightedMatch(cv, rv, pm.bestC, pm.bestR, weights(cv, idf, unseen), weights(rv, idf, unseen))
			if warn != "" {
				out.Warnings = append(out.Warnings, fmt.Sprintf("candidate %d, reference %d: %s", i, k, warn))
			}
			best.P, best.R, best.F = max(best.P, sc.P), max(best.R, sc.R), max(best.F, sc.F)
		}
		if b := s.opts.Baseline; b != nil {
			best.P = (best.P - b.P) / (1 - b.P)
			best.R = (best.R - b.R) / (1 - b.R)
			best.F = (best.F - b.F) / (1 - b.F)
		}
		out.Pairs[i] = best
	}
	for _, p := range out.Pairs {
		n := float64(len(out.Pairs))
		out.Mean.P += p.P / n
		out.Mean.R += p.R / n
		out.Mean.F += p.F / n
	}
	return out, nil
}

// idf returns the idf table and the weight of unseen tokens: over
// opts.IDFDocs (computed once) when given, else over this call's refs.
func (s *BERTScorer) idf(ctx context.Context, callRefs []*tokenVectors) (map[tokenKey]float64, float64, error) {
	if len(s.opts.IDFDocs) == 0 {
		return idfOver(callRefs), math.Log(float64(len(callRefs)) + 1), nil
	}
	unseen := math.Log(float64(len(s.opts.IDFDocs)) + 1)
	s.mu.Lock()
	idf := s.docIDF
	s.mu.Unlock()
	if idf != nil {
		return idf, unseen, nil
	}
	docs := make([]*tokenVectors, len(s.opts.IDFDocs))
	for i, d := range s.opts.IDFDocs {
		tv, err := s.reference(ctx, d)
		if err != nil {
			return nil, 0, fmt.Errorf("idf document %d: %w", i, err)
		}
		docs[i] = tv
	}
	idf = idfOver(docs)
	s.mu.Lock()
	s.docIDF = idf
	s.mu.Unlock()
	return idf, unseen, nil
}

// errZeroWeights is reported when a side's weights sum to zero.
var errZeroWeights = errors.New("token weights sum to 0 (idf over too few documents?); bert_score gives NaN, scored 0")

// pairMatch is one (candidate, reference) pair and, once matched, the
// best similarity of each candidate token (bestC) and reference token (bestR).
type pairMatch struct {
	c, r         *tokenVectors
	bestC, bestR []float64
}

// exactBest computes the row and column maxima of the cosine-similarity
// matrix of c × r in float64: bert_score's greedy_cos_idf before weighting.
func exactBest(c, r *tokenVectors) (bestC, bestR []float64) {
	bestC = make([]float64, len(c.unit))
	bestR = make([]float64, len(r.unit))
	for i := range bestC {
		bestC[i] = math.Inf(-1)
	}
	for j := range bestR {
		bestR[j] = math.Inf(-1)
	}
	for i, cu := range c.unit {
		for j, ru := range r.unit {
			var dot float64
			for k, x := range cu {
				dot += x * ru[k]
			}
			bestC[i] = max(bestC[i], dot)
			bestR[j] = max(bestR[j], dot)
		}
	}
	return bestC, bestR
}

// shapeBuckets is how many batched products a Score call's pairs are split
// into, by size, so that a short pair is not padded to the longest text of
// the call. On 64 pairs of 10 to 150 words each (mixed-batched of
// BenchmarkBERTScoreBatched, 2-core CPU), four buckets instead of one went
// from 4838 to 5006 pairs/s: on the CPU, packing and maxima cost more than
// the product; the buckets mainly shrink the padded buffers (and the
// transfers to a GPU).
const shapeBuckets = 4

// batchedBest fills bestC and bestR of every pair from a few batched float32
// products. The pairs with tokens on both sides (the others weightedMatch
// scores 0) are sorted by size and cut into shapeBuckets groups; within a
// group each pair's candidate and reference matrices are zero-padded to the
// group's largest candidate (M) and reference (N), and the maxima are taken
// over the pair's own rows and columns only, so padding never wins.
func batchedBest(mul cuda.Multiplier, pairs []pairMatch) error {
	var idx []int
	for i, p := range pairs {
		if p.c.content > 0 && p.r.content > 0 {
			idx = append(idx, i)
		}
	}
	size := func(i int) int { return len(pairs[i].c.unit) * len(pairs[i].r.unit) }
	slices.SortStableFunc(idx, func(x, y int) int { return size(x) - size(y) })
	per := (len(idx) + shapeBuckets - 1) / shapeBuckets
	for len(idx) > 0 {
		k := min(per, len(idx))
		if err := bestOfBucket(mul, pairs, idx[:k]); err != nil {
			return err
		}
		idx = idx[k:]
	}
	return nil
}

// bestOfBucket runs one batched product over the pairs pairs[idx...].
func bestOfBucket(mul cuda.Multiplier, pairs []pairMatch, idx []int) error {
	m, n, dim := 0, 0, 0
	for _, i := range idx {
		p := pairs[i]
		m, n = max(m, len(p.c.unit)), max(n, len(p.r.unit))
		dim = max(dim, len(p.c.unit[0]))
	}
	b := cuda.Batch{Count: len(idx), M: m, N: n, K: dim, TransB: true}
	a := make([]float32, b.Count*m*dim)
	bm := make([]float32, b.Count*n*dim)
	c := make([]float32, b.Count*m*n)
	for e, i := range idx {
		pack(a[e*m*dim:], pairs[i].c.unit)
		pack(bm[e*n*dim:], pairs[i].r.unit)
	}
	if err := mul.MatMul(b, a, bm, c); err != nil {
		return err
	}
	for e, i := range idx {
		p := &pairs[i]
		sim := c[e*m*n : (e+1)*m*n]
		p.bestC = make([]float64, len(p.c.unit))
		p.bestR = make([]float64, len(p.r.unit))
		bestR := make([]float32, len(p.r.unit))
		for j := range bestR {
			bestR[j] = float32(math.Inf(-1))
		}
		for ci := range p.bestC {
			row := sim[ci*n : ci*n+len(p.r.unit)]
			best := float32(math.Inf(-1))
			for j, x := range row {
				best = max(best, x)
				bestR[j] = max(bestR[j], x)
			}
			p.bestC[ci] = float64(best)
		}
		for j, x := range bestR {
			p.bestR[j] = float64(x)
		}
	}
	return nil
}

// pack writes the rows of vs back to back into dst as float32.
func pack(dst []float32, vs [][]float64) {
	for i, v := range vs {
		row := dst[i*len(v) : (i+1)*len(v)]
		for k, x := range v {
			row[k] = float32(x)
		}
	}
}

// weightedMatch turns the token maxima of one pair into P, R and F with the
// token weights wc and wr. It returns a warning for the cases bert_score
// warns about or would return NaN for.
func weightedMatch(c, r *tokenVectors, bestC, bestR, wc, wr []float64) (Score, string) {
	if c.content == 0 {
		return Score{}, "empty candidate; BERTScore set to 0"
	}
	if r.content == 0 {
		return Score{}, "empty reference; BERTScore set to 0"
	}
	p, okP := weightedMean(bestC, wc)
	rr, okR := weightedMean(bestR, wr)
	warn := ""
	if !okP || !okR {
		warn = errZeroWeights.Error()
	}
	f := 0.0
	if okP && okR && p+rr != 0 {
		f = 2 * p * rr / (p + rr)
	}
	return Score{P: p, R: rr, F: f}, warn
}

func weightedMean(x, w []float64) (float64, bool) {
	var sw, s float64
	for i := range x {
		sw += w[i]
		s += w[i] * x[i]
	}
	if sw == 0 {
		return 0, false
	}
	return s / sw, true
}
