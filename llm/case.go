package llm

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/pmlm-go/pmlm/encoder"
)

// Case is one training example of the CaseResponder: a prompt, the
// doctor's reply to that patient, and the patient's ID.
type Case struct {
	ID     string `json:"id"`
	Prompt string `json:"prompt"`
	Reply  string `json:"reply"`
}

// CaseOptions configure NewCaseResponder.
type CaseOptions struct {
	// Encoder embeds the prompts. Nil selects the lexical embedder: sparse
	// TF-IDF vectors over lower-cased words, which needs no model.
	Encoder encoder.TextEncoder
	// K is the number of nearest training prompts that vote (default 1);
	// see CaseResponder.
	K int
}

// ErrNoCase is returned when no training case is left to answer from (all excluded).
var ErrNoCase = errors.New("llm: no training case to answer from")

// CaseResponder is the offline, embedded default responder. It is a
// STAND-IN for an LLM, not a language model: it answers a prompt with the
// doctor reply of the most similar training prompt, so the whole pipeline
// runs and can be tested without a network or a model server.
//
// Similarity is the cosine between prompt vectors. With an Encoder, a
// prompt's vector is the TF-IDF-weighted mean of its token vectors (special
// tokens left out): each token is weighted by ln((1+N)/(1+df)), N the number
// of training prompts and df the number containing the token; tokens
// without a letter or digit (punctuation) are left out. Weighting
// matters here because the coarse prompts share a long template: a token
// found in every training prompt gets weight 0, so the template does not
// make all prompts look alike and the patient-specific words decide. A
// query token that no training prompt contains gets the largest weight,
// ln(1+N), so a word missing from the training prompts still counts through
// its vector (a synonym lands near its neighbours).
// Without an Encoder, the vector is the sparse TF-IDF vector of the words
// themselves (the same idf, times the word's count).
//
// With K > 1 the K nearest prompts vote: the reply that occurs most often
// among them (compared after collapsing whitespace) wins, and a tie goes to
// the reply whose best-ranked occurrence is nearer. Nearness ties (equal
// cosine) are broken by case order, the earlier case first, so answers are
// deterministic. A prompt with no weighted token (every word in every
// training prompt, or none known) is equally near to all cases and gets the
// first case's reply.
//
// While training, the query patient's own case must not answer: pass its
// ID in Request.Exclude (RespondTo) or use RespondExcluding.
//
// A CaseResponder is safe for concurrent use when its Encoder is.
type CaseResponder struct {
	enc   encoder.TextEncoder
	k     int
	cases []Case
	idf   map[string]float64
	dense [][]float32    // unit vectors, with enc
	terms [][]termWeight // unit sparse vectors sorted by term, without enc
	name  string
}

// NewCaseResponder embeds the training prompts once. IDs must be unique and
// non-empty, prompts and replies non-empty.
func NewCaseResponder(ctx context.Context, cases []Case, opts CaseOptions) (*CaseResponder, error) {
	if len(cases) == 0 {
		return nil, fmt.Errorf("%w: the training set is empty", ErrNoCase)
	}
	seen := make(map[string]int, len(cases))
	for i, c := range cases {
		switch {
		case c.ID == "":
			return nil, fmt.Errorf("llm: case %d: empty ID", i)
		case strings.TrimSpace(c.Prompt) == "":
			return nil, fmt.Errorf("llm: case %d (ID %q): empty prompt", i, c.ID)
		case strings.TrimSpace(c.Reply) == "":
			return nil, fmt.Errorf("llm: case %d (ID %q): empty reply", i, c.ID)
		}
		if j, dup := seen[c.ID]; dup {
			return nil, fmt.Errorf("llm: cases %d and %d share the ID %q", j, i, c.ID)
		}
		seen[c.ID] = i
	}
	r := &CaseResponder{enc: opts.Encoder, k: max(opts.K, 1), cases: append([]Case(nil), cases...)}

	// Tokenize every prompt once; keep the encodings for the dense path.
	tokens := make([][]string, len(cases))
	var encs []*encoder.Encoded
	if r.enc != nil {
		encs = make([]*encoder.Encoded, len(cases))
	}
	for i, c := range cases {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if r.enc == nil {
			tokens[i] = lexicalTerms(c.Prompt)
			continue
		}
		e, err := r.enc.Encode(ctx, c.Prompt)
		if err != nil {
			return nil, fmt.Errorf("llm: embed the prompt of case %q: %w", c.ID, err)
		}
		encs[i], tokens[i] = e, contentTokens(e)
	}
	df := map[string]int{}
	for _, ts := range tokens {
		for t := range distinct(ts) {
			df[t]++
		}
	}
	r.idf = make(map[string]float64, len(df))
	for t, n := range df {
		r.idf[t] = math.Log(float64(1+len(cases)) / float64(1+n))
	}
	if r.enc != nil {
		r.dense = make([][]float32, len(cases))
		for i, e := range encs {
			r.dense[i] = r.denseVector(e)
		}
	} else {
		r.terms = make([][]termWeight, len(cases))
		for i, ts := range tokens {
			r.terms[i] = r.sparseVector(ts)
		}
	}
	r.name = r.describe()
	return r, nil
}

