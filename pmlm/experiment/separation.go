package experiment

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"

	"github.com/pmlm-go/pmlm/encoder"
	"github.com/pmlm-go/pmlm/llm/lm/corpus"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/reward"
)

// SeparationConfig configures MeasureSeparation.
type SeparationConfig struct {
	// Encoders are the text encoders whose BERTScore rewards are compared
	// (the reward's settings: no idf, no rescaling); the first is the
	// baseline of the paired differences.
	Encoders []encoder.TextEncoder
	// References are the patients whose replies are the references (nil:
	// the test split).
	References []*cohort.Patient
	// Pool are the patients whose replies are the candidate answers (nil:
	// the training split).
	Pool []*cohort.Patient
	// Split gives the test and training splits of the defaults of
	// References and Pool (zero: cohort.DefaultSplit).
	Split cohort.SplitBoundaries
	// Candidates is the number of right and of wrong answers drawn per
	// reference (0: 4).
	Candidates int
	// Seeds seed the draws (nil: 1, 2, 3).
	Seeds []uint64
	// Bootstrap configures the confidence intervals.
	Bootstrap BootstrapOptions
}

// Separation is how well each reward tells an answer about the right
// diagnosis from one about a wrong diagnosis. For each reference reply,
// Candidates replies of other patients about the same diagnosis (right)
// and Candidates about another (wrong; the diagnosis a reply is about is
// read from its text by corpus.ReplyDiagnosis) are scored against it; the
// reference's AUROC is the share of (right, wrong) pairs in which the
// right answer scores higher (ties count half).
type Separation struct {
	References, Candidates int
	Seeds                  []uint64
	// Encoders holds one result per encoder, in SeparationConfig order.
	Encoders []SeparationResult
}

// SeparationResult is one encoder's separation.
type SeparationResult struct {
	// Embedder is the encoder's Name.
	Embedder string
	// AUROC is the mean over seeds of the mean per-reference AUROC, Std
	// its standard deviation over seeds, CI the cluster bootstrap
	// interval over references of the per-reference AUROC averaged over
	// the seeds.
	AUROC, Std float64
	CI         Interval
	// Gap is the mean BERTScore-F1 of right minus wrong answers.
	Gap float64
	// Diff is the paired difference in AUROC with the first encoder (0
	// for the first), DiffCI its bootstrap interval over references, and
	// SeedsBetter the number of seeds in which this encoder's AUROC is
	// higher.
	Diff        float64
	DiffCI      Interval
	SeedsBetter int
}

// MeasureSeparation measures Separation on the cohort c.
func MeasureSeparation(ctx context.Context, c *cohort.Cohort, cfg SeparationConfig) (*Separation, error) {
	if len(cfg.Encoders) == 0 {
		return nil, fmt.Errorf("%w: separation needs at least one encoder", ErrConfig)
	}
	split := cfg.Split
	if split == (cohort.SplitBoundaries{}) {
		split = cohort.DefaultSplit()
	}
	train, _, test := c.Split(split)
	refs, pool := cfg.References, cfg.Pool
	if refs == nil {
		refs = test
	}
	if pool == nil {
		pool = train
	}
	k := cfg.Candidates
	if k == 0 {
		k = 4
	}
	seeds := cfg.Seeds
	if seeds == nil {
		seeds = []uint64{1, 2, 3}
	}
	// The pool by the diagnosis its reply is about.
	byDiag := map[string][]*cohort.Patient{}
	for _, p := range pool {
		if d, ok := corpus.ReplyDiagnosis(p.Response, c.Labels); ok {
			byDiag[d] = append(byDiag[d], p)
		}
	}
	var usable []*cohort.Patient
	for _, r := range refs {
		if d, ok := corpus.ReplyDiagnosis(r.Response, c.Labels); ok && d == r.Label && len(byDiag[d]) > 0 {
			usable = append(usable, r)
		}
	}
	if len(usable) == 0 {
		return nil, fmt.Errorf("%w: no reference reply names its diagnosis, or the pool has none of them", ErrConfig)
	}
	// draws[s][i] are the right and wrong candidates of reference i.
	type draw struct{ right, wrong []string }
	draws := make([][]draw, len(seeds))
	texts := map[string]bool{}
	for s, seed := range seeds {
		rng := rand.New(rand.NewPCG(seed, 0x5e9a7a7e))
		draws[s] = make([]draw, len(usable))
		for i, r := range usable {
			var d draw
			same := byDiag[r.Label]
			var other []*cohort.Patient
			for diag, ps := range byDiag {
				if diag != r.Label {
					other = append(other, ps...)
				}
			}
			slices.SortFunc(other, func(a, b *cohort.Patient) int { return strings.Compare(a.ID, b.ID) })
			for range k {
				for {
					p := same[rng.IntN(len(same))]
					if p.ID != r.ID || len(same) == 1 {
						d.right = append(d.right, p.Response)
						break
					}
				}
				d.wrong = append(d.wrong, other[rng.IntN(len(other))].Response)
			}
			draws[s][i] = d
			for _, t := range append(append([]string{r.Response}, d.right...), d.wrong...) {
				texts[t] = true
			}
		}
	}
	distinct := make([]string, 0, len(texts))
	for t := range texts {
		distinct = append(distinct, t)
	}
	slices.Sort(distinct)

	out := &Separation{References: len(usable), Candidates: k, Seeds: seeds}
	// auroc[e][s][i] per encoder, seed, reference.
	auroc := make([][][]float64, len(cfg.Encoders))
	for e, enc := range cfg.Encoders {
		cached, err := newCachedEncoder(ctx, enc, distinct)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", enc.Name(), err)
		}
		scorer := reward.NewBERTScorer(cached, reward.BERTScoreOptions{})
		res := SeparationResult{Embedder: enc.Name()}
		auroc[e] = make([][]float64, len(seeds))
		var gap float64
		perSeed := make([]float64, len(seeds))
		for s := range seeds {
			auroc[e][s] = make([]float64, len(usable))
			for i, r := range usable {
				// One reference per call, so that a cancelled context
				// stops the measurement within one reference.
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				cands := append(append([]string{}, draws[s][i].right...), draws[s][i].wrong...)
				rl := make([][]string, len(cands))
				for j := range rl {
					rl[j] = []string{r.Response}
				}
				sc, err := scorer.Score(ctx, cands, rl)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", enc.Name(), err)
				}
				f := sc.Pairs
				var a float64
				for _, right := range f[:k] {
					for _, wrong := range f[k:] {
						switch {
						case right.F > wrong.F:
							a++
						case right.F == wrong.F:
							a += 0.5
						}
						gap += right.F - wrong.F
					}
				}
				auroc[e][s][i] = a / float64(k*k)
				perSeed[s] += auroc[e][s][i] / float64(len(usable))
			}
		}
		res.AUROC, res.Std = meanStd(perSeed)
		res.Gap = gap / float64(len(seeds)*len(usable)*k*k)
		if res.CI, err = BootstrapMean(seedMean(auroc[e]), cfg.Bootstrap); err != nil {
			return nil, err
		}
		if e > 0 {
			diffs := make([][]float64, len(seeds))
			for s := range seeds {
				diffs[s] = make([]float64, len(usable))
				var a, b float64
				for i := range usable {
					diffs[s][i] = auroc[e][s][i] - auroc[0][s][i]
					a += auroc[e][s][i]
					b += auroc[0][s][i]
				}
				if a > b {
					res.SeedsBetter++
				}
			}
			per := seedMean(diffs)
			for _, d := range per {
				res.Diff += d / float64(len(per))
			}
			if res.DiffCI, err = BootstrapMean(per, cfg.Bootstrap); err != nil {
				return nil, err
			}
		}
		out.Encoders = append(out.Encoders, res)
	}
	return out, nil
}

