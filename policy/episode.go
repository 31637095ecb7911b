package policy

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"

	"github.com/pmlm-go/pmlm/encoder"
	"github.com/pmlm-go/pmlm/internal/stats"
	"gonum.org/v1/gonum/stat"
)

// The trainer's and the episodes' defaults; package pmlm's defaults are
// these constants.
const (
	// DefaultSteps is the number of words an episode deletes (paper: n = 10).
	DefaultSteps = 10
	// DefaultEpochs is the number of passes over the training cases.
	DefaultEpochs = 1
	// DefaultBatchSize is the number of episodes per optimizer step.
	DefaultBatchSize = 8
	// DefaultLearningRate is Adam's step size (paper, section 5.1: 0.005).
	DefaultLearningRate = 0.005
)

// ErrEmptyPrompt is returned for a coarse prompt without words.
var ErrEmptyPrompt = errors.New("policy: empty prompt")

// Options controls one episode.
type Options struct {
	// Steps is the number of deletions n; 0 means DefaultSteps. An episode
	// stops early when one word is left, so a prompt of w words loses at
	// most w−1 of them.
	Steps int
	// Greedy deletes the most probable word (ties: the first) instead of
	// sampling from π. Greedy episodes need no random source.
	Greedy bool
	// Train enables dropout in the policy (training episodes).
	Train bool
	// Replace, if set, adds replace actions to the deletions (the paper's
	// future work, its limitation 2): at any step the policy may instead
	// replace a phrase of s0 (in PMLM the predicted label) by one of the
	// candidates (the similar patients' other labels). The policy must
	// implement EditScorer. Nil: deletions only, the paper's method.
	Replace *Replacement
}

// Replacement describes the replace actions of an episode: the phrase of
// s0 at word positions [From, To) (strings.Fields order) may be replaced,
// once per episode and while all its words are still there, by one of
// Candidates. A replacement counts as one step of the budget n. The
// phrase's last word keeps its trailing punctuation (",.;:").
//
// The policy scores the replacement by c with the edit vector
// mean(e of the phrase) − mean(e of c): what the action removes from the
// prompt's meaning, as e_j is for deleting word j, less what it adds. So
// the same network scores both kinds of action on one scale.
type Replacement struct {
	From, To   int
	Candidates []string
}

// EditScorer is a Policy that also scores edit actions: LogitsWithEdits
// returns an [n+m 1] node, the n words' deletion scores followed by the m
// edits' scores, where edits holds m edit vectors of length WordDim. The
// state summary mean(E) is the words' mean only, so with no edits it
// equals Logits. The MLP implements it.
type EditScorer interface {
	Policy
	LogitsWithEdits(words, edits [][]float32, patient mat.Tensor, train bool) (mat.Tensor, error)
}

// Deletion is one word removed by an episode.
type Deletion struct {
	// Step is i, the index of the state s_i the word was deleted from.
	Step int
	// Word is the deleted word.
	Word string
	// Index is the word's position in the coarse prompt s0 (strings.Fields order).
	Index int
	// StateIndex is the word's position in the state s_i.
	StateIndex int
	// Prob is π(e_j|s_i), the probability the policy gave the deletion.
	Prob float64
	// Replacement, when not empty, makes this step a replace action
	// (Options.Replace): Word is the replaced phrase, Index its first
	// word's position in s0, StateIndex in s_i, and Replacement the
	// candidate put in its place. Words that a replacement inserted have
	// Index −1 when deleted later.
	Replacement string `json:"replacement,omitempty"`
}

// Result is what an episode did to a coarse prompt.
type Result struct {
	// Coarse is the coarse prompt s0 as given.
	Coarse string
	// Deletions lists the deleted words in order.
	Deletions []Deletion
	// Final is the final state P: the words left, joined by single spaces.
	Final string
}

// Episode is a Result together with what training needs.
type Episode struct {
	Result
	// LogProbs holds log π(e_j|s_i) of each deletion as a [1 1] graph node;
	// their sum times the reward is the REINFORCE objective (equation 11).
	LogProbs []mat.Tensor
	// Logits holds each step's scores z (π = softmax(z)) as a graph node,
	// for losses beyond equation 11 (the trainer's entropy bonus).
	Logits []mat.Tensor
	// Entropy holds H(π(·|s_i)) of each step in nats and MaxEntropy its
	// largest possible value, log of the number of actions.
	Entropy, MaxEntropy []float64
	// EncodeTime is the time spent in the TextEncoder, PolicyTime the time
	// spent scoring words (forward pass included).
	EncodeTime, PolicyTime time.Duration
}

// SumLogProb returns Σ_i log π(e_j|s_i) as a graph node, or nil when the
// episode deleted nothing.
func (e *Episode) SumLogProb() mat.Tensor {
	switch len(e.LogProbs) {
	case 0:
		return nil
	case 1:
		return e.LogProbs[0]
	}
	return ag.Sum(append([]mat.Tensor(nil), e.LogProbs...)...)
}

