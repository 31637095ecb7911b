package pmlm

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/pmlm-go/pmlm/llm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/prompt"
	"github.com/pmlm-go/pmlm/policy"
	"github.com/pmlm-go/pmlm/reward"
)

// BayesRefiner refines a coarse prompt by minimum Bayes risk instead of a
// learned policy (beyond the paper; Kumar & Byrne 2004 choose translations
// this way, Freitag et al. 2022 with neural metrics). Its candidates are
// the prompts reachable by deleting whole diagnoses within the deletion
// budget: the coarse prompt itself, every diagnosis the prompt names kept
// alone (the others' words deleted) and every one of them deleted. The
// responder answers each candidate, and the refiner keeps the candidate
// whose answer has the highest expected reward, the expectation taken over
// the predictor's probabilities of the diagnoses: the reward of an answer
// under diagnosis d is its mean BERTScore-F1 against a sample of training
// replies of patients with diagnosis d.
//
// The learned policy must discover from noisy rewards which diagnosis
// words to delete for which patient; this refiner computes the decision
// from what the prompt builder already knows. It costs one responder call
// per distinct candidate, at most 1 + 2 × the diagnoses named, the chosen
// answer among them; the policy's refinement needs only the one call for
// its final prompt.
//
// A BayesRefiner is safe for concurrent use.
type BayesRefiner struct {
	labels []string
	refs   [][]bayesReference // per label, the sampled training replies
	// prior is the diagnoses' frequencies among the replies, the belief of
	// every patient with BayesOptions.Prior; nil otherwise.
	prior  []float64
	scorer *reward.BERTScorer
	steps  int
	// cache holds each answer's expected reward per label (without
	// exclusions).
	cache *lru.Cache[string, []float64]
}

// bayesReference is a sampled training reply and its patient's key.
type bayesReference struct {
	key, reply string
}

// DefaultBayesReferences is the number of training replies sampled per
// diagnosis when BayesOptions.References is zero.
const DefaultBayesReferences = 16

// BayesOptions configure NewBayesRefiner.
type BayesOptions struct {
	// References is the number of training replies sampled per diagnosis
	// to estimate an answer's reward under it (0: DefaultBayesReferences).
	References int
	// Steps is the deletion budget n (0: DefaultSteps).
	Steps int
	// Seed seeds the sample of replies.
	Seed uint64
	// CachedAnswers bounds the answers whose expected rewards are kept
	// (0: 4096).
	CachedAnswers int
	// Prior is a control that ignores the patient: the belief is the
	// diagnoses' frequencies among all the replies given, for every
	// patient, instead of the predictor's probabilities. What refinement
	// gains over it is personalization, not a better answer for everyone.
	Prior bool
}

// LabelledReply is a training patient's reply with its diagnosis and key
// (the key leaves the reply out when that patient is refined). Keys are
// distinct; an empty key marks a reply of no patient.
type LabelledReply struct {
	Key, Label, Reply string
}

// ErrBayes is returned for a BayesRefiner that cannot be made.
var ErrBayes = errors.New("pmlm: Bayes refiner")

