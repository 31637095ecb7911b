package experiment

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pmlm-go/pmlm/llm"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/prompt"
)

// Responder is an LLM to compare, with the name its rows carry.
type Responder struct {
	Name      string
	Responder llm.Responder
	// History is the form of the lab history in this responder's general
	// prompt (the paper's figure 5); the zero value writes every
	// indicator in full. A model with a short context (the general LM)
	// reads a brief form better.
	History prompt.HistoryOptions
	// Local marks a model that runs on this machine (the offline LMs):
	// the general prompt, which carries raw lab values, goes to it
	// without Config.GeneralOptIn.
	Local bool
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
	// Default, if set, answers in every experiment (the project's general
	// LM: llm.NewGenerative over the model of pmlm.TrainLM) and heads
	// table 1; the offline case responder is then one more row of table 1.
	// Nil: the case responder answers everywhere.
	Default *Responder
	// Finetuned, if set, is table 2's fine-tuned LM (pmlm.TrainLM in mode
	// finetune), answering the general prompt in its History form; table
	// 2 compares it with PMLM over Default.
	Finetuned *Responder
	// Responders are further LLMs compared in table 1 (any langchaingo
	// model).
	Responders []Responder
	// GeneralOptIn allows the general prompt, which carries the patient's
	// raw lab values, to go to responders not marked Local. Without it
	// their table-1 rows leave the general prompt out.
	GeneralOptIn bool
	// Resamples is the number of bootstrap resamples of every interval
	// (0: DefaultResamples) and BootstrapSeed seeds them.
	Resamples     int
	BootstrapSeed uint64
	// BayesReferences is the number of training replies per diagnosis
	// behind the expected rewards of Bayes refinement (0:
	// DefaultBayesReferences); fewer are cheaper and noisier.
	BayesReferences int
	// Ks and Ns are the values of figure 7's sweeps of the number of similar
	// patients and of deletion steps; n = 0 is the coarse prompt.
	Ks, Ns []int
	// Predictors are the predictors of table A1 (names for predict.New);
	// PredictorEpochs > 0 bounds the epochs of the neural ones.
	Predictors      []string
	PredictorEpochs int
	// Positions is the number of word positions of figure 6 (paper: 100).
	Positions int
	// Refinements are REINFORCE variants that the refine experiment
	// compares with the full method (Train as given), each trained once
	// per seed with the same predictor fit.
	Refinements []Refinement
	// Workers is the number of patients evaluated at once.
	Workers int
	// Jobs is the number of configurations (and predictor-study seeds)
	// trained at once; 0 means 1. Each configuration draws its randomness
	// from its own seed, never from another job, so Jobs changes the speed
	// only: every result is the same bits for any Jobs (the policy's
	// training sums its gradients in a fixed order). Every job holds its
	// own pipeline in memory (about 1 GB on the default synthetic cohort).
	Jobs int
	// RunsDir, if set, receives every finished configuration and
	// predictor-study seed as a JSON file (every test patient's scores
	// per prompt, indexed by position in the test split, and the deletion
	// positions; no identifier, prompt or text); a later Runner with the
	// same cohort, settings and responders (by their llm.Identity)
	// reuses them instead of training again, so that an interrupted run
	// resumes where it stopped. Files of an older format are made again.
	// Results of changed code are not detected: empty the folder, or set
	// Fresh, after changing the library.
	RunsDir string
	// Fresh runs everything again, reusing nothing from RunsDir (but
	// saving there).
	Fresh bool
	// Progress, if set, receives a line per training and evaluation.
	Progress io.Writer
}

// ErrConfig marks an unusable Config.
var ErrConfig = errors.New("experiment: invalid configuration")

// Refinement is a variant of the REINFORCE training (beyond the paper)
// that the refine experiment compares with the full method: its non-zero
// fields replace those of Config.Train.
type Refinement struct {
	// Name labels the variant's rows.
	Name string
	// BaselineDecay, EntropyBonus and Actions are pmlm.TrainOptions'.
	BaselineDecay, EntropyBonus float64
	Actions                     string
	// WarmStart warm-starts the patient encoder (pmlm.TrainOptions).
	WarmStart bool
	// Episodes and Epochs, if > 0, replace Train.MaxEpisodes and
	// Train.Epochs.
	Episodes, Epochs int
	// LearningRate, if > 0, replaces Train.LearningRate (Adam's step size).
	LearningRate float64
}

