package corpus

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// Case is one training patient as the corpus sees it: no identifier, no
// laboratory value.
type Case struct {
	// Label is the patient's true discharge diagnosis, one of Build's labels.
	Label string
	// Reply is the doctor's reply to that patient.
	Reply string
}

// Kind names a kind of pair.
type Kind string

// The kinds of pairs Build generates (see the package documentation).
const (
	KindSingle       Kind = "single"
	KindDifferential Kind = "differential"
	KindLikelihood   Kind = "likelihood"
	KindLab          Kind = "lab"
	KindSignature    Kind = "signature"
)

// Kinds returns every kind, in the order Build emits them.
func Kinds() []Kind {
	return []Kind{KindSingle, KindDifferential, KindLikelihood, KindLab, KindSignature}
}

// Weight is one diagnosis an input names, with the weight the input's
// words give it.
type Weight struct {
	Label  string
	Weight float64
}

// Pair is one training example.
type Pair struct {
	// Input is the prompt side, Output the answer side.
	Input, Output string
	// Kind is the kind of pair.
	Kind Kind
	// Label is the true diagnosis of the patient whose reply is Output;
	// empty for KindLab and KindSignature.
	Label string
	// Candidates are the diagnoses Input names with their stated weights
	// (for KindSingle one with weight 1; nil for KindLab and
	// KindSignature). Label is always one of them; it was drawn with
	// probability proportional to Weight, before deletion noise (see
	// Options.Deletion) removed the name of a candidate that was not drawn
	// (it then leaves Candidates) or its count (it keeps its weight).
	Candidates []Weight
}

// Options configures Build. For every count and share, zero means the
// documented default and a negative value means none.
type Options struct {
	// Seed seeds the generator: the same inputs and options give the same
	// corpus.
	Seed uint64
	// SinglePerCase is the number of KindSingle pairs per case (default 2).
	SinglePerCase int
	// DifferentialPerCase times the number of cases is the number of
	// KindDifferential pairs (default 2).
	DifferentialPerCase int
	// LikelihoodPerCase times the number of cases is the number of
	// KindLikelihood pairs (default 1).
	LikelihoodPerCase int
	// LabPerIndicator is the number of KindLab pairs per indicator
	// (default 24).
	LabPerIndicator int
	// MaxCandidates is the largest number of counted candidates in a
	// differential input (default 4; at least 2). Likelihood inputs name
	// 2 to min(MaxCandidates, 4).
	MaxCandidates int
	// Lead is the share of differential inputs that open with a leading
	// diagnosis (default 0.4, at most 1).
	Lead float64
	// LeadWeight is the weight a leading diagnosis adds, as a share of the
	// counts' total (default 0.5).
	LeadWeight float64
	// Preamble is the share of diagnosis inputs that get an opening task
	// sentence and, independently, of those that get a closing one
	// (default 0.4, at most 1).
	Preamble float64
	// Signatures are the laboratory patterns the KindSignature pairs
	// teach, for example ObstetricSignatures(); none when nil.
	Signatures []Signature
	// PerSignature is the number of KindSignature pairs per signature
	// (default 20).
	PerSignature int
	// Context is the share of diagnosis inputs that get context sentences:
	// non-diagnostic sentences of this package's own (where the data come
	// from, who asks, what is wanted, the format, the setting, general
	// clinical reasoning) before, after and between the diagnosis
	// sentences (default 0.75, at most 1).
	Context float64
	// MaxContext is the most context sentences one input gets; their
	// number is uniform in 1..MaxContext (default 5).
	MaxContext int
	// Deletion is the share of diagnosis inputs that lose 1 to MaxDeleted
	// random words, as a word-deleting prompt policy would delete them
	// (default 0.3, at most 1). The reply's diagnosis keeps its name and
	// count; see the package documentation.
	Deletion float64
	// MaxDeleted is the most words one input loses (default 10).
	MaxDeleted int
	// DeleteOther is the share of the noisy inputs that also lose the
	// name or the count of one candidate the reply was not drawn for
	// (default 0.2, at most 1).
	DeleteOther float64
}