// NewBayesRefiner returns a refiner over the diagnoses labels (the order of
// Coarse.Probabilities) whose answers' rewards are estimated against the
// replies and scored by scorer, the pipeline's reward. The references are
// a seeded sample of the replies in the order given: pass them in an order
// that does not depend on how the data were stored (Pipeline.BayesRefiner
// orders them by patient ID).
func NewBayesRefiner(labels []string, replies []LabelledReply, scorer *reward.BERTScorer, opts BayesOptions) (*BayesRefiner, error) {
	switch {
	case scorer == nil:
		return nil, fmt.Errorf("%w: a scorer is required", ErrBayes)
	case len(labels) == 0:
		return nil, fmt.Errorf("%w: no diagnoses", ErrBayes)
	case opts.References < 0 || opts.Steps < 0 || opts.CachedAnswers < 0:
		return nil, fmt.Errorf("%w: references %d, steps %d and cached answers %d must not be negative",
			ErrBayes, opts.References, opts.Steps, opts.CachedAnswers)
	}
	m := cmp.Or(opts.References, DefaultBayesReferences)
	index := make(map[string]int, len(labels))
	for i, l := range labels {
		index[l] = i
	}
	all := make([][]bayesReference, len(labels))
	seen := make(map[string]int, len(replies))
	for i, r := range replies {
		li, ok := index[r.Label]
		if !ok {
			return nil, fmt.Errorf("%w: reply %d: diagnosis %q is not one of the %d labels", ErrBayes, i+1, r.Label, len(labels))
		}
		if first, dup := seen[r.Key]; dup && r.Key != "" {
			// A patient's reply given twice would weigh twice in the sample
			// and in the prior: refused, not silently counted.
			return nil, fmt.Errorf("%w: replies %d and %d have the same key (a patient listed twice?)", ErrBayes, first+1, i+1)
		}
		seen[r.Key] = i
		all[li] = append(all[li], bayesReference{key: r.Key, reply: r.Reply})
	}
	var prior []float64
	if opts.Prior {
		prior = make([]float64, len(labels))
		for li, rs := range all {
			prior[li] = float64(len(rs))
		}
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0xba7e5))
	refs := make([][]bayesReference, len(labels))
	sampled := 0
	for li, rs := range all {
		rng.Shuffle(len(rs), func(i, j int) { rs[i], rs[j] = rs[j], rs[i] })
		refs[li] = rs[:min(m, len(rs))]
		sampled += len(refs[li])
	}
	if sampled == 0 {
		return nil, fmt.Errorf("%w: no training replies", ErrBayes)
	}
	cache, err := lru.New[string, []float64](cmp.Or(opts.CachedAnswers, 4096))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBayes, err)
	}
	return &BayesRefiner{labels: labels, refs: refs, prior: prior, scorer: scorer, steps: cmp.Or(opts.Steps, DefaultSteps), cache: cache}, nil
}

// BayesChoice is what BayesRefiner.Refine chose.
type BayesChoice struct {
	// Result is the chosen prompt as a refinement of the coarse one: its
	// Final prompt and the deleted words in prompt order (Prob 1).
	Result policy.Result
	// Response is the responder's answer to Result.Final, CoarseResponse
	// its answer to the coarse prompt (the first candidate, always asked).
	Response, CoarseResponse llm.Response
	// Expected is the chosen answer's expected BERTScore-F1 (0–1) under the
	// belief; CoarseExpected the coarse answer's.
	Expected, CoarseExpected float64
	// Candidates is the number of distinct prompts answered.
	Candidates int
}

// Asker answers a prompt (for a Pipeline: its responder, leaving out the
// patient's own record).
type Asker func(ctx context.Context, prompt string) (llm.Response, error)

// Refine chooses the refinement of c with the highest expected reward.
// The belief about the diagnosis is c.Probabilities when the predictor
// gave them, otherwise the similar patients' label frequencies (with
// BayesOptions.Prior: the replies' label frequencies, for everyone); the
// replies of the patients whose keys are in exclude are left out of the
// estimates. Ties keep the earlier candidate, the coarse prompt first.
func (b *BayesRefiner) Refine(ctx context.Context, c Coarse, ask Asker, exclude []string) (BayesChoice, error) {
	belief, err := b.belief(c)
	if err != nil {
		return BayesChoice{}, err
	}
	words := prompt.Words(c.Prompt)
	sets := b.candidates(c, words)
	type answered struct {
		final    string
		del      []int
		response llm.Response
		expected float64
	}
	var cands []answered
	for _, del := range sets {
		final := prompt.Join(withoutPositions(words, del))
		if slices.ContainsFunc(cands, func(a answered) bool { return a.final == final }) {
			continue
		}
		r, err := ask(ctx, final)
		if err != nil {
			return BayesChoice{}, fmt.Errorf("%w: candidate %d: %w", ErrBayes, len(cands)+1, err)
		}
		u, err := b.utility(ctx, r.Text, exclude)
		if err != nil {
			return BayesChoice{}, err
		}
		var e float64
		for li, p := range belief {
			e += p * u[li]
		}
		cands = append(cands, answered{final: final, del: del, response: r, expected: e})
	}
	best := 0
	for i, a := range cands {
		if a.expected > cands[best].expected {
			best = i
		}
	}
	chosen := cands[best]
	res := policy.Result{Coarse: c.Prompt, Final: chosen.final}
	for step, at := range chosen.del {
		res.Deletions = append(res.Deletions, policy.Deletion{Step: step, Word: words[at], Index: at, StateIndex: at - step, Prob: 1})
	}
	return BayesChoice{Result: res, Response: chosen.response, CoarseResponse: cands[0].response,
		Expected: chosen.expected, CoarseExpected: cands[0].expected, Candidates: len(cands)}, nil
}