// Run plays one episode: starting from the coarse prompt s0 it embeds the
// current state with text (recomputing E after every deletion unless text
// is context-free), scores the words with p, and deletes one word,
// opts.Steps times or until one word is left. Sampled episodes draw from
// rng, which must not be shared with another goroutine; greedy ones ignore
// it. patient is x̂ ([d_p 1]); when it requires gradients, the returned
// log-probabilities reach it.
func Run(ctx context.Context, p Policy, text encoder.TextEncoder, s0 string, patient mat.Tensor, opts Options, rng *rand.Rand) (*Episode, error) {
	if !opts.Greedy && rng == nil {
		return nil, errors.New("policy: sampled episode without a random source")
	}
	scorer, editable := p.(EditScorer)
	ep := &Episode{}
	score := func(words, edits [][]float32) ([]float64, error) {
		var (
			logits mat.Tensor
			err    error
		)
		if edits != nil {
			logits, err = scorer.LogitsWithEdits(words, edits, patient, opts.Train)
		} else {
			logits, err = p.Logits(words, patient, opts.Train)
		}
		if err != nil {
			return nil, err
		}
		ep.Logits = append(ep.Logits, logits)
		return logits.Value().Data().F64(), nil
	}
	var noEdits error
	if !editable {
		noEdits = fmt.Errorf("policy: replace actions need a policy that scores edits (EditScorer); %T does not", p)
	}
	pl, err := play(ctx, text, s0, opts.Steps, opts.Replace, noEdits, chooser(opts.Greedy, rng), score)
	if err != nil {
		return nil, err
	}
	ep.Result, ep.EncodeTime, ep.PolicyTime = pl.Result, pl.encodeTime, pl.policyTime
	for i, a := range pl.actions {
		// log π = z_a − logsumexp(z): stable, unlike Log(Softmax(z)).
		z := ep.Logits[i]
		ep.LogProbs = append(ep.LogProbs, ag.Sub(ag.At(z, a, 0), ag.LogSumExp(z)))
		ep.Entropy = append(ep.Entropy, stat.Entropy(pl.probs[i]))
		ep.MaxEntropy = append(ep.MaxEntropy, math.Log(float64(len(pl.probs[i]))))
	}
	return ep, nil
}

// isContextFree reports whether text embeds each word independently of its
// context (encoder.ContextFree).
func isContextFree(text encoder.TextEncoder) bool {
	cf, ok := text.(encoder.ContextFree)
	return ok && cf.ContextFree()
}

// chooser returns the action rule of an episode: the most probable action
// (ties: the first) when greedy, else a draw from rng.
func chooser(greedy bool, rng *rand.Rand) func([]float64) int {
	if greedy {
		return stats.Argmax
	}
	return func(p []float64) int { return sample(p, rng.Float64()) }
}

// played is what play did: the result, and per step the probabilities of
// the actions and the action taken.
type played struct {
	Result
	probs                  [][]float64
	actions                []int
	encodeTime, policyTime time.Duration
}

// play is the episode loop that Run, RefineWithEdits and the trainer
// share: from s0 it embeds the state, has score rate the state's words
// (and the replace actions' edit vectors, when opts offer any), turns the
// scores into probabilities, lets choose pick an action and applies it,
// steps times (0: DefaultSteps) or until one word is left. noEdits, if
// not nil, is returned when spec offers replacements (the scorer cannot
// rate them). A context-free text encoder embeds s0 once (again after a
// replacement): its state vectors are s0's minus the deleted rows.
func play(ctx context.Context, text encoder.TextEncoder, s0 string, steps int, spec *Replacement, noEdits error,
	choose func([]float64) int, score func(words, edits [][]float32) ([]float64, error)) (*played, error) {
	words := strings.Fields(s0)
	if len(words) == 0 {
		return nil, ErrEmptyPrompt
	}
	if steps == 0 {
		steps = DefaultSteps
	}
	if steps < 0 {
		return nil, fmt.Errorf("policy: %d steps, want ≥ 0", steps)
	}
	origin := make([]int, len(words)) // origin[k]: index in s0 of the state's k-th word (−1: inserted)
	for i := range origin {
		origin[i] = i
	}
	rep, err := newReplacer(ctx, text, spec, len(words))
	if err != nil {
		return nil, err
	}
	if !rep.done && noEdits != nil {
		return nil, noEdits
	}
	pl := &played{Result: Result{Coarse: s0}}
	var vecs [][]float32
	static := isContextFree(text)
	for step := 0; step < steps && len(words) > 1; step++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t0 := time.Now()
		if !static || vecs == nil {
			enc, err := text.Encode(ctx, strings.Join(words, " "))
			if err != nil {
				return nil, fmt.Errorf("policy: step %d: encode state: %w", step, err)
			}
			if enc.NumWords != len(words) {
				return nil, fmt.Errorf("policy: step %d: text encoder %s reports %d words, state has %d",
					step, text.Name(), enc.NumWords, len(words))
			}
			vecs = enc.WordVectors()
		}
		t1 := time.Now()
		edits, at := rep.edits(vecs, origin)
		z, err := score(vecs, edits)
		if err != nil {
			return nil, fmt.Errorf("policy: step %d: %w", step, err)
		}
		probs, err := softmaxChecked(z)
		if err != nil {
			return nil, fmt.Errorf("policy: step %d: %w", step, err)
		}
		a := choose(probs)
		pl.probs = append(pl.probs, probs)
		pl.actions = append(pl.actions, a)
		pl.encodeTime += t1.Sub(t0)
		pl.policyTime += time.Since(t1)
		if a >= len(words) {
			var d Deletion
			words, origin, d = rep.apply(words, origin, at, a-len(words))
			d.Step, d.Prob = step, probs[a]
			pl.Deletions = append(pl.Deletions, d)
			vecs = nil // the state has new words
			continue
		}
		pl.Deletions = append(pl.Deletions, Deletion{
			Step: step, Word: words[a], Index: origin[a], StateIndex: a, Prob: probs[a],
		})
		words = append(words[:a:a], words[a+1:]...)
		origin = append(origin[:a:a], origin[a+1:]...)
		if static {
			vecs = append(vecs[:a:a], vecs[a+1:]...)
		}
	}
	pl.Final = strings.Join(words, " ")
	return pl, nil
}