// Defaults of Options.
const (
	DefaultSinglePerCase       = 2
	DefaultDifferentialPerCase = 2
	DefaultLikelihoodPerCase   = 1
	DefaultLabPerIndicator     = 24
	DefaultMaxCandidates       = 4
	DefaultLead                = 0.4
	DefaultLeadWeight          = 0.5
	DefaultPreamble            = 0.4
	DefaultPerSignature        = 20
	DefaultContext             = 0.8
	DefaultMaxContext          = 6
	DefaultDeletion            = 0.3
	DefaultMaxDeleted          = 10
	DefaultDeleteOther         = 0.2
)

// Limits of Options: a larger LeadWeight would drown every count, a
// corpus of more than MaxPairs pairs would not fit in memory anyway, and
// more context sentences or deleted words than this would make inputs
// longer than any model's prompt or than any policy deletes.
const (
	MaxLeadWeight = 100
	MaxPairs      = 1 << 24
	MaxMaxContext = 20
	MaxMaxDeleted = 100
)

// ErrInput marks invalid cases, labels, indicators or options.
var ErrInput = errors.New("corpus: invalid input")

func orInt(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

func orFloat(v, def float64) float64 {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// resolved returns o with defaults filled in, or an error.
func (o Options) resolved() (Options, error) {
	for _, v := range []float64{o.Lead, o.LeadWeight, o.Preamble, o.Context, o.Deletion, o.DeleteOther} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return o, fmt.Errorf("%w: Lead %v, LeadWeight %v, Preamble %v, Context %v, Deletion %v and DeleteOther %v must be finite",
				ErrInput, o.Lead, o.LeadWeight, o.Preamble, o.Context, o.Deletion, o.DeleteOther)
		}
	}
	r := o
	r.SinglePerCase = orInt(o.SinglePerCase, DefaultSinglePerCase)
	r.DifferentialPerCase = orInt(o.DifferentialPerCase, DefaultDifferentialPerCase)
	r.LikelihoodPerCase = orInt(o.LikelihoodPerCase, DefaultLikelihoodPerCase)
	r.LabPerIndicator = orInt(o.LabPerIndicator, DefaultLabPerIndicator)
	r.MaxCandidates = orInt(o.MaxCandidates, DefaultMaxCandidates)
	r.Lead = orFloat(o.Lead, DefaultLead)
	r.LeadWeight = orFloat(o.LeadWeight, DefaultLeadWeight)
	r.Preamble = orFloat(o.Preamble, DefaultPreamble)
	r.PerSignature = orInt(o.PerSignature, DefaultPerSignature)
	r.Context = orFloat(o.Context, DefaultContext)
	r.MaxContext = orInt(o.MaxContext, DefaultMaxContext)
	r.Deletion = orFloat(o.Deletion, DefaultDeletion)
	r.MaxDeleted = orInt(o.MaxDeleted, DefaultMaxDeleted)
	r.DeleteOther = orFloat(o.DeleteOther, DefaultDeleteOther)
	for _, s := range o.Signatures {
		if err := s.Validate(); err != nil {
			return o, err
		}
	}
	if r.MaxCandidates < 2 && (r.DifferentialPerCase > 0 || r.LikelihoodPerCase > 0) {
		return o, fmt.Errorf("%w: MaxCandidates is %d, need at least 2", ErrInput, o.MaxCandidates)
	}
	if r.Lead > 1 || r.Preamble > 1 || r.Context > 1 || r.Deletion > 1 || r.DeleteOther > 1 {
		return o, fmt.Errorf("%w: Lead %v, Preamble %v, Context %v, Deletion %v and DeleteOther %v must be shares in [0, 1]",
			ErrInput, o.Lead, o.Preamble, o.Context, o.Deletion, o.DeleteOther)
	}
	if r.MaxContext > MaxMaxContext || r.MaxDeleted > MaxMaxDeleted {
		return o, fmt.Errorf("%w: MaxContext %d must be at most %d and MaxDeleted %d at most %d",
			ErrInput, o.MaxContext, MaxMaxContext, o.MaxDeleted, MaxMaxDeleted)
	}
	if r.LeadWeight > MaxLeadWeight {
		return o, fmt.Errorf("%w: LeadWeight %v is above %v", ErrInput, o.LeadWeight, float64(MaxLeadWeight))
	}
	return r, nil
}