// apply returns o with the refinement's settings.
func (f Refinement) apply(o pmlm.TrainOptions) pmlm.TrainOptions {
	if f.BaselineDecay != 0 {
		o.BaselineDecay = f.BaselineDecay
	}
	if f.EntropyBonus != 0 {
		o.EntropyBonus = f.EntropyBonus
	}
	if f.Actions != "" {
		o.Actions = f.Actions
	}
	o.WarmStart = o.WarmStart || f.WarmStart
	if f.Episodes > 0 {
		o.MaxEpisodes = f.Episodes
	}
	if f.Epochs > 0 {
		o.Epochs = f.Epochs
	}
	if f.LearningRate > 0 {
		o.LearningRate = f.LearningRate
	}
	return o
}

// variant is one trained and evaluated configuration.
type variant struct {
	seed           uint64
	responder      string
	noSelf, noPeer bool
	k, n           int
	// refinement is 1 + the index of a Config.Refinements entry; 0: none.
	refinement int
}

func (v variant) String() string {
	s := fmt.Sprintf("seed %d, k=%d, n=%d, responder %s", v.seed, v.k, v.n, v.responder)
	if v.refinement > 0 {
		s += fmt.Sprintf(", refinement variant %d", v.refinement)
	}
	if v.noSelf {
		s += ", without SP"
	}
	if v.noPeer {
		s += ", without PP"
	}
	return s
}

// Runner runs experiments on one cohort, caching what runs share: the
// fitted predictor of each seed and the outcome of each configuration.
// A Runner is not safe for concurrent use; it runs Config.Jobs
// configurations at once itself.
type Runner struct {
	cohort *cohort.Cohort
	cfg    Config
	train  []*cohort.Patient
	test   []*cohort.Patient
	k, n   int
	// def names the responder of every experiment (Config.Default or the
	// case responder).
	def string
	// empty counts the empty answers of the configured LLMs, scored as
	// answers without words.
	empty atomic.Int64

	store                       runStore
	trainSettings, studySetting string
	logMu                       sync.Mutex // serializes Progress lines of concurrent jobs

	mu       sync.Mutex // guards the fields below
	fits     map[uint64]*fitCell
	outcomes map[variant]*outcome
	studies  map[uint64][]PredictorScore
	// planned counts the runs (trainings and study seeds) to do, done those
	// started and finished those ended, for the progress lines; reused
	// counts the runs read from RunsDir; busy sums the wall time of the
	// finished ones, for the estimate of the time left.
	done, planned, finished, reused int
	busy                            time.Duration
	// reusedTime sums the time the reused runs took when they were made
	// (for the predictor study, its fitting times).
	reusedTime time.Duration
	// looked holds the runs already looked for in RunsDir.
	looked map[string]bool
}

// fitCell fits a seed's predictor once, however many jobs need it.
type fitCell struct {
	once sync.Once
	fit  *pmlm.PredictorFit
	err  error
}