// Refine deletes up to steps words (0 means DefaultSteps) greedily, without
// dropout: deterministic inference.
func Refine(ctx context.Context, p Policy, text encoder.TextEncoder, s0 string, patient mat.Tensor, steps int) (Result, error) {
	ep, err := Run(ctx, p, text, s0, patient, Options{Steps: steps, Greedy: true}, nil)
	if err != nil {
		return Result{}, err
	}
	return ep.Result, nil
}

// Probabilities returns π(e|s) for the words of one state (no dropout), for
// inspection and evaluation.
func Probabilities(ctx context.Context, p Policy, text encoder.TextEncoder, state string, patient mat.Tensor) ([]float64, error) {
	enc, err := text.Encode(ctx, state)
	if err != nil {
		return nil, fmt.Errorf("policy: encode state: %w", err)
	}
	if enc.NumWords == 0 {
		return nil, ErrEmptyPrompt
	}
	logits, err := p.Logits(enc.WordVectors(), patient, false)
	if err != nil {
		return nil, err
	}
	return probabilities(logits)
}

// ErrNotFinite reports a policy score that is NaN or infinite (diverged weights).
var ErrNotFinite = errors.New("policy: non-finite word score")

func probabilities(logits mat.Tensor) ([]float64, error) {
	return softmaxChecked(logits.Value().Data().F64())
}

// softmaxChecked returns softmax(z), refusing non-finite scores.
func softmaxChecked(z []float64) ([]float64, error) {
	for j, v := range z {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%w: word %d scored %v", ErrNotFinite, j, v)
		}
	}
	return stats.Softmax(z), nil
}

// sample returns the index i with cumulative probability first exceeding u.
func sample(p []float64, u float64) int {
	var c float64
	for i, v := range p {
		c += v
		if u < c {
			return i
		}
	}
	// Rounding left u ≥ Σp: take the last word with non-zero probability.
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] > 0 {
			return i
		}
	}
	return len(p) - 1
}

// RefineWith is Refine through a graph-free Scorer (MLP.Freeze): the same
// greedy deletions, with patient x̂ as a plain vector (nil when the policy
// has no patient input). Nothing is differentiated, so no graph is built.
func RefineWith(ctx context.Context, s Scorer, text encoder.TextEncoder, s0 string, patient []float32, steps int) (Result, error) {
	return RefineWithEdits(ctx, s, text, s0, patient, steps, nil)
}

// RefineWithEdits is RefineWith with replace actions (Options.Replace):
// the same greedy choices as Run with Greedy set; s must implement
// EditScores when rep offers any.
func RefineWithEdits(ctx context.Context, s Scorer, text encoder.TextEncoder, s0 string, patient []float32, steps int, rep *Replacement) (Result, error) {
	es, editable := s.(EditScores)
	var noEdits error
	if !editable {
		noEdits = fmt.Errorf("policy: replace actions need a scorer of edits (EditScores); %T does not", s)
	}
	score := func(words, edits [][]float32) ([]float64, error) {
		if edits != nil {
			return es.ScoresWithEdits(words, edits, patient)
		}
		return s.Scores(words, patient)
	}
	pl, err := play(ctx, text, s0, steps, rep, noEdits, stats.Argmax, score)
	if err != nil {
		return Result{}, err
	}
	return pl.Result, nil
}
