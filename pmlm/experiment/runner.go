package experiment

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/pmlm-go/pmlm/llm"
	"github.com/pmlm-go/pmlm/pmlm"
)

// Responder is an LLM to compare in table 1, with the name its rows carry.
type Responder struct {
	Name      string
	Responder llm.Responder
}

// CaseResponderName names the offline case responder, the pipeline's
// default responder, in tables.
const CaseResponderName = "case (offline)"

// Config configures a Runner.
type Config struct {
	// Train is the base training configuration of every run. Seed, K,
	// Steps, Responder, Fitted and the ablation fields are set per run; K
	// and Steps of Train (defaults 10 and 10) are those of the full method.
	Train pmlm.TrainOptions
	// Seeds are the training seeds; every number is a mean over them.
	Seeds []uint64
	// Responders are LLMs compared in table 1 besides the offline case
	// responder, which is always there and answers in every other
	// experiment.
	Responders []Responder
	// Ks and Ns are the values of figure 7's sweeps of the number of similar
	// patients and of deletion steps; n = 0 is the coarse prompt.
	Ks, Ns []int
	// Predictors are the predictors of table A1 (names for predict.New);
	// PredictorEpochs > 0 bounds the epochs of the neural ones.
	Predictors      []string
	PredictorEpochs int
	// Positions is the number of word positions of figure 6 (paper: 100).
	Positions int
	// Workers is the number of patients evaluated at once.
	Workers int
	// Progress, if set, receives a line per training and evaluation.
	Progress io.Writer
}

// ErrConfig marks an unusable Config.
var ErrConfig = errors.New("experiment: invalid configuration")

// variant is one trained and evaluated configuration.
type variant struct {
	seed           uint64
	responder      string
	noSelf, noPeer bool
	k, n           int
}

func (v variant) String() string {
	s := fmt.Sprintf("seed %d, k=%d, n=%d, responder %s", v.seed, v.k, v.n, v.responder)
	if v.noSelf {
		s += ", without SP"
	}
	if v.noPeer {
		s += ", without PP"
	}
	return s
}

// Runner runs experiments on one cohort, caching what runs share: the
// fitted predictor of each seed and the evaluation of each configuration.
// A Runner is not safe for concurrent use.
type Runner struct {
	cohort *pmlm.Cohort
	cfg    Config
	test   []*pmlm.Patient
	k, n   int

	fits  map[uint64]*pmlm.PredictorFit
	evals map[variant]*pmlm.Evaluation
	// done and planned count evaluations for the progress lines.
	done, planned int
}

// NewRunner checks cfg against the cohort and returns a Runner.
func NewRunner(c *pmlm.Cohort, cfg Config) (*Runner, error) {
	if len(cfg.Seeds) == 0 {
		return nil, fmt.Errorf("%w: no seeds", ErrConfig)
	}
	if cfg.Train.Split == (pmlm.SplitBoundaries{}) {
		cfg.Train.Split = pmlm.DefaultSplit()
	}
	if cfg.Positions <= 0 {
		cfg.Positions = 100
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 1
	}
	r := &Runner{cohort: c, cfg: cfg, k: cfg.Train.K, n: cfg.Train.Steps,
		fits: map[uint64]*pmlm.PredictorFit{}, evals: map[variant]*pmlm.Evaluation{}}
	if r.k == 0 {
		r.k = 10
	}
	if r.n == 0 {
		r.n = 10
	}
	for _, k := range cfg.Ks {
		if k < 1 {
			return nil, fmt.Errorf("%w: k = %d, want ≥ 1", ErrConfig, k)
		}
	}
	for _, n := range cfg.Ns {
		if n < 0 {
			return nil, fmt.Errorf("%w: n = %d, want ≥ 0", ErrConfig, n)
		}
	}
	for _, rs := range cfg.Responders {
		if rs.Name == "" || rs.Name == CaseResponderName || rs.Responder == nil {
			return nil, fmt.Errorf("%w: responder %q needs a distinct name and an LLM", ErrConfig, rs.Name)
		}
	}
	train, _, test := c.Split(cfg.Train.Split)
	if len(train) < 2 || len(test) == 0 {
		return nil, fmt.Errorf("%w: the split leaves %d training and %d test patients; need at least 2 and 1",
			ErrConfig, len(train), len(test))
	}
	r.test = test
	return r, nil
}

// TestPatients returns the number of test patients every evaluation uses.
func (r *Runner) TestPatients() int { return len(r.test) }

func (r *Runner) full(seed uint64) variant {
	return variant{seed: seed, responder: CaseResponderName, k: r.k, n: r.n}
}