func (r *CaseResponder) describe() string {
	h := sha256.New()
	var n [8]byte
	for _, c := range r.cases {
		for _, s := range []string{c.ID, c.Prompt, c.Reply} {
			binary.BigEndian.PutUint64(n[:], uint64(len(s)))
			h.Write(n[:])
			h.Write([]byte(s))
		}
	}
	emb := "lexical-tfidf"
	if r.enc != nil {
		emb = r.enc.Name()
	}
	return fmt.Sprintf("%s/k=%d/cases=%d/%x", emb, r.k, len(r.cases), h.Sum(nil)[:8])
}

// ProviderCase is the provider name of a CaseResponder's identity and
// answers.
const ProviderCase = "case"

// Identity implements Identified: provider "case", and a model name built
// from the embedder, K, and a fingerprint of the training cases, so a
// response cache never serves answers of other training data.
func (r *CaseResponder) Identity() Identity {
	return Identity{Provider: ProviderCase, Model: r.name}
}

var _ PatientResponder = (*CaseResponder)(nil)

// Respond implements Responder: every case may answer.
func (r *CaseResponder) Respond(ctx context.Context, prompt string) (Response, error) {
	return r.RespondExcluding(ctx, prompt, "")
}

// RespondTo implements PatientResponder: the cases whose IDs are in
// req.Exclude never answer.
func (r *CaseResponder) RespondTo(ctx context.Context, req Request) (Response, error) {
	return r.respond(ctx, req.Prompt, req.Exclude)
}

// RespondExcluding answers without using the case whose ID is excludeID
// ("" excludes nothing).
func (r *CaseResponder) RespondExcluding(ctx context.Context, prompt, excludeID string) (Response, error) {
	var exclude []string
	if excludeID != "" {
		exclude = []string{excludeID}
	}
	return r.respond(ctx, prompt, exclude)
}

func (r *CaseResponder) respond(ctx context.Context, prompt string, exclude []string) (Response, error) {
	start := time.Now()
	nb, err := r.nearest(ctx, prompt, r.k, exclude)
	if err != nil {
		return Response{}, err
	}
	best := vote(nb, r.cases)
	return Response{Text: r.cases[best].Reply, Provider: ProviderCase, Model: r.name,
		StopReason: "stop", Latency: time.Since(start)}, nil
}

// CaseMatch is a training case and its similarity to a query (the
// recommender's neighbours are similarity.Neighbor).
type CaseMatch struct {
	// Index is the case's position in the training set.
	Index int
	// ID is the case's ID.
	ID string
	// Similarity is the cosine between the prompts' vectors.
	Similarity float64
}

// Nearest returns the k training cases nearest to prompt, nearest first
// (equal similarities in case order), leaving out excludeID.
func (r *CaseResponder) Nearest(ctx context.Context, prompt string, k int, excludeID string) ([]CaseMatch, error) {
	var exclude []string
	if excludeID != "" {
		exclude = []string{excludeID}
	}
	return r.nearest(ctx, prompt, k, exclude)
}

func (r *CaseResponder) nearest(ctx context.Context, prompt string, k int, exclude []string) ([]CaseMatch, error) {
	var sim func(i int) float64
	if r.enc != nil {
		e, err := r.enc.Encode(ctx, prompt)
		if err != nil {
			return nil, fmt.Errorf("llm: embed the prompt: %w", err)
		}
		q := r.denseVector(e)
		sim = func(i int) float64 { return dot32(q, r.dense[i]) }
	} else {
		q := r.sparseVector(lexicalTerms(prompt))
		sim = func(i int) float64 { return dotSparse(q, r.terms[i]) }
	}
	k = max(k, 1)
	// Insertion into a sorted list of at most k: N is a few thousand and k
	// small, and a strict ">" keeps earlier cases ahead on ties.
	top := make([]CaseMatch, 0, k+1)
	for i, c := range r.cases {
		if slices.Contains(exclude, c.ID) {
			continue
		}
		s := sim(i)
		if len(top) == k && s <= top[k-1].Similarity {
			continue
		}
		pos := len(top)
		for pos > 0 && s > top[pos-1].Similarity {
			pos--
		}
		top = append(top, CaseMatch{})
		copy(top[pos+1:], top[pos:])
		top[pos] = CaseMatch{Index: i, ID: c.ID, Similarity: s}
		if len(top) > k {
			top = top[:k]
		}
	}
	if len(top) == 0 {
		return nil, fmt.Errorf("%w (%d cases excluded)", ErrNoCase, len(exclude))
	}
	return top, nil
}

