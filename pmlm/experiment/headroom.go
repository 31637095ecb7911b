package experiment

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/pmlm-go/pmlm/encoder/wordvec"
	"github.com/pmlm-go/pmlm/llm"
	"github.com/pmlm-go/pmlm/llm/lm/corpus"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/prompt"
	"github.com/pmlm-go/pmlm/reward"
)

// HeadroomConfig configures Headroom.
type HeadroomConfig struct {
	// Train holds the prompt builder's options (Seed, K, predictor,
	// encoder), as for pmlm.NewPromptBuilder; its Responder is not used.
	Train pmlm.TrainOptions
	// Responder answers the prompts (required): the responder whose
	// headroom is measured.
	Responder llm.Responder
	// Scorer is the reward's BERTScore (nil: over the embedded word
	// vectors, the pipeline's default).
	Scorer *reward.BERTScorer
	// Steps is the deletion budget n (0: pmlm.DefaultSteps).
	Steps int
	// Probes is the number of random single-word deletions tried per
	// patient (0: 5; negative: none).
	Probes int
	// Patients are the patients measured (nil: the validation split).
	Patients []*cohort.Patient
	// Workers is the number of patients measured at once (0: 2).
	Workers int
	// Seed seeds the probes and the bootstrap.
	Seed uint64
	// BayesReferences is the number of training replies per diagnosis
	// behind the Bayes rule's expected rewards (0:
	// DefaultBayesReferences).
	BayesReferences int
	// Bootstrap configures the confidence intervals.
	Bootstrap BootstrapOptions
}

// Headroom is what refinement by deletion can gain at most with a
// responder, measured by an oracle that knows the true diagnosis: no
// policy can gain where the oracle cannot.
type Headroom struct {
	// Patients measured and the deletion budget.
	Patients, Steps int
	// BayesReferences is the number of training replies per diagnosis
	// behind the Bayes rule's expected rewards.
	BayesReferences int
	// Coarse is the mean BERTScore-F1 (0–100) of the coarse prompts'
	// answers.
	Coarse float64
	// Oracle is the mean BERTScore-F1 of the best prompt the oracle
	// reaches: the coarse prompt with the words of the wrong diagnoses
	// deleted, one diagnosis after the other (the predicted label first
	// when it is wrong, then the similar patients' wrong labels, most
	// frequent first), within the budget, taking the best of these
	// prompts and the coarse one.
	Oracle float64
	// Gain is Oracle − Coarse per patient, its mean and 95 % interval
	// (bootstrap over patients).
	Gain     float64
	GainCI   Interval
	Improved int // patients whose oracle answer scores higher than the coarse one
	// FixedGain is the gain of deleting every wrong diagnosis's words
	// within the budget, without choosing the best prefix (a fixed rule
	// that can lose).
	FixedGain   float64
	FixedGainCI Interval
	// Changed of Probed random single-word deletions changed the answer.
	Changed, Probed int
	// CoarseRight and OracleRight count the answers about the patient's
	// true diagnosis (corpus.ReplyDiagnosis).
	CoarseRight, OracleRight int
	// Rules are the gains of fixed deletion rules that see only what
	// PMLM knows without the truth (the predicted label and its
	// probabilities, the similar patients' labels with their counts), in
	// the order of DeletionRules: what is reachable without knowing the
	// diagnosis, by rules a policy could learn.
	Rules []RuleGain
	// Bayes is the gain of refinement by minimum Bayes risk with the
	// predictor's probabilities (pmlm.BayesRefiner, beyond the paper): a
	// truth-free choice among deletions of whole diagnoses, the coarse
	// prompt among them.
	Bayes RuleGain
	// Embedder names the BERTScore's token embeddings.
	Embedder string
}

// RuleGain is one deletion rule's gain over the coarse prompt.
type RuleGain struct {
	// Name describes the rule.
	Name string
	// Gain is the rule's BERTScore-F1 − the coarse prompt's, the mean over
	// patients with its 95 % bootstrap interval.
	Gain float64
	CI   Interval
	// Improved and Worsened count the patients whose answer scores higher
	// and lower than the coarse one's.
	Improved, Worsened int
	// Right counts the answers about the patient's true diagnosis.
	Right int
}