// Build generates the corpus from the training cases, the label set and
// the indicators (which may be empty: then there are no KindLab pairs).
// Every case's label must be one of labels; labels without a case are
// never named, since the corpus has no reply for them. Pairs come grouped
// by kind in the order of Kinds. Build fails with ErrInput on empty or
// invalid input and never panics.
func Build(cases []Case, labels []string, indicators []Indicator, opt Options) ([]Pair, error) {
	o, err := opt.resolved()
	if err != nil {
		return nil, err
	}
	pool, err := newReplyPool(cases, labels)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for i, ind := range indicators {
		if err := ind.Validate(); err != nil {
			return nil, fmt.Errorf("indicator %d: %w", i, err)
		}
		if names[ind.Name] {
			return nil, fmt.Errorf("%w: indicator %q is listed twice", ErrInput, ind.Name)
		}
		names[ind.Name] = true
	}
	requested := float64(len(cases))*float64(o.SinglePerCase+o.DifferentialPerCase+o.LikelihoodPerCase) +
		float64(len(indicators))*float64(o.LabPerIndicator) + float64(len(o.Signatures))*float64(o.PerSignature)
	if requested > MaxPairs {
		return nil, fmt.Errorf("%w: the options ask for %.0f pairs, more than %d", ErrInput, requested, MaxPairs)
	}
	g := &generator{
		rng:     rand.New(rand.NewPCG(o.Seed, 0x636f72707573)), // "corpus"
		opt:     o,
		pool:    pool,
		context: usableContext(pool.labels),
	}
	var pairs []Pair
	for _, c := range cases {
		for range o.SinglePerCase {
			pairs = append(pairs, g.single(c))
		}
	}
	for range o.DifferentialPerCase * len(cases) {
		pairs = append(pairs, g.differential())
	}
	for range o.LikelihoodPerCase * len(cases) {
		pairs = append(pairs, g.likelihood())
	}
	for i := range indicators {
		for range o.LabPerIndicator {
			pairs = append(pairs, g.lab(indicators, i))
		}
	}
	for _, s := range o.Signatures {
		for range o.PerSignature {
			pairs = append(pairs, g.signature(s, indicators))
		}
	}
	if len(pairs) == 0 {
		return nil, fmt.Errorf("%w: the options ask for no pairs", ErrInput)
	}
	return pairs, nil
}

// Counts returns the number of pairs of each kind.
func Counts(pairs []Pair) map[Kind]int {
	n := map[Kind]int{}
	for _, p := range pairs {
		n[p.Kind]++
	}
	return n
}

// Inputs returns the inputs of pairs, for NGramOverlap.
func Inputs(pairs []Pair) []string {
	in := make([]string, len(pairs))
	for i, p := range pairs {
		in[i] = p.Input
	}
	return in
}

// generator holds the state of one Build call.
type generator struct {
	rng     *rand.Rand
	opt     Options
	pool    *replyPool
	context []string // the context sentences that name no label
}

// chance reports true with probability p.
func (g *generator) chance(p float64) bool { return g.rng.Float64() < p }

// pick returns a random element of s.
func pick[T any](rng *rand.Rand, s []T) T { return s[rng.IntN(len(s))] }

// replyPool hands out the replies of each label in a shuffled round robin,
// so that every case's reply is used about equally often.
type replyPool struct {
	labels  []string   // labels with at least one case, in the order given
	replies [][]string // replies per label of labels
	next    []int
	weight  []float64 // sqrt(number of cases) per label: the candidate prior
}