// belief returns the probability of each label for c, normalised over the
// labels that have replies.
func (b *BayesRefiner) belief(c Coarse) ([]float64, error) {
	p := make([]float64, len(b.labels))
	switch {
	case b.prior != nil:
		copy(p, b.prior)
	case len(c.Probabilities) == len(b.labels):
		copy(p, c.Probabilities)
	case c.Probabilities != nil:
		return nil, fmt.Errorf("%w: %d probabilities for %d diagnoses", ErrBayes, len(c.Probabilities), len(b.labels))
	default:
		for _, s := range c.Similar {
			if i := slices.Index(b.labels, s.Label); i >= 0 {
				p[i] += float64(s.Count)
			}
		}
	}
	var sum float64
	for i := range p {
		if len(b.refs[i]) == 0 || p[i] < 0 {
			p[i] = 0
		}
		sum += p[i]
	}
	if sum == 0 {
		return nil, fmt.Errorf("%w: no belief about the diagnosis (no probabilities and no similar patient with a known diagnosis)", ErrBayes)
	}
	for i := range p {
		p[i] /= sum
	}
	return p, nil
}

// candidates returns the deletion sets of the candidate prompts: none (the
// coarse prompt), then for each diagnosis named in the prompt (the
// predicted one first, then the similar patients', most frequent first)
// the others deleted, and it deleted, within the budget.
func (b *BayesRefiner) candidates(c Coarse, words []string) [][]int {
	var named []string
	for _, l := range append([]string{c.PredictedLabel}, similarLabelsOf(c)...) {
		if !slices.Contains(named, l) && len(occurrences(words, l)) > 0 {
			named = append(named, l)
		}
	}
	out := [][]int{nil}
	for _, d := range named {
		others := slices.DeleteFunc(slices.Clone(named), func(o string) bool { return o == d })
		if sets := deletionSets(words, others, b.steps); len(sets) > 0 {
			out = append(out, sets[len(sets)-1])
		}
		if sets := deletionSets(words, []string{d}, b.steps); len(sets) > 0 {
			out = append(out, sets[len(sets)-1])
		}
	}
	return out
}

func similarLabelsOf(c Coarse) []string {
	out := make([]string, len(c.Similar))
	for i, s := range c.Similar {
		out[i] = s.Label
	}
	return out
}

// utility returns an answer's mean BERTScore-F1 (0–1) against each
// label's sampled replies, less those of the excluded patients.
func (b *BayesRefiner) utility(ctx context.Context, answer string, exclude []string) ([]float64, error) {
	excluded := func(r bayesReference) bool { return len(exclude) > 0 && slices.Contains(exclude, r.key) }
	touched := false
	for _, rs := range b.refs {
		if slices.ContainsFunc(rs, excluded) {
			touched = true
			break
		}
	}
	if !touched {
		if u, ok := b.cache.Get(answer); ok {
			return u, nil
		}
	}
	var cands []string
	var refs [][]string
	var of []int
	for li, rs := range b.refs {
		for _, r := range rs {
			if !excluded(r) {
				cands = append(cands, answer)
				refs = append(refs, []string{r.reply})
				of = append(of, li)
			}
		}
	}
	u := make([]float64, len(b.labels))
	if answer == "" || len(cands) == 0 {
		return u, nil // an empty answer scores 0 against every reply
	}
	s, err := b.scorer.Score(ctx, cands, refs)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBayes, err)
	}
	n := make([]float64, len(b.labels))
	for i, p := range s.Pairs {
		u[of[i]] += p.F
		n[of[i]]++
	}
	for i := range u {
		if n[i] > 0 {
			u[i] /= n[i]
		}
	}
	if !touched {
		b.cache.Add(answer, u)
	}
	return u, nil
}

