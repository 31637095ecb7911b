package pmlm

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/pmlm-go/pmlm/llm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/prompt"
	"github.com/pmlm-go/pmlm/policy"
)

// Answer is what the pipeline did for one patient.
type Answer struct {
	// PredictedLabel is the predictor's label ("unknown" when it named none
	// or, without self-informed personalization, there is no predictor).
	PredictedLabel string `json:"predicted_label"`
	// Similar are the similar training patients' labels with counts.
	Similar []prompt.LabelCount `json:"similar"`
	// Coarse is the coarse prompt s0, Final the refined prompt P, and
	// Deletions the words the policy removed, in order.
	Coarse    string            `json:"coarse"`
	Final     string            `json:"final"`
	Deletions []policy.Deletion `json:"deletions"`
	// Response is the responder's answer to Final (empty with
	// RespondOptions.SkipFinal).
	Response llm.Response `json:"response"`
	// CoarseResponse is the responder's answer to Coarse, with
	// RespondOptions.Coarse (evaluation's "before").
	CoarseResponse *llm.Response `json:"coarse_response,omitempty"`
	// Bayes summarises a refinement by minimum Bayes risk
	// (RespondOptions.Bayes); nil for the policy and the controls.
	Bayes *BayesSummary `json:"bayes,omitempty"`
	// Problems lists what a lenient Respond skipped or ignored
	// (RespondOptions.Lenient; see Conform).
	Problems []Problem `json:"problems,omitempty"`
}

// BayesSummary is what a refinement by minimum Bayes risk weighed: how many
// distinct candidate prompts the responder answered, and the expected
// BERTScore-F1 (0–1) of the chosen answer and of the coarse prompt's
// answer under the belief about the diagnosis.
type BayesSummary struct {
	Candidates     int     `json:"candidates"`
	Expected       float64 `json:"expected_f1"`
	CoarseExpected float64 `json:"coarse_expected_f1"`
}

// RespondOptions configures Pipeline.Respond.
type RespondOptions struct {
	// Coarse also asks the responder for its answer to the coarse prompt,
	// stored in Answer.CoarseResponse.
	Coarse bool
	// SkipFinal leaves Response empty (prompts only, no responder call).
	SkipFinal bool
	// ZeroPatient is a control: the policy sees the patient encoding x̂
	// as zeros, so its deletions depend on the prompt's words only.
	ZeroPatient bool
	// RandomDeletions is a control: instead of the policy, as many words as
	// the policy deletes are deleted uniformly at random, drawn from a
	// source seeded by RandomSeed and the patient's ID (the same for any
	// order or concurrency of calls).
	RandomDeletions bool
	RandomSeed      uint64
	// Bayes, when set, refines by minimum Bayes risk instead of the policy
	// (beyond the paper; see BayesRefiner): the responder answers every
	// candidate prompt (with SkipFinal too), Response is the chosen one's
	// answer, and Coarse costs no extra call (the coarse prompt is the
	// first candidate). Make it with Pipeline.BayesRefiner.
	Bayes *BayesRefiner
	// Metrics is the catalogue the patient's Visit.Values follow, matched
	// to the model's by name; nil means the model's own (Catalogue). See
	// Conform for the checks every patient passes.
	Metrics []cohort.Metric
	// Lenient skips what does not fit (Conform) instead of refusing the
	// patient; Answer.Problems lists it.
	Lenient bool
}

// CoarsePrompt returns the coarse prompt that Respond refines for the
// patient: the prompt builder's, with the patient itself excluded from
// the similar patients when it is a training patient. The patient's values
// follow the model's catalogue and pass Conform's strict checks; use
// Conform first for another catalogue.
func (p *Pipeline) CoarsePrompt(ctx context.Context, patient *cohort.Patient) (Coarse, error) {
	pt, _, err := p.Conform(patient, ConformOptions{})
	if err != nil {
		return Coarse{}, err
	}
	return p.coarse(ctx, pt)
}

func (p *Pipeline) coarse(ctx context.Context, patient *cohort.Patient) (Coarse, error) {
	return p.builder.build(ctx, patient.Matrix(), p.exclusions(patient.ID))
}