// DeletionRule is a fixed refinement that uses only what PMLM knows of a
// patient without the truth (the coarse prompt's parts and the
// predictor's probabilities, labels giving their order): it names the
// diagnoses whose words to delete, in order (pmlm.DeletionPrompts applies
// them within the budget).
type DeletionRule struct {
	// Name describes the rule in a table row.
	Name string
	// Delete returns the diagnoses to delete from c's prompt, in order;
	// labels is the cohort's label set, the order of c.Probabilities.
	Delete func(c pmlm.Coarse, labels []string) []string
}

// DeletionRules are the truth-free rules Headroom measures beside the
// oracle. Between them they ask which of the prompt's two sources of
// diagnoses the answer should follow (the predictor's label or the
// similar patients' labels), and whether the predictor's probabilities
// tell the wrong diagnoses apart.
func DeletionRules() []DeletionRule {
	majority := func(c pmlm.Coarse) string {
		if len(c.Similar) == 0 {
			return ""
		}
		return c.Similar[0].Label // most frequent first (prompt.FromNeighbors)
	}
	others := func(c pmlm.Coarse, keep string) []string {
		var out []string
		if c.PredictedLabel != keep {
			out = append(out, c.PredictedLabel)
		}
		for _, s := range c.Similar {
			if s.Label != keep && s.Label != c.PredictedLabel {
				out = append(out, s.Label)
			}
		}
		return out
	}
	return []DeletionRule{
		{"keep only the predicted diagnosis", func(c pmlm.Coarse, _ []string) []string { return others(c, c.PredictedLabel) }},
		{"keep only the similar patients' most frequent diagnosis", func(c pmlm.Coarse, _ []string) []string { return others(c, majority(c)) }},
		{"delete the predicted diagnosis where the similar patients' most frequent one differs", func(c pmlm.Coarse, _ []string) []string {
			if m := majority(c); m != "" && m != c.PredictedLabel {
				return []string{c.PredictedLabel}
			}
			return nil
		}},
		{"delete the similar patients' diagnoses named once (not the predicted one)", func(c pmlm.Coarse, _ []string) []string {
			var out []string
			for _, s := range c.Similar {
				if s.Count == 1 && s.Label != c.PredictedLabel {
					out = append(out, s.Label)
				}
			}
			return out
		}},
		{"delete the diagnoses the predictor gives less than 5 %", unlikely(0.05)},
		{"delete the diagnoses the predictor gives less than 20 %", unlikely(0.2)},
	}
}

// unlikely is the rule that deletes the diagnoses named in the prompt
// whose predicted probability is below tau, least likely first; it
// deletes nothing without probabilities.
func unlikely(tau float64) func(pmlm.Coarse, []string) []string {
	return func(c pmlm.Coarse, labels []string) []string {
		if len(c.Probabilities) != len(labels) {
			return nil
		}
		prob := make(map[string]float64, len(labels))
		for i, l := range labels {
			prob[l] = c.Probabilities[i]
		}
		var out []string
		seen := map[string]bool{}
		for _, l := range append([]string{c.PredictedLabel}, similarLabels(c)...) {
			if p, ok := prob[l]; ok && p < tau && !seen[l] {
				seen[l] = true
				out = append(out, l)
			}
		}
		slices.SortStableFunc(out, func(a, b string) int { return cmp.Compare(prob[a], prob[b]) })
		return out
	}
}

// similarLabels lists the similar patients' labels, most frequent first.
func similarLabels(c pmlm.Coarse) []string {
	out := make([]string, len(c.Similar))
	for i, s := range c.Similar {
		out[i] = s.Label
	}
	return out
}

// ErrHeadroom is returned when the headroom cannot be measured.
var ErrHeadroom = errors.New("experiment: headroom")