// NewRunner checks cfg against the cohort and returns a Runner.
func NewRunner(c *cohort.Cohort, cfg Config) (*Runner, error) {
	if len(cfg.Seeds) == 0 {
		return nil, fmt.Errorf("%w: no seeds", ErrConfig)
	}
	if cfg.Train.Split == (cohort.SplitBoundaries{}) {
		cfg.Train.Split = cohort.DefaultSplit()
	}
	if cfg.Positions <= 0 {
		cfg.Positions = 100
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 1
	}
	if cfg.Jobs <= 0 {
		cfg.Jobs = 1
	}
	if cfg.BayesReferences < 0 {
		return nil, fmt.Errorf("%w: BayesReferences %d must not be negative", ErrConfig, cfg.BayesReferences)
	}
	if cfg.Train.CheckpointPath != "" {
		return nil, fmt.Errorf("%w: Train.CheckpointPath would be shared by every configuration; use RunsDir", ErrConfig)
	}
	r := &Runner{cohort: c, cfg: cfg, k: cfg.Train.K, n: cfg.Train.Steps, def: CaseResponderName, store: runStore{dir: cfg.RunsDir, fresh: cfg.Fresh},
		fits: map[uint64]*fitCell{}, outcomes: map[variant]*outcome{}, studies: map[uint64][]PredictorScore{}, looked: map[string]bool{}}
	if r.k == 0 {
		r.k = pmlm.DefaultK
	}
	if r.n == 0 {
		r.n = pmlm.DefaultSteps
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
	seen := map[string]bool{}
	for _, f := range cfg.Refinements {
		if f.Name == "" || seen[f.Name] {
			return nil, fmt.Errorf("%w: refinement variant %q needs a distinct name", ErrConfig, f.Name)
		}
		seen[f.Name] = true
		if f.BaselineDecay < 0 || f.BaselineDecay >= 1 || f.EntropyBonus < 0 || f.Episodes < 0 || f.Epochs < 0 || f.LearningRate < 0 {
			return nil, fmt.Errorf("%w: refinement variant %q: settings out of range", ErrConfig, f.Name)
		}
	}
	names := map[string]bool{CaseResponderName: true}
	for _, rs := range r.configured() {
		if rs.Name == "" || names[rs.Name] || rs.Responder == nil {
			return nil, fmt.Errorf("%w: responder %q needs a distinct name and an LLM", ErrConfig, rs.Name)
		}
		names[rs.Name] = true
	}
	if cfg.Default != nil {
		r.def = cfg.Default.Name
	}
	// Every configured LLM answers through tolerant: an empty answer
	// scores 0 instead of failing the run (counted in r.empty).
	wrap := func(rs *Responder) *Responder {
		w := *rs
		w.Responder = tolerant{inner: rs.Responder, empty: &r.empty}
		return &w
	}
	if cfg.Default != nil {
		r.cfg.Default = wrap(cfg.Default)
	}
	if cfg.Finetuned != nil {
		r.cfg.Finetuned = wrap(cfg.Finetuned)
	}
	r.cfg.Responders = make([]Responder, len(cfg.Responders))
	for i := range cfg.Responders {
		r.cfg.Responders[i] = *wrap(&cfg.Responders[i])
	}
	if cfg.Finetuned != nil && cfg.Default == nil {
		return nil, fmt.Errorf("%w: a fine-tuned LM (table 2) is compared with PMLM over the general LM: set Default too", ErrConfig)
	}
	if _, err := (BootstrapOptions{Resamples: cfg.Resamples}).withDefaults(); err != nil {
		return nil, err
	}
	train, _, test := c.Split(cfg.Train.Split)
	if len(train) < 2 || len(test) == 0 {
		return nil, fmt.Errorf("%w: the split leaves %d training and %d test patients; need at least 2 and 1",
			ErrConfig, len(train), len(test))
	}
	r.train, r.test = train, test
	var err error
	if r.trainSettings, r.studySetting, err = settingsOf(c, len(test), cfg); err != nil {
		return nil, err
	}
	return r, nil
}

// TestPatients returns the number of test patients every evaluation uses.
func (r *Runner) TestPatients() int { return len(r.test) }

func (r *Runner) full(seed uint64) variant {
	return variant{seed: seed, responder: r.def, k: r.k, n: r.n}
}

// isFull reports whether v is the full method of its seed, with any
// responder: the configuration whose answers table 1 compares with the
// baseline prompts.
func (r *Runner) isFull(v variant) bool {
	f := r.full(v.seed)
	f.responder = v.responder
	return v == f
}

// configured lists the responders of the Config: Default, Finetuned and
// Responders.
func (r *Runner) configured() []Responder {
	var out []Responder
	for _, rs := range []*Responder{r.cfg.Default, r.cfg.Finetuned} {
		if rs != nil {
			out = append(out, *rs)
		}
	}
	return append(out, r.cfg.Responders...)
}

// responder returns the configured responder of that name; nil for the
// case responder, which every pipeline builds itself.
func (r *Runner) responder(name string) *Responder {
	if d := r.cfg.Default; d != nil && d.Name == name {
		return d
	}
	for i := range r.cfg.Responders {
		if r.cfg.Responders[i].Name == name {
			return &r.cfg.Responders[i]
		}
	}
	return nil
}

// table1Responders names the responders of table 1 in row order: the
// default one, the case responder (if not the default), the others.
func (r *Runner) table1Responders() []string {
	names := []string{r.def}
	if r.def != CaseResponderName {
		names = append(names, CaseResponderName)
	}
	for _, rs := range r.cfg.Responders {
		names = append(names, rs.Name)
	}
	return names
}

// generalAllowed reports whether the general prompt, which carries raw lab
// values, may go to the named responder: the case responder and local
// models, others only with Config.GeneralOptIn.
func (r *Runner) generalAllowed(name string) bool {
	rs := r.responder(name)
	return rs == nil || rs.Local || r.cfg.GeneralOptIn
}

// withControls reports whether v's evaluation also answers the controls
// (random deletions, x̂ = 0) and table 2's fine-tuned LM: the full method
// of the default responder.
func (r *Runner) withControls(v variant) bool { return v == r.full(v.seed) }

// runName names a configuration's saved run: the variant, the identity
// of its responder and of what its evaluation also asks, so that a
// retrained LM is never mistaken for the one a saved run used.
func (r *Runner) runName(v variant) string {
	s := v.String()
	if v.refinement > 0 {
		b, _ := json.Marshal(r.cfg.Refinements[v.refinement-1])
		s += " " + string(b)
	}
	if rs := r.responder(v.responder); rs != nil {
		s += "; " + identity(rs.Responder)
	}
	if r.isFull(v) {
		s += "; baselines: task only"
		if r.generalAllowed(v.responder) {
			s += ", general prompt " + historyForm(r.historyOf(v.responder))
		}
	}
	if r.withControls(v) {
		s += fmt.Sprintf("; controls: random deletions, x̂ = 0; Bayes refinement (%d replies per diagnosis) and its prior-belief control", r.bayesReferences())
		if ft := r.cfg.Finetuned; ft != nil {
			s += "; fine-tuned " + identity(ft.Responder) + " on the general prompt " + historyForm(ft.History)
		}
	}
	return s
}

// historyOf is the form of the general prompt for the named responder.
func (r *Runner) historyOf(name string) prompt.HistoryOptions {
	if rs := r.responder(name); rs != nil {
		return rs.History
	}
	return prompt.HistoryOptions{}
}

func identity(resp llm.Responder) string {
	if id, ok := resp.(llm.Identified); ok {
		b, err := json.Marshal(id.Identity())
		if err == nil {
			return string(b)
		}
	}
	return fmt.Sprintf("%T", resp)
}

// historyForm describes a general prompt's form in a few words.
func historyForm(h prompt.HistoryOptions) string {
	s := "(all indicators"
	if len(h.Only) > 0 {
		s = "(" + strings.Join(h.Only, ",")
	}
	if h.Brief {
		s += ", brief"
	}
	return s + ")"
}

// Plan announces the experiments about to run, so that progress lines
// count the trainings they need, and reads what Config.RunsDir already
// holds of them. It returns the number of configurations and
// predictor-study seeds left to run.
func (r *Runner) Plan(names ...string) (int, error) {
	vs, seeds, err := r.needed(r.expand(names))
	if err != nil {
		return 0, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done, r.planned = 0, len(vs)+len(seeds)
	return r.planned, nil
}

// needed lists the configurations and predictor-study seeds the named
// experiments need that are not known yet, after reading Config.RunsDir;
// configurations come grouped by seed, so that jobs share a seed's
// predictor fit soon after it is made.
func (r *Runner) needed(names []string) ([]variant, []uint64, error) {
	var vs []variant
	seen := map[variant]bool{}
	var seeds []uint64
	for _, name := range names {
		if name == "tableA1" {
			seeds = r.cfg.Seeds
		}
		all, err := r.variants(name)
		if err != nil {
			return nil, nil, err
		}
		for _, v := range all {
			if !seen[v] {
				seen[v] = true
				vs = append(vs, v)
			}
		}
	}
	slices.SortStableFunc(vs, func(a, b variant) int { return cmp.Compare(a.seed, b.seed) })
	r.mu.Lock()
	defer r.mu.Unlock()
	vs = slices.DeleteFunc(vs, func(v variant) bool {
		if r.outcomes[v] == nil {
			if sr := r.loadSaved(r.trainSettings, r.runName(v)); sr != nil && sr.Outcome != nil {
				r.outcomes[v] = sr.Outcome
			}
		}
		return r.outcomes[v] != nil
	})
	seeds = slices.DeleteFunc(slices.Clone(seeds), func(s uint64) bool {
		if r.studies[s] == nil {
			if sr := r.loadSaved(r.studySetting, studyRun(s)); sr != nil && sr.Study != nil {
				r.studies[s] = sr.Study
			}
		}
		return r.studies[s] != nil
	})
	return vs, seeds, nil
}

// loadSaved reads a run from Config.RunsDir the first time it is asked
// for (Plan and Run both ask), counts it as reused, and reports a file
// that cannot be reused; r.mu must be held.
func (r *Runner) loadSaved(settings, run string) *savedRun {
	if r.looked[run] {
		return nil
	}
	r.looked[run] = true
	sr, err := r.store.load(settings, run)
	if err != nil {
		r.logf("not reusing a saved run: %v", err)
	}
	if sr != nil {
		r.reused++
		r.reusedTime += sr.took()
	}
	return sr
}

// Reused returns the number of configurations and predictor-study seeds
// read from Config.RunsDir instead of run, and the time they took when
// they were made, summed over them (for a predictor-study seed, the
// predictors' fitting time).
func (r *Runner) Reused() (int, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reused, r.reusedTime
}

// prepare runs every configuration and predictor-study seed the named
// experiments need, Config.Jobs at a time.
func (r *Runner) prepare(ctx context.Context, names []string) error {
	vs, seeds, err := r.needed(names)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.cfg.Jobs)
	for _, v := range vs {
		g.Go(func() error {
			_, err := r.evaluate(gctx, v)
			return err
		})
	}
	for _, s := range seeds {
		g.Go(func() error {
			_, err := r.study(gctx, s)
			return err
		})
	}
	return g.Wait()
}

// Names lists the experiments in the order "all" runs them, then
// "refine", which "all" leaves out (it studies the REINFORCE trainer, and
// table 1 holds its comparisons). Table 2 needs Config.Finetuned; "all"
// leaves it out without one.
func Names() []string {
	return []string{"table1", "table2", "headroom", "table3", "fig6", "fig7", "tableA1", "refine"}
}

// expand replaces "all" by the experiments this Runner can run.
func (r *Runner) expand(names []string) []string {
	if !slices.Contains(names, "all") {
		return names
	}
	out := slices.DeleteFunc(Names(), func(n string) bool { return n == "refine" })
	if r.cfg.Finetuned == nil {
		out = slices.DeleteFunc(out, func(n string) bool { return n == "table2" })
	}
	if r.cfg.Default == nil {
		// The headroom is measured with a language model; the case
		// responder lives inside each trained pipeline.
		out = slices.DeleteFunc(out, func(n string) bool { return n == "headroom" })
	}
	return out
}

// variants lists the configurations an experiment evaluates.
func (r *Runner) variants(name string) ([]variant, error) {
	var vs []variant
	for _, s := range r.cfg.Seeds {
		f := r.full(s)
		switch name {
		case "table1":
			for _, name := range r.table1Responders() {
				v := f
				v.responder = name
				vs = append(vs, v)
			}
		case "table2":
			if r.cfg.Finetuned == nil {
				return nil, fmt.Errorf("%w: table 2 needs a fine-tuned LM (Config.Finetuned)", ErrConfig)
			}
			vs = append(vs, f)
		case "table3":
			noSelf, noPeer := f, f
			noSelf.noSelf, noPeer.noPeer = true, true
			vs = append(vs, noSelf, noPeer, f)
		case "fig6":
			vs = append(vs, f)
		case "refine":
			vs = append(vs, f)
			for i := range r.cfg.Refinements {
				v := f
				v.refinement = i + 1
				vs = append(vs, v)
			}
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
		case "tableA1", "headroom": // no trained configuration
		default:
			return nil, fmt.Errorf("%w: unknown experiment %q (want one of %v)", ErrConfig, name, Names())
		}
	}
	return vs, nil
}

func (r *Runner) logf(format string, args ...any) {
	if r.cfg.Progress != nil {
		r.logMu.Lock()
		defer r.logMu.Unlock()
		fmt.Fprintf(r.cfg.Progress, format+"\n", args...)
	}
}

// fit returns the seed's fitted predictor, fitting it on first use; jobs
// that need it meanwhile wait for that fit.
func (r *Runner) fit(ctx context.Context, seed uint64) (*pmlm.PredictorFit, error) {
	r.mu.Lock()
	cell := r.fits[seed]
	if cell == nil {
		cell = &fitCell{}
		r.fits[seed] = cell
	}
	r.mu.Unlock()
	cell.once.Do(func() {
		start := time.Now()
		opts := r.cfg.Train
		opts.Seed = seed
		cell.fit, cell.err = pmlm.FitPredictor(ctx, r.cohort, opts)
		if cell.err == nil {
			r.logf("  predictor %s fitted for seed %d in %s", cell.fit.Predictor().Name(), seed, time.Since(start).Round(time.Second))
		}
	})
	if cell.err != nil {
		// Forget a failed fit (a cancelled context, say), so that a later
		// Run of this Runner tries again.
		r.mu.Lock()
		if r.fits[seed] == cell {
			delete(r.fits, seed)
		}
		r.mu.Unlock()
	}
	return cell.fit, cell.err
}

// evaluate trains and evaluates a configuration on the test split, once,
// and saves its outcome in Config.RunsDir.
func (r *Runner) evaluate(ctx context.Context, v variant) (*outcome, error) {
	r.mu.Lock()
	if o := r.outcomes[v]; o != nil {
		r.mu.Unlock()
		return o, nil
	}
	r.done++
	nth, planned := r.done, max(r.planned, r.done)
	r.mu.Unlock()
	r.logf("[%d/%d] training and evaluating: %s", nth, planned, v)
	start := time.Now()
	opts := r.cfg.Train
	opts.Seed, opts.K, opts.Steps = v.seed, v.k, v.n
	opts.NoSelfPersonalization, opts.NoPeerPersonalization = v.noSelf, v.noPeer
	if v.refinement > 0 {
		opts = r.cfg.Refinements[v.refinement-1].apply(opts)
	}
	if r.cfg.Jobs == 1 {
		// The trainer's own progress bar; with several jobs their bars
		// would interleave, and the runner's lines suffice.
		opts.Progress = r.cfg.Progress
	}
	if rs := r.responder(v.responder); rs != nil {
		opts.Responder = rs.Responder
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
	o, err := r.answer(ctx, p, v)
	if err != nil {
		return nil, fmt.Errorf("experiment: %s: %w", v, err)
	}
	took := time.Since(start)
	o.Seconds = took.Seconds()
	if sum := p.TrainingReport(); len(sum.Epochs) > 0 {
		o.Training = &sum
	}
	if err := r.store.save(&savedRun{Settings: r.trainSettings, Run: r.runName(v), Outcome: o}); err != nil {
		return nil, fmt.Errorf("experiment: saving %s: %w", v, err)
	}
	left := r.finish(took, func() { r.outcomes[v] = o })
	if n := r.empty.Load(); n > 0 {
		left += fmt.Sprintf("\n  %d empty LLM answer(s) so far, scored as answers without words", n)
	}
	r.logf("[%d/%d] done in %s: BERTScore-F1 %.2f coarse, %.2f refined (%d test patients)%s",
		nth, planned, took.Round(time.Second), o.scores(promptCoarse).BERTScoreF, o.scores(promptRefined).BERTScoreF, o.Patients, left)
	return o, nil
}

// finish records a run that took took (record stores its result under
// r.mu) and returns the progress bar and estimate of the time left.
func (r *Runner) finish(took time.Duration, record func()) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	record()
	r.finished++
	r.busy += took
	return r.progress()
}

// progress returns the progress bar of the planned runs and the estimate
// of the time they still need, from the mean of those finished shared
// among the jobs; r.mu must be held.
func (r *Runner) progress() string {
	const width = 20
	filled := 0
	if r.planned > 0 {
		filled = min(width, width*r.finished/r.planned)
	}
	out := fmt.Sprintf("\n  [%s%s] %d of %d finished", strings.Repeat("#", filled), strings.Repeat("-", width-filled), r.finished, max(r.planned, r.finished))
	// Runs not started yet, plus those running, counted as half done.
	rest := float64(r.planned-r.done) + float64(r.done-r.finished)/2
	if r.finished == 0 || rest <= 0 {
		return out
	}
	mean := r.busy.Seconds() / float64(r.finished)
	left := time.Duration(mean * rest / float64(r.cfg.Jobs) * float64(time.Second))
	switch {
	case left < time.Second:
		return out
	case left < 10*time.Minute:
		left = left.Round(time.Second)
	default:
		left = left.Round(time.Minute)
	}
	return out + fmt.Sprintf(", about %s left", left)
}

// metricColumns are the value columns of tables 1 and 3, in the paper's
// order.
var metricColumns = []string{"BLEU-4", "ROUGE-L", "ROUGE-1", "ROUGE-2", "BERTScore-P", "BERTScore-R", "BERTScore-F1"}

func metricValues(m pmlm.Scores) []float64 {
	return []float64{m.BLEU4, m.ROUGEL, m.ROUGE1, m.ROUGE2, m.BERTScoreP, m.BERTScoreR, m.BERTScoreF}
}

// metricStats summarizes one Metrics per seed into a Stat per column.
func metricStats(runs []pmlm.Scores) []Stat {
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
func (r *Runner) perSeed(ctx context.Context, change func(*variant), pick func(*outcome) pmlm.Scores) ([]pmlm.Scores, error) {
	var out []pmlm.Scores
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

// eachSeed returns, per seed, the per-patient scores of the prompt's
// answers in the variant derived from the seed's full method by change.
func (r *Runner) eachSeed(ctx context.Context, change func(*variant), prompt string) ([][]pmlm.PatientScore, error) {
	var out [][]pmlm.PatientScore
	for _, s := range r.cfg.Seeds {
		v := r.full(s)
		change(&v)
		o, err := r.evaluate(ctx, v)
		if err != nil {
			return nil, err
		}
		each, ok := o.Each[prompt]
		if !ok {
			return nil, fmt.Errorf("experiment: %s: no %s answers", v, prompt)
		}
		out = append(out, each)
	}
	return out, nil
}

// meanRow summarizes per-seed per-patient scores as a row of mean ± std
// over seeds.
func meanRow(labels []string, each [][]pmlm.PatientScore) Row {
	runs := make([]pmlm.Scores, len(each))
	for i, e := range each {
		runs[i] = pmlm.AggregateScores(e)
	}
	return Row{Labels: labels, Values: metricStats(runs)}
}

func (r *Runner) bootstrapOptions() BootstrapOptions {
	return BootstrapOptions{Resamples: r.cfg.Resamples, Seed: r.cfg.BootstrapSeed}
}

// diffRow is the paired difference a − b with its interval.
func (r *Runner) diffRow(labels []string, a, b [][]pmlm.PatientScore) (Row, error) {
	vals, err := pairedDifference(a, b, r.bootstrapOptions())
	if err != nil {
		return Row{}, err
	}
	return Row{Labels: labels, Values: vals}, nil
}

func picker(prompt string) func(*outcome) pmlm.Scores {
	return func(o *outcome) pmlm.Scores { return o.scores(prompt) }
}

func (r *Runner) note() string {
	return fmt.Sprintf("Mean ± sample standard deviation over %d seed(s) (%v); %d test patients; metrics on a 0–100 scale.",
		len(r.cfg.Seeds), r.cfg.Seeds, len(r.test))
}

func (r *Runner) diffNote() string {
	return fmt.Sprintf("A − B rows: each seed's difference of the aggregated scores (paired: the same test patients and trained pipeline), "+
		"mean ± std over seeds; [low, high] is the 95 %% paired cluster-bootstrap interval over test patients (each patient's difference "+
		"averaged over the seeds, then the %d patients resampled with replacement %d times; BLEU-4 recomputed as corpus BLEU of each "+
		"resample); k/N counts the seeds whose difference is positive.", len(r.test), BootstrapOptions{Resamples: r.cfg.Resamples}.resamples())
}

// Table1 compares, per responder, the answers to the task alone (no
// patient information), to the paper's general evaluation prompt (task and
// lab history), to PMLM's coarse prompt and to the refined prompt, with the
// paired differences coarse − general and refined − coarse. For the
// default responder it adds the controls: as many words deleted at random,
// and the trained policy with the patient encoding x̂ zeroed, each against
// the refined prompt, and refinement by minimum Bayes risk
// (pmlm.BayesRefiner, beyond the paper) against the coarse and refined
// prompts.
func (r *Runner) Table1(ctx context.Context) (*Table, error) {
	t := &Table{Name: "table1", Title: "Table 1: the general prompt and PMLM's coarse and refined prompts, per responder",
		LabelColumns: []string{"responder", "prompt"}, ValueColumns: metricColumns}
	var notes []string
	for _, name := range r.table1Responders() {
		of := func(v *variant) { v.responder = name }
		get := func(prompt string) ([][]pmlm.PatientScore, error) { return r.eachSeed(ctx, of, prompt) }
		rows := []string{promptTask, promptCoarse, promptRefined}
		if r.generalAllowed(name) {
			rows = []string{promptTask, promptGeneral, promptCoarse, promptRefined}
		} else {
			notes = append(notes, fmt.Sprintf("%s: no general prompt, which carries raw lab values: it is an external LLM and the run did not opt in (--general-prompt-opt-in).", name))
		}
		each := map[string][][]pmlm.PatientScore{}
		for _, pr := range rows {
			e, err := get(pr)
			if err != nil {
				return nil, err
			}
			each[pr] = e
			t.Rows = append(t.Rows, meanRow([]string{name, pr}, e))
		}
		diffs := [][2]string{{promptRefined, promptCoarse}}
		if each[promptGeneral] != nil {
			diffs = [][2]string{{promptCoarse, promptGeneral}, {promptRefined, promptCoarse}}
		}
		if name == r.def {
			for _, pr := range []string{promptRandom, promptZero, promptBayes, promptBayesPrior} {
				e, err := get(pr)
				if err != nil {
					return nil, err
				}
				each[pr] = e
				t.Rows = append(t.Rows, meanRow([]string{name, controlLabel(pr)}, e))
			}
			diffs = append(diffs, [2]string{promptRefined, promptRandom}, [2]string{promptRefined, promptZero},
				[2]string{promptBayes, promptCoarse}, [2]string{promptBayes, promptRefined}, [2]string{promptBayes, promptBayesPrior})
		}
		for _, d := range diffs {
			row, err := r.diffRow([]string{name, d[0] + " − " + d[1]}, each[d[0]], each[d[1]])
			if err != nil {
				return nil, err
			}
			t.Rows = append(t.Rows, row)
		}
	}
	t.Notes = append([]string{r.note(), r.diffNote(),
		"task only: the task without any patient information; general: the paper's evaluation prompt (figure 5: the task and the patient's lab history, raw values); " +
			"coarse: PMLM's personalized prompt without refinement (table 3's w/o PR); refined: PMLM. " +
			fmt.Sprintf("Controls (default responder only): %d words deleted uniformly at random (seeded per seed and patient) instead of by the policy, and the trained policy fed x̂ = 0 instead of the patient's encoding. "+
				"refined (Bayes), beyond the paper (default responder only): instead of the policy, the candidate prompt (the coarse one, each named diagnosis kept alone, each deleted, within n words) "+
				"whose answer has the highest expected BERTScore-F1 under the predictor's probabilities, an answer's score under a diagnosis estimated against %d training replies of that diagnosis (pmlm.BayesRefiner); "+
				"its control, prior belief: the same choice with the training split's diagnosis frequencies as every patient's belief (what Bayes refinement gains over it is personalization).", r.n, r.bayesReferences())},
		notes...)
	if h := r.historyOf(r.def); r.def != CaseResponderName {
		t.Notes = append(t.Notes, fmt.Sprintf("The general prompt of %s writes the lab history %s.", r.def, historyForm(h)))
	}
	return t, nil
}

// controlLabel labels a control's row of table 1 and the refine table;
// Bayes refinement is a method beside the policy, not a control.
func controlLabel(prompt string) string {
	if prompt == promptBayes {
		return prompt
	}
	return "control: " + prompt
}

// Table2 compares the fine-tuned LM (Config.Finetuned, answering the
// general prompt with the lab history) with PMLM over the general LM
// (Config.Default, the refined prompt), with their paired difference.
func (r *Runner) Table2(ctx context.Context) (*Table, error) {
	ft := r.cfg.Finetuned
	if ft == nil {
		return nil, fmt.Errorf("%w: table 2 needs a fine-tuned LM (Config.Finetuned)", ErrConfig)
	}
	t := &Table{Name: "table2", Title: "Table 2: a fine-tuned LM beside PMLM over the general LM",
		LabelColumns: []string{"model", "prompt"}, ValueColumns: metricColumns}
	same := func(*variant) {}
	tuned, err := r.eachSeed(ctx, same, promptFinetuned)
	if err != nil {
		return nil, err
	}
	pmlmEach, err := r.eachSeed(ctx, same, promptRefined)
	if err != nil {
		return nil, err
	}
	pmlmName := "PMLM (" + r.def + ")"
	general := "general " + historyForm(ft.History)
	diff, err := r.diffRow([]string{pmlmName + " − " + ft.Name, "refined − " + general}, pmlmEach, tuned)
	if err != nil {
		return nil, err
	}
	t.Rows = []Row{meanRow([]string{ft.Name, general}, tuned), meanRow([]string{pmlmName, promptRefined}, pmlmEach), diff}
	t.Notes = []string{r.note(), r.diffNote(),
		"The fine-tuned LM was trained once (its scores do not vary with the seed); it reads raw lab values and runs locally. " +
			"PMLM's prompt carries no lab values."}
	return t, nil
}

// Table3 is the ablation: without self-informed personalization (SP),
// without peer-informed personalization (PP), without prompt refinement
// (PR: the coarse prompt's response of the full method), and the full
// method.
func (r *Runner) Table3(ctx context.Context) (*Table, error) {
	t := &Table{Name: "table3", Title: "Table 3: ablation (" + r.def + ")",
		LabelColumns: []string{"variant", "SP", "PP", "PR"}, ValueColumns: metricColumns}
	rows := []struct {
		labels []string
		change func(*variant)
		pick   func(*outcome) pmlm.Scores
	}{
		{[]string{"w/o SP", "✗", "✓", "✓"}, func(v *variant) { v.noSelf = true }, picker(promptRefined)},
		{[]string{"w/o PP", "✓", "✗", "✓"}, func(v *variant) { v.noPeer = true }, picker(promptRefined)},
		{[]string{"w/o PR", "✓", "✓", "✗"}, func(*variant) {}, picker(promptCoarse)},
		{[]string{"full", "✓", "✓", "✓"}, func(*variant) {}, picker(promptRefined)},
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