// Plan announces the experiments about to run, so that progress lines
// count the evaluations they need (cached ones excluded); it returns that
// count.
func (r *Runner) Plan(names ...string) (int, error) {
	need := map[variant]bool{}
	for _, name := range names {
		vs, err := r.variants(name)
		if err != nil {
			return 0, err
		}
		for _, v := range vs {
			if r.evals[v] == nil {
				need[v] = true
			}
		}
	}
	r.done, r.planned = 0, len(need)
	return len(need), nil
}

// Names lists the experiments in the order "all" runs them.
func Names() []string { return []string{"table1", "table3", "fig6", "fig7", "tableA1"} }

// variants lists the configurations an experiment evaluates.
func (r *Runner) variants(name string) ([]variant, error) {
	var vs []variant
	for _, s := range r.cfg.Seeds {
		f := r.full(s)
		switch name {
		case "table1":
			vs = append(vs, f)
			for _, rs := range r.cfg.Responders {
				v := f
				v.responder = rs.Name
				vs = append(vs, v)
			}
		case "table3":
			noSelf, noPeer := f, f
			noSelf.noSelf, noPeer.noPeer = true, true
			vs = append(vs, noSelf, noPeer, f)
		case "fig6":
			vs = append(vs, f)
		case "fig7":
			vs = append(vs, f)
			for _, k := range r.cfg.Ks {
				v := f
				v.k = k
				vs = append(vs, v)
			}
			for _, n := range r.cfg.Ns {
				if n > 0 {
					v := f
					v.n = n
					vs = append(vs, v)
				}
			}
		case "tableA1":
		default:
			return nil, fmt.Errorf("%w: unknown experiment %q (want one of %v)", ErrConfig, name, Names())
		}
	}
	return vs, nil
}

func (r *Runner) logf(format string, args ...any) {
	if r.cfg.Progress != nil {
		fmt.Fprintf(r.cfg.Progress, format+"\n", args...)
	}
}

// fit returns the seed's fitted predictor, fitting it on first use.
func (r *Runner) fit(ctx context.Context, seed uint64) (*pmlm.PredictorFit, error) {
	if f := r.fits[seed]; f != nil {
		return f, nil
	}
	start := time.Now()
	opts := r.cfg.Train
	opts.Seed = seed
	f, err := pmlm.FitPredictor(ctx, r.cohort, opts)
	if err != nil {
		return nil, err
	}
	r.logf("  predictor %s fitted for seed %d in %s", f.Predictor().Name(), seed, time.Since(start).Round(time.Second))
	r.fits[seed] = f
	return f, nil
}

// evaluate trains and evaluates a configuration on the test split, once.
func (r *Runner) evaluate(ctx context.Context, v variant) (*pmlm.Evaluation, error) {
	if ev := r.evals[v]; ev != nil {
		return ev, nil
	}
	r.done++
	r.logf("[%d/%d] training and evaluating: %s", r.done, max(r.planned, r.done), v)
	start := time.Now()
	opts := r.cfg.Train
	opts.Seed, opts.K, opts.Steps = v.seed, v.k, v.n
	opts.NoSelfPersonalization, opts.NoPeerPersonalization = v.noSelf, v.noPeer
	opts.Progress = r.cfg.Progress
	if v.responder != CaseResponderName {
		i := slices.IndexFunc(r.cfg.Responders, func(rs Responder) bool { return rs.Name == v.responder })
		opts.Responder = r.cfg.Responders[i].Responder
	}
	if !v.noSelf {
		f, err := r.fit(ctx, v.seed)
		if err != nil {
			return nil, err
		}
		opts.Fitted = f
	}
	p, err := pmlm.Train(ctx, r.cohort, opts)
	if err != nil {
		return nil, fmt.Errorf("experiment: %s: %w", v, err)
	}
	ev, err := p.Evaluate(ctx, r.test, r.cfg.Workers)
	if err != nil {
		return nil, fmt.Errorf("experiment: %s: %w", v, err)
	}
	r.logf("[%d/%d] done in %s: BERTScore-F1 %.2f before, %.2f after refinement (%d test patients)",
		r.done, max(r.planned, r.done), time.Since(start).Round(time.Second), ev.Before.BERTScoreF, ev.After.BERTScoreF, ev.Patients)
	r.evals[v] = ev
	return ev, nil
}

// metricColumns are the value columns of tables 1 and 3, in the paper's
// order.
var metricColumns = []string{"BLEU-4", "ROUGE-L", "ROUGE-1", "ROUGE-2", "BERTScore-P", "BERTScore-R", "BERTScore-F1"}

func metricValues(m pmlm.Metrics) []float64 {
	return []float64{m.BLEU4, m.ROUGEL, m.ROUGE1, m.ROUGE2, m.BERTScoreP, m.BERTScoreR, m.BERTScoreF}
}