// Respond builds the personalized prompt of a patient — predicted label,
// similar patients, coarse prompt, greedy refinement by the policy — and asks
// the responder. The patient's values are matched to the model's catalogue
// by name (opts.Metrics) and checked first (Conform): a patient that does
// not fit is refused with a *PatientError naming the metric, unless
// opts.Lenient. A training patient is never its own neighbour, and the
// responder never answers it from its own record: its key (ID) is excluded
// in the recommender's query and the responder's request.
func (p *Pipeline) Respond(ctx context.Context, patient *cohort.Patient, opts RespondOptions) (*Answer, error) {
	patient, problems, err := p.Conform(patient, ConformOptions{Metrics: opts.Metrics, Lenient: opts.Lenient})
	if err != nil {
		return nil, err
	}
	s0, err := p.coarse(ctx, patient)
	if err != nil {
		return nil, err
	}
	exclude := p.exclusions(patient.ID)
	var res policy.Result
	var answered, coarseAnswer *llm.Response // answers that refining already asked for
	var bayes *BayesSummary
	switch {
	case opts.RandomDeletions:
		res = randomDeletions(s0.Prompt, p.steps, opts.RandomSeed, patient.ID)
	case opts.Bayes != nil:
		ask := func(ctx context.Context, q string) (llm.Response, error) { return p.respond(ctx, q, exclude) }
		choice, err := opts.Bayes.Refine(ctx, s0, ask, exclude)
		if err != nil {
			return nil, err
		}
		res, answered, coarseAnswer = choice.Result, &choice.Response, &choice.CoarseResponse
		bayes = &BayesSummary{Candidates: choice.Candidates, Expected: choice.Expected, CoarseExpected: choice.CoarseExpected}
	default:
		if res, err = p.refine(ctx, s0.Prompt, patient.Matrix(), opts.ZeroPatient, p.replacementFor(s0)); err != nil {
			return nil, err
		}
	}
	out := &Answer{
		PredictedLabel: s0.PredictedLabel, Similar: s0.Similar,
		Coarse: res.Coarse, Final: res.Final, Deletions: res.Deletions, Bayes: bayes, Problems: problems,
	}
	switch {
	case !opts.Coarse:
	case coarseAnswer != nil:
		out.CoarseResponse = coarseAnswer
	default:
		r, err := p.respond(ctx, s0.Prompt, exclude)
		if err != nil {
			return nil, err
		}
		out.CoarseResponse = &r
	}
	switch {
	case opts.SkipFinal:
	case answered != nil:
		out.Response = *answered
	default:
		if out.Response, err = p.respond(ctx, res.Final, exclude); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// randomDeletions deletes steps words of s0 (0: policy.DefaultSteps; at
// most all but one, as a policy episode does) uniformly at random.
func randomDeletions(s0 string, steps int, seed uint64, id string) policy.Result {
	if steps == 0 {
		steps = policy.DefaultSteps
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	rng := rand.New(rand.NewPCG(seed, h.Sum64()))
	words := strings.Fields(s0)
	origin := make([]int, len(words))
	for i := range origin {
		origin[i] = i
	}
	res := policy.Result{Coarse: s0}
	for step := 0; step < steps && len(words) > 1; step++ {
		a := rng.IntN(len(words))
		res.Deletions = append(res.Deletions, policy.Deletion{
			Step: step, Word: words[a], Index: origin[a], StateIndex: a, Prob: 1 / float64(len(words)),
		})
		words = append(words[:a:a], words[a+1:]...)
		origin = append(origin[:a:a], origin[a+1:]...)
	}
	res.Final = strings.Join(words, " ")
	return res
}

// Ask sends any prompt about a patient to the pipeline's responder, which
// never answers a training patient from her own record (as in Respond):
// for the baselines PMLM is compared with, such as the general evaluation
// prompt (GeneralPrompt) or the task alone (prompt.TaskOnly).
func (p *Pipeline) Ask(ctx context.Context, patient *cohort.Patient, prompt string) (llm.Response, error) {
	if patient == nil {
		return llm.Response{}, fmt.Errorf("%w: nil patient", ErrOptions)
	}
	return p.respond(ctx, prompt, p.exclusions(patient.ID))
}

// replacementFor returns the replace or insert actions of a coarse prompt
// when the pipeline has them: the first occurrence of the predicted label's
// words may be replaced by one of the similar patients' other labels, most
// frequent first (ActionsReplace), or by the label followed by "or" and one
// of them (ActionsInsert). Nil when the label does not occur in the prompt
// or there is no other label.
func (p *Pipeline) replacementFor(c Coarse) *policy.Replacement {
	if p.actions != ActionsReplace && p.actions != ActionsInsert {
		return nil
	}
	from, to := phraseAt(strings.Fields(c.Prompt), c.PredictedLabel)
	if from < 0 {
		return nil
	}
	var cands []string
	for _, s := range c.Similar {
		if s.Label != c.PredictedLabel && len(strings.Fields(s.Label)) > 0 && !slices.Contains(cands, s.Label) {
			cands = append(cands, s.Label)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	if p.actions == ActionsInsert {
		label := strings.Join(strings.Fields(c.PredictedLabel), " ")
		for i, s := range cands {
			cands[i] = label + " or " + s
		}
	}
	return &policy.Replacement{From: from, To: to, Candidates: cands}
}

// phraseAt returns the word positions [from, to) of the first occurrence
// of phrase's words in words, compared without case and trailing
// punctuation; −1, −1 when it does not occur.
func phraseAt(words []string, phrase string) (from, to int) {
	pos := occurrences(words, phrase)
	if len(pos) == 0 {
		return -1, -1
	}
	return pos[0], pos[0] + len(strings.Fields(phrase))
}

// TrainingReport returns what training did (the zero report for a
// loaded model).
func (p *Pipeline) TrainingReport() TrainingReport { return p.training }

// Actions returns the policy's action set (ActionsDelete, ActionsReplace or
// ActionsInsert).
func (p *Pipeline) Actions() string { return p.actions }