// seedMean averages v[s][i] over s.
func seedMean(v [][]float64) []float64 {
	out := make([]float64, len(v[0]))
	for _, row := range v {
		for i, x := range row {
			out[i] += x / float64(len(v))
		}
	}
	return out
}

func meanStd(x []float64) (mean, std float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	if len(x) < 2 {
		return mean, 0
	}
	for _, v := range x {
		std += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(std / float64(len(x)-1))
}

// Markdown renders the separation as a table.
func (s *Separation) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Reward separation: %d reference replies, %d right and %d wrong answers each, %d seed(s).\n\n",
		s.References, s.Candidates, s.Candidates, len(s.Seeds))
	b.WriteString("| encoder | AUROC (mean ± std over seeds) | 95 % CI | F1 right − wrong | Δ AUROC vs first [95 % CI] | seeds better |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for i, r := range s.Encoders {
		diff := "—"
		better := "—"
		if i > 0 {
			diff = fmt.Sprintf("%+.4f [%+.4f, %+.4f]", r.Diff, r.DiffCI.Low, r.DiffCI.High)
			better = fmt.Sprintf("%d/%d", r.SeedsBetter, len(s.Seeds))
		}
		fmt.Fprintf(&b, "| %s | %.4f ± %.4f | [%.4f, %.4f] | %.4f | %s | %s |\n",
			r.Embedder, r.AUROC, r.Std, r.CI.Low, r.CI.High, r.Gap, diff, better)
	}
	return b.String()
}

// cachedEncoder serves precomputed encodings (texts are encoded once, in
// batches when the encoder can), and encodes others on demand.
type cachedEncoder struct {
	encoder.TextEncoder
	mu   sync.Mutex
	memo map[string]*encoder.Encoded
}

// batchEncoder is implemented by encoders that embed several texts per
// call (encoder/use, encoder/bert).
type batchEncoder interface {
	EncodeBatch(ctx context.Context, texts []string) ([]*encoder.Encoded, error)
}

func newCachedEncoder(ctx context.Context, enc encoder.TextEncoder, texts []string) (*cachedEncoder, error) {
	c := &cachedEncoder{TextEncoder: enc, memo: make(map[string]*encoder.Encoded, len(texts))}
	be, ok := enc.(batchEncoder)
	const chunk = 16
	for i := 0; i < len(texts); i += chunk {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		part := texts[i:min(i+chunk, len(texts))]
		if ok {
			es, err := be.EncodeBatch(ctx, part)
			if err != nil {
				return nil, err
			}
			for j, e := range es {
				c.memo[part[j]] = e
			}
			continue
		}
		for _, t := range part {
			e, err := enc.Encode(ctx, t)
			if err != nil {
				return nil, err
			}
			c.memo[t] = e
		}
	}
	return c, nil
}

func (c *cachedEncoder) Encode(ctx context.Context, text string) (*encoder.Encoded, error) {
	c.mu.Lock()
	e, ok := c.memo[text]
	c.mu.Unlock()
	if ok {
		return e, nil
	}
	return c.TextEncoder.Encode(ctx, text)
}