// MeasureHeadroom measures the headroom of refinement with a responder on
// a cohort: for each patient, the answer to the coarse prompt, the answers
// after the oracle's deletions, and the answers after single random
// deletions.
func MeasureHeadroom(ctx context.Context, c *cohort.Cohort, cfg HeadroomConfig) (*Headroom, error) {
	if c == nil || cfg.Responder == nil {
		return nil, fmt.Errorf("%w: a cohort and a responder are required", ErrHeadroom)
	}
	steps := cfg.Steps
	if steps == 0 {
		steps = pmlm.DefaultSteps
	}
	probes := cfg.Probes
	if probes == 0 {
		probes = 5
	}
	if steps < 0 || cfg.Workers < 0 || cfg.BayesReferences < 0 {
		return nil, fmt.Errorf("%w: steps %d, workers %d and Bayes references %d must not be negative",
			ErrHeadroom, cfg.Steps, cfg.Workers, cfg.BayesReferences)
	}
	references := cmp.Or(cfg.BayesReferences, DefaultBayesReferences)
	patients := cfg.Patients
	if patients == nil {
		split := cfg.Train.Split
		if split == (cohort.SplitBoundaries{}) {
			split = cohort.DefaultSplit()
		}
		_, patients, _ = c.Split(split)
	}
	if len(patients) == 0 {
		return nil, fmt.Errorf("%w: no patients to measure (the validation split is empty)", ErrHeadroom)
	}
	scorer := cfg.Scorer
	if scorer == nil {
		wv, err := wordvec.Default()
		if err != nil {
			return nil, err
		}
		scorer = reward.NewBERTScorer(wv, reward.BERTScoreOptions{})
	}
	b, err := pmlm.NewPromptBuilder(ctx, c, cfg.Train)
	if err != nil {
		return nil, err
	}
	bayes, err := headroomBayes(c, cfg.Train.Split, scorer, pmlm.BayesOptions{References: references, Steps: steps, Seed: cfg.Seed})
	if err != nil {
		return nil, err
	}
	results := make([]patientHeadroom, len(patients))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(cfg.Workers, 2))
	var mu sync.Mutex
	embedder := ""
	for i, p := range patients {
		g.Go(func() error {
			r, emb, err := headroomOf(gctx, b, bayes, c.Labels, p, cfg.Responder, scorer, steps, probes, cfg.Seed, uint64(i))
			if err != nil {
				return fmt.Errorf("patient %d of %d: %w", i+1, len(patients), err)
			}
			results[i] = r
			mu.Lock()
			embedder = emb
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	h := &Headroom{Patients: len(patients), Steps: steps, BayesReferences: references, Embedder: embedder}
	gains := make([]float64, len(results))
	fixed := make([]float64, len(results))
	rules := DeletionRules()
	ruleGains := make([][]float64, len(rules)+1) // the rules, then Bayes
	h.Rules = make([]RuleGain, len(rules)+1)
	for j := range rules {
		h.Rules[j].Name = rules[j].Name
	}
	h.Rules[len(rules)].Name = BayesRuleName
	for j := range ruleGains {
		ruleGains[j] = make([]float64, len(results))
	}
	for i, r := range results {
		for j, f := range r.rules {
			d := f - r.coarse
			ruleGains[j][i] = d
			h.Rules[j].Gain += d / float64(len(results))
			switch {
			case d > 0:
				h.Rules[j].Improved++
			case d < 0:
				h.Rules[j].Worsened++
			}
			if r.rulesRight[j] {
				h.Rules[j].Right++
			}
		}
		h.Coarse += r.coarse
		h.Oracle += r.best
		gains[i] = r.best - r.coarse
		fixed[i] = r.fixed - r.coarse
		if r.best > r.coarse {
			h.Improved++
		}
		h.Changed += r.changed
		h.Probed += r.probed
		if r.coarseRight {
			h.CoarseRight++
		}
		if r.bestRight {
			h.OracleRight++
		}
	}
	n := float64(len(results))
	h.Coarse /= n
	h.Oracle /= n
	h.Gain = h.Oracle - h.Coarse
	bo := cfg.Bootstrap
	if bo.Seed == 0 {
		bo.Seed = cfg.Seed
	}
	if h.GainCI, err = BootstrapMean(gains, bo); err != nil {
		return nil, err
	}
	for _, f := range fixed {
		h.FixedGain += f / n
	}
	if h.FixedGainCI, err = BootstrapMean(fixed, bo); err != nil {
		return nil, err
	}
	for j := range h.Rules {
		if h.Rules[j].CI, err = BootstrapMean(ruleGains[j], bo); err != nil {
			return nil, err
		}
	}
	h.Rules, h.Bayes = h.Rules[:len(rules)], h.Rules[len(rules)]
	return h, nil
}

// BayesRuleName names the Bayes refinement in the headroom's rows.
const BayesRuleName = "minimum Bayes risk with the predictor's probabilities (pmlm.BayesRefiner, beyond the paper)"

// headroomBayes is the Bayes refiner of the headroom: its rewards are
// estimated against the training split's replies.
func headroomBayes(c *cohort.Cohort, split cohort.SplitBoundaries, scorer *reward.BERTScorer, opts pmlm.BayesOptions) (*pmlm.BayesRefiner, error) {
	if split == (cohort.SplitBoundaries{}) {
		split = cohort.DefaultSplit()
	}
	train, _, _ := c.Split(split)
	// In ID order, as Pipeline.BayesRefiner takes them: the same data in
	// another row order sample the same references.
	train = slices.Clone(train)
	slices.SortStableFunc(train, func(a, b *cohort.Patient) int { return strings.Compare(a.ID, b.ID) })
	replies := make([]pmlm.LabelledReply, len(train))
	for i, p := range train {
		replies[i] = pmlm.LabelledReply{Key: p.ID, Label: p.Label, Reply: p.Response}
	}
	return pmlm.NewBayesRefiner(c.Labels, replies, scorer, opts)
}

// patientHeadroom is one patient's measurement (BERTScore-F1 on 0–100).
type patientHeadroom struct {
	coarse, best, fixed    float64
	changed, probed        int
	coarseRight, bestRight bool
	rules                  []float64 // per DeletionRules
	rulesRight             []bool
}

func headroomOf(ctx context.Context, b *pmlm.PromptBuilder, bayes *pmlm.BayesRefiner, labels []string, p *cohort.Patient, r llm.Responder,
	scorer *reward.BERTScorer, steps, probes int, seed, index uint64) (patientHeadroom, string, error) {
	var out patientHeadroom
	coarse, err := b.Build(ctx, p.Matrix(), nil)
	if err != nil {
		return out, "", err
	}
	words := prompt.Words(coarse.Prompt)
	prompts := append([]string{coarse.Prompt}, pmlm.OraclePrompts(coarse, p.Label, steps)...)
	nOracle := len(prompts)
	// Each rule's prompt: all its deletions within the budget (the last
	// of its prompts), or the coarse prompt when it deletes nothing.
	for _, rule := range DeletionRules() {
		q := coarse.Prompt
		if ps := pmlm.DeletionPrompts(coarse, rule.Delete(coarse, labels), steps); len(ps) > 0 {
			q = ps[len(ps)-1]
		}
		prompts = append(prompts, q)
	}
	choice, err := bayes.Refine(ctx, coarse, func(ctx context.Context, q string) (llm.Response, error) {
		resp, err := r.Respond(ctx, q)
		if errors.Is(err, llm.ErrEmpty) {
			err = nil
		}
		return resp, err
	}, nil)
	if err != nil {
		return out, "", err
	}
	prompts = append(prompts, choice.Result.Final)
	nScored := len(prompts)
	if probes > 0 && len(words) > 1 {
		rng := rand.New(rand.NewPCG(seed, index))
		for _, at := range rng.Perm(len(words))[:min(probes, len(words))] {
			prompts = append(prompts, prompt.Join(without(words, map[int]bool{at: true})))
		}
	}
	answers := make([]string, len(prompts))
	for i, q := range prompts {
		resp, err := r.Respond(ctx, q)
		if err != nil && !errors.Is(err, llm.ErrEmpty) {
			return out, "", err
		}
		answers[i] = resp.Text
	}
	refs := make([][]string, nScored)
	for i := range refs {
		refs[i] = []string{p.Response}
	}
	s, err := scorer.Score(ctx, answers[:nScored], refs)
	if err != nil {
		return out, "", err
	}
	f := func(i int) float64 { return 100 * s.Pairs[i].F }
	right := func(i int) bool {
		d, ok := corpus.ReplyDiagnosis(answers[i], labels)
		return ok && d == p.Label
	}
	out.coarse, out.best, out.fixed = f(0), f(0), f(nOracle-1)
	out.coarseRight, out.bestRight = right(0), right(0)
	for i := 1; i < nOracle; i++ {
		if f(i) > out.best {
			out.best, out.bestRight = f(i), right(i)
		}
	}
	for i := nOracle; i < nScored; i++ {
		out.rules = append(out.rules, f(i))
		out.rulesRight = append(out.rulesRight, right(i))
	}
	for _, a := range answers[nScored:] {
		out.probed++
		if a != answers[0] {
			out.changed++
		}
	}
	return out, s.Embedder, nil
}

// without returns words minus the positions in del.
func without(words []string, del map[int]bool) []string {
	out := make([]string, 0, len(words))
	for i, w := range words {
		if !del[i] {
			out = append(out, w)
		}
	}
	return out
}

// Markdown renders the measurement as a short table with its reading.
func (h *Headroom) Markdown() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "| measure | value |\n| --- | ---: |\n")
	fmt.Fprintf(&sb, "| patients | %d |\n", h.Patients)
	fmt.Fprintf(&sb, "| coarse prompt, BERTScore-F1 | %.2f |\n", h.Coarse)
	fmt.Fprintf(&sb, "| oracle (best of the wrong-diagnosis deletions, n ≤ %d), BERTScore-F1 | %.2f |\n", h.Steps, h.Oracle)
	fmt.Fprintf(&sb, "| oracle − coarse [95 %% CI] | %+.2f [%+.2f, %+.2f] |\n", h.Gain, h.GainCI.Low, h.GainCI.High)
	fmt.Fprintf(&sb, "| patients the oracle improves | %d of %d |\n", h.Improved, h.Patients)
	fmt.Fprintf(&sb, "| all wrong-diagnosis words deleted (no choice) − coarse [95 %% CI] | %+.2f [%+.2f, %+.2f] |\n", h.FixedGain, h.FixedGainCI.Low, h.FixedGainCI.High)
	fmt.Fprintf(&sb, "| answers about the true diagnosis: coarse / oracle | %d / %d of %d |\n", h.CoarseRight, h.OracleRight, h.Patients)
	for _, rg := range append(slices.Clone(h.Rules), h.Bayes) {
		fmt.Fprintf(&sb, "| rule without the truth: %s − coarse [95 %% CI] (improved / worsened; answers about the true diagnosis) | %+.2f [%+.2f, %+.2f] (%d / %d; %d) |\n",
			rg.Name, rg.Gain, rg.CI.Low, rg.CI.High, rg.Improved, rg.Worsened, rg.Right)
	}
	if h.Probed > 0 {
		fmt.Fprintf(&sb, "| random single-word deletions that change the answer | %d of %d (%.1f %%) |\n", h.Changed, h.Probed, 100*float64(h.Changed)/float64(h.Probed))
	}
	fmt.Fprintf(&sb, "\nBERTScore over %s. The minimum-Bayes-risk rule estimates an answer's score under a diagnosis "+
		"against %d training replies of that diagnosis.\n", h.Embedder, h.BayesReferences)
	return sb.String()
}