func newReplyPool(cases []Case, labels []string) (*replyPool, error) {
	if len(cases) == 0 {
		return nil, fmt.Errorf("%w: no cases", ErrInput)
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("%w: no labels", ErrInput)
	}
	index := make(map[string]int, len(labels))
	for i, l := range labels {
		if strings.TrimSpace(l) == "" {
			return nil, fmt.Errorf("%w: label %d is empty", ErrInput, i)
		}
		if strings.Join(strings.Fields(l), " ") != l {
			return nil, fmt.Errorf("%w: label %q has leading, trailing or repeated white space", ErrInput, l)
		}
		if hasMarkRune(l) {
			return nil, fmt.Errorf("%w: label %d holds a private-use character U+E000–U+E003", ErrInput, i)
		}
		if _, dup := index[l]; dup {
			return nil, fmt.Errorf("%w: label %q is listed twice", ErrInput, l)
		}
		index[l] = i
	}
	byLabel := make([][]string, len(labels))
	for i, c := range cases {
		li, ok := index[c.Label]
		if !ok {
			return nil, fmt.Errorf("%w: case %d: label %q is not in the label set", ErrInput, i, c.Label)
		}
		if strings.TrimSpace(c.Reply) == "" {
			return nil, fmt.Errorf("%w: case %d: empty reply", ErrInput, i)
		}
		byLabel[li] = append(byLabel[li], c.Reply)
	}
	p := &replyPool{}
	for i, rs := range byLabel {
		if len(rs) == 0 {
			continue
		}
		p.labels = append(p.labels, labels[i])
		p.replies = append(p.replies, rs)
		p.weight = append(p.weight, math.Sqrt(float64(len(rs))))
	}
	p.next = make([]int, len(p.labels))
	return p, nil
}

// labelIndex returns the position of label in p.labels; it must be there.
func (p *replyPool) labelIndex(label string) int {
	for i, l := range p.labels {
		if l == label {
			return i
		}
	}
	return -1
}

// reply returns the next reply of label i, reshuffling its replies at the
// start of every round.
func (p *replyPool) reply(rng *rand.Rand, i int) string {
	rs := p.replies[i]
	if p.next[i] == 0 {
		rng.Shuffle(len(rs), func(a, b int) { rs[a], rs[b] = rs[b], rs[a] })
	}
	r := rs[p.next[i]]
	p.next[i] = (p.next[i] + 1) % len(rs)
	return r
}

// candidates draws m distinct label indices, without replacement, with
// probability proportional to the pool's prior weights.
func (p *replyPool) candidates(rng *rand.Rand, m int) []int {
	m = min(m, len(p.labels))
	w := append([]float64(nil), p.weight...)
	out := make([]int, 0, m)
	for range m {
		i := sampleIndex(rng, w)
		out = append(out, i)
		w[i] = 0
	}
	return out
}

// sampleIndex returns i with probability w[i] / Σw; w must have a positive
// sum.
func sampleIndex(rng *rand.Rand, w []float64) int {
	total := 0.0
	for _, x := range w {
		total += x
	}
	u := rng.Float64() * total
	last := -1
	for i, x := range w {
		if x <= 0 {
			continue
		}
		last = i
		if u < x {
			return i
		}
		u -= x
	}
	return last // rounding at the end of the range
}

// withReply draws the reply's diagnosis from the stated weights, writes
// the input (context, task sentences, deletion noise) and completes the
// pair.
func (g *generator) withReply(kind Kind, segs []string, cands []Weight) Pair {
	w := make([]float64, len(cands))
	for i, c := range cands {
		w[i] = c.Weight
	}
	label := cands[sampleIndex(g.rng, w)].Label
	li := g.pool.labelIndex(label)
	input, cands := g.noisy(g.compose(segs), li, cands)
	return Pair{
		Input:      input,
		Output:     g.pool.reply(g.rng, li),
		Kind:       kind,
		Label:      label,
		Candidates: cands,
	}
}