// metricStats summarizes one Metrics per seed into a Stat per column.
func metricStats(runs []pmlm.Metrics) []Stat {
	out := make([]Stat, len(metricColumns))
	for c := range out {
		xs := make([]float64, len(runs))
		for i, m := range runs {
			xs[i] = metricValues(m)[c]
		}
		out[c] = NewStat(xs)
	}
	return out
}

// perSeed evaluates the variant derived from each seed's full method by
// change and returns pick of each evaluation.
func (r *Runner) perSeed(ctx context.Context, change func(*variant), pick func(*pmlm.Evaluation) pmlm.Metrics) ([]pmlm.Metrics, error) {
	var out []pmlm.Metrics
	for _, s := range r.cfg.Seeds {
		v := r.full(s)
		change(&v)
		ev, err := r.evaluate(ctx, v)
		if err != nil {
			return nil, err
		}
		out = append(out, pick(ev))
	}
	return out, nil
}

func before(ev *pmlm.Evaluation) pmlm.Metrics { return ev.Before }
func after(ev *pmlm.Evaluation) pmlm.Metrics  { return ev.After }

// gain is after minus before, metric by metric.
func gain(ev *pmlm.Evaluation) pmlm.Metrics {
	a, b := ev.After, ev.Before
	return pmlm.Metrics{
		BLEU4: a.BLEU4 - b.BLEU4, ROUGE1: a.ROUGE1 - b.ROUGE1, ROUGE2: a.ROUGE2 - b.ROUGE2, ROUGEL: a.ROUGEL - b.ROUGEL,
		BERTScoreP: a.BERTScoreP - b.BERTScoreP, BERTScoreR: a.BERTScoreR - b.BERTScoreR, BERTScoreF: a.BERTScoreF - b.BERTScoreF,
	}
}

func (r *Runner) note() string {
	return fmt.Sprintf("Mean ± sample standard deviation over %d seed(s) (%v); %d test patients; metrics on a 0–100 scale.",
		len(r.cfg.Seeds), r.cfg.Seeds, len(r.test))
}

// Table1 compares the responses to the coarse prompt (before) and to the
// refined prompt (after) for the case responder and every configured LLM.
func (r *Runner) Table1(ctx context.Context) (*Table, error) {
	t := &Table{Name: "table1", Title: "Table 1: before and after prompt refinement, per responder",
		LabelColumns: []string{"responder", "prompt"}, ValueColumns: metricColumns}
	names := []string{CaseResponderName}
	for _, rs := range r.cfg.Responders {
		names = append(names, rs.Name)
	}
	for _, name := range names {
		for _, row := range []struct {
			label string
			pick  func(*pmlm.Evaluation) pmlm.Metrics
		}{{"before", before}, {"after", after}, {"after − before", gain}} {
			runs, err := r.perSeed(ctx, func(v *variant) { v.responder = name }, row.pick)
			if err != nil {
				return nil, err
			}
			t.Rows = append(t.Rows, Row{Labels: []string{name, row.label}, Values: metricStats(runs)})
		}
	}
	t.Notes = []string{r.note(), "after − before is the gain of each seed (paired), then its mean ± std over seeds."}
	return t, nil
}

// Table3 is the ablation: without self-informed personalization (SP),
// without peer-informed personalization (PP), without prompt refinement
// (PR: the coarse prompt's response of the full method), and the full
// method.
func (r *Runner) Table3(ctx context.Context) (*Table, error) {
	t := &Table{Name: "table3", Title: "Table 3: ablation (case responder)",
		LabelColumns: []string{"variant", "SP", "PP", "PR"}, ValueColumns: metricColumns}
	rows := []struct {
		labels []string
		change func(*variant)
		pick   func(*pmlm.Evaluation) pmlm.Metrics
	}{
		{[]string{"w/o SP", "✗", "✓", "✓"}, func(v *variant) { v.noSelf = true }, after},
		{[]string{"w/o PP", "✓", "✗", "✓"}, func(v *variant) { v.noPeer = true }, after},
		{[]string{"w/o PR", "✓", "✓", "✗"}, func(*variant) {}, before},
		{[]string{"full", "✓", "✓", "✓"}, func(*variant) {}, after},
	}
	for _, row := range rows {
		runs, err := r.perSeed(ctx, row.change, row.pick)
		if err != nil {
			return nil, err
		}
		t.Rows = append(t.Rows, Row{Labels: row.labels, Values: metricStats(runs)})
	}
	t.Notes = []string{r.note(), "w/o PR is the full method's coarse prompt, answered without refinement."}
	return t, nil
}