// vote returns the index of the case whose reply wins among nb (nearest
// first): the most frequent reply, ties to the nearer first occurrence.
func vote(nb []CaseMatch, cases []Case) int {
	counts := map[string]int{}
	first := map[string]int{} // normalized reply -> case index of its nearest occurrence
	var order []string
	for _, n := range nb {
		key := strings.Join(strings.Fields(cases[n.Index].Reply), " ")
		if _, ok := first[key]; !ok {
			first[key] = n.Index
			order = append(order, key)
		}
		counts[key]++
	}
	best := order[0]
	for _, key := range order[1:] {
		if counts[key] > counts[best] {
			best = key
		}
	}
	return first[best]
}

// contentTokens returns the tokens of e that carry content, lower-cased:
// not special, and holding a letter or a digit.
func contentTokens(e *encoder.Encoded) []string {
	out := make([]string, 0, len(e.Tokens))
	for i, t := range e.Tokens {
		if isContent(e, i) {
			out = append(out, strings.ToLower(t))
		}
	}
	return out
}

// isContent reports whether token i of e carries content. Punctuation is
// left out: a comma that no training prompt happens to contain would
// otherwise get the largest idf and pull the query towards whatever its
// vector resembles.
func isContent(e *encoder.Encoded, i int) bool {
	if i < len(e.Special) && e.Special[i] {
		return false
	}
	return strings.IndexFunc(e.Tokens[i], func(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }) >= 0
}

func (r *CaseResponder) denseVector(e *encoder.Encoded) []float32 {
	v := make([]float32, r.enc.Dim())
	for i, t := range e.Tokens {
		if !isContent(e, i) || i >= len(e.Vectors) {
			continue
		}
		w := r.weight(strings.ToLower(t))
		if w == 0 {
			continue
		}
		for j, x := range e.Vectors[i] {
			if j < len(v) {
				v[j] += float32(w) * x
			}
		}
	}
	normalize32(v)
	return v
}

// termWeight is one entry of a sparse vector.
type termWeight struct {
	term string
	w    float64
}

// sparseVector returns the unit TF-IDF vector of terms, sorted by term so
// that sums run in a fixed order and results are bitwise reproducible.
func (r *CaseResponder) sparseVector(terms []string) []termWeight {
	sorted := slices.Clone(terms)
	slices.Sort(sorted)
	var v []termWeight
	for _, t := range sorted {
		w := r.weight(t)
		if w == 0 {
			continue
		}
		if n := len(v); n > 0 && v[n-1].term == t {
			v[n-1].w += w
		} else {
			v = append(v, termWeight{t, w})
		}
	}
	var norm float64
	for _, x := range v {
		norm += x.w * x.w
	}
	if norm > 0 {
		inv := 1 / math.Sqrt(norm)
		for i := range v {
			v[i].w *= inv
		}
	}
	return v
}

// weight is the idf of a token; a token no training prompt contains gets
// the largest idf, ln(1+N).
func (r *CaseResponder) weight(t string) float64 {
	if w, ok := r.idf[t]; ok {
		return w
	}
	return math.Log(float64(1 + len(r.cases)))
}

// lexicalTerms splits text into lower-cased words with surrounding
// punctuation removed ("Anemia," -> "anemia"); numbers are kept.
func lexicalTerms(text string) []string {
	fields := strings.Fields(text)
	out := fields[:0:0]
	for _, f := range fields {
		f = strings.TrimFunc(strings.ToLower(f), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

func distinct(ts []string) map[string]struct{} {
	m := make(map[string]struct{}, len(ts))
	for _, t := range ts {
		m[t] = struct{}{}
	}
	return m
}

func normalize32(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
}

func dot32(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// dotSparse is the dot product of two sorted sparse vectors.
func dotSparse(a, b []termWeight) float64 {
	var s float64
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i].term < b[j].term:
			i++
		case a[i].term > b[j].term:
			j++
		default:
			s += a[i].w * b[j].w
			i++
			j++
		}
	}
	return s
}