// BayesRefiner returns a refiner for the pipeline: over its diagnoses and
// its reward's BERTScore, with the replies of the training patients given
// (normally the cohort's training split, or TrainingPatients for a loaded
// model) keyed as the pipeline keys them,
// so that a training patient's own reply never weighs in its refinement.
// The patients are taken in the order of their IDs, so that the same data
// in another row order give the same refiner. Pass it in
// RespondOptions.Bayes.
//
// Every patient must be one of the model's training patients. A complete
// list of them is also checked against DataInfo.TrainingDigest, as
// TrainingPatients checks it, and refused when their diagnoses or replies
// differ from those the model was trained on; a part of them can only be
// matched by key.
func (p *Pipeline) BayesRefiner(train []*cohort.Patient, opts BayesOptions) (*BayesRefiner, error) {
	if slices.Contains(train, nil) {
		return nil, fmt.Errorf("%w: nil patient", ErrBayes)
	}
	train = slices.Clone(train)
	slices.SortStableFunc(train, func(a, b *cohort.Patient) int { return strings.Compare(a.ID, b.ID) })
	replies := make([]LabelledReply, 0, len(train))
	for _, pt := range train {
		key := p.builder.keys.key(pt.ID)
		if !p.trainKeys[key] {
			// Replies of other patients would estimate the rewards from data
			// the model was not trained on: refused, not silently used.
			return nil, fmt.Errorf("%w: patient %q is not one of the model's training patients", ErrBayes, pt.ID)
		}
		replies = append(replies, LabelledReply{Key: key, Label: pt.Label, Reply: pt.Response})
	}
	if !p.matchesTrainingDigest(train) {
		return nil, fmt.Errorf("%w: the %d patients are the model's training patients by key, but their diagnoses or replies differ from those it was trained on (edited since, or a patient listed twice?)",
			ErrBayes, len(train))
	}
	if opts.Steps == 0 {
		opts.Steps = p.steps
	}
	return NewBayesRefiner(p.builder.labels, replies, p.scorer, opts)
}

// TrainingPatients returns the patients of c that the pipeline was trained
// on, matched by their opaque keys (PatientKeys), in c's order: for a loaded
// model, the replies BayesRefiner needs. It fails when c lacks any of the
// model's training patients, since a refinement estimated from part of them
// would differ silently from the model's, and when their diagnoses or
// replies differ from those the model was trained on (checked against
// DataInfo.TrainingDigest; models saved before it was recorded are matched
// by key only).
func (p *Pipeline) TrainingPatients(c *cohort.Cohort) ([]*cohort.Patient, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: nil cohort", ErrOptions)
	}
	var out []*cohort.Patient
	for i := range c.Patients {
		if p.trainKeys[p.builder.keys.key(c.Patients[i].ID)] {
			out = append(out, &c.Patients[i])
		}
	}
	if len(out) != len(p.trainKeys) {
		return nil, fmt.Errorf("%w: the data hold %d of the model's %d training patients", ErrOptions, len(out), len(p.trainKeys))
	}
	if !p.matchesTrainingDigest(out) {
		return nil, fmt.Errorf("%w: the data hold the model's %d training patients, but their diagnoses or replies differ from those it was trained on (edited since?)",
			ErrOptions, len(out))
	}
	return out, nil
}

// matchesTrainingDigest reports whether patients, when they are as many as
// the model's training patients, have the digest of those the model was
// trained on. Fewer patients cannot be checked, nor can models saved
// before the digest was recorded: both report true.
func (p *Pipeline) matchesTrainingDigest(patients []*cohort.Patient) bool {
	return p.trainDigest == "" || len(patients) != len(p.trainKeys) || trainingDigest(p.builder.keys, patients) == p.trainDigest
}