// Headroom measures the headroom of refinement with the runner's responder
// on the validation split (MeasureHeadroom with the first seed's prompt
// builder and the full method's n) and returns it as a table: a measure per
// row, with the oracle's paired difference and its interval.
func (r *Runner) Headroom(ctx context.Context) (*Table, error) {
	rs := r.cfg.Default
	if rs == nil {
		return nil, fmt.Errorf("%w: the headroom is measured with Config.Default (a language model), which is not set", ErrConfig)
	}
	if len(r.cfg.Seeds) == 0 {
		return nil, fmt.Errorf("%w: headroom needs a seed", ErrConfig)
	}
	train := r.cfg.Train
	train.Seed, train.K, train.Steps = r.cfg.Seeds[0], r.k, r.n
	r.logf("headroom: oracle deletions with %s on the validation split", r.def)
	h, err := MeasureHeadroom(ctx, r.cohort, HeadroomConfig{
		Train: train, Responder: rs.Responder, Steps: r.n, Workers: r.cfg.Workers, Seed: r.cfg.Seeds[0],
		BayesReferences: r.bayesReferences(), Bootstrap: r.bootstrapOptions(),
	})
	if err != nil {
		return nil, err
	}
	one := func(v float64) Stat { return Stat{Mean: v, N: 1} }
	diff := func(v float64, ci Interval, positive int) Stat {
		return Stat{Mean: v, N: 1, CI: &Interval{Low: ci.Low, High: ci.High}, Positive: positive, PositiveOf: h.Patients}
	}
	t := &Table{Name: "headroom", Title: "Headroom: what deleting words can gain at most (" + r.def + ")",
		LabelColumns: []string{"measure"}, ValueColumns: []string{"value"}}
	t.Rows = []Row{
		{Labels: []string{"coarse prompt, BERTScore-F1"}, Values: []Stat{one(h.Coarse)}},
		{Labels: []string{fmt.Sprintf("oracle (best of the wrong-diagnosis deletions, n ≤ %d), BERTScore-F1", h.Steps)}, Values: []Stat{one(h.Oracle)}},
		{Labels: []string{"oracle − coarse"}, Values: []Stat{diff(h.Gain, h.GainCI, h.Improved)}},
		{Labels: []string{"all wrong-diagnosis words deleted (no choice) − coarse"}, Values: []Stat{one(h.FixedGain)}},
		{Labels: []string{"answers about the true diagnosis, coarse (%)"}, Values: []Stat{one(100 * float64(h.CoarseRight) / float64(h.Patients))}},
		{Labels: []string{"answers about the true diagnosis, oracle (%)"}, Values: []Stat{one(100 * float64(h.OracleRight) / float64(h.Patients))}},
	}
	for _, rg := range append(slices.Clone(h.Rules), h.Bayes) {
		t.Rows = append(t.Rows, Row{Labels: []string{"rule without the truth: " + rg.Name + " − coarse"},
			Values: []Stat{diff(rg.Gain, rg.CI, rg.Improved)}})
	}
	if h.Probed > 0 {
		t.Rows = append(t.Rows, Row{Labels: []string{"random single-word deletions that change the answer (%)"},
			Values: []Stat{one(100 * float64(h.Changed) / float64(h.Probed))}})
	}
	t.Notes = []string{
		"An oracle that knows the patient's true diagnosis deletes the words of the wrong diagnoses from the coarse prompt, " +
			"the predicted label first when it is wrong, then the similar patients' wrong labels, most frequent first, within n words, " +
			"and keeps the best of these prompts and the coarse one. No policy can gain where it cannot.",
		"The rules without the truth delete diagnoses chosen from what PMLM knows without the truth (the predicted label, the similar patients' labels with counts, the predictor's probabilities), " +
			"all within n words, and are scored as they are (no best-of choice): what is reachable without knowing the diagnosis. " +
			fmt.Sprintf("The minimum-Bayes-risk rule asks the responder for every candidate (the coarse prompt, each named diagnosis kept alone, each deleted) and keeps the one whose answer has the highest expected BERTScore-F1 under the predictor's probabilities, "+
				"an answer's score under a diagnosis estimated against %d training replies of that diagnosis.", h.BayesReferences),
		fmt.Sprintf("%d validation patients. Difference rows: mean over patients [95 %% bootstrap interval over patients] and the number of patients whose answer it improves, out of all. "+
			"The fixed rule's interval: [%.2f, %.2f]. BERTScore over %s.", h.Patients, h.FixedGainCI.Low, h.FixedGainCI.High, h.Embedder),
	}
	return t, nil
}
