package pmlm

import (
	"context"
	"fmt"

	"github.com/pmlm-go/pmlm/llm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/prompt"
	"github.com/pmlm-go/pmlm/policy"
)

// Answer is what the pipeline did for one patient.
type Answer struct {
	// PredictedLabel is the predictor's label ("unknown" when it named none
	// or, without self-informed personalization, there is no predictor).
	PredictedLabel string
	// Similar are the similar training patients' labels with counts.
	Similar []prompt.LabelCount
	// Coarse is the coarse prompt s0, Final the refined prompt P, and
	// Deletions the words the policy removed, in order.
	Coarse, Final string
	Deletions     []policy.Deletion
	// Response is the responder's answer to Final.
	Response llm.Response
}

// RespondOptions configures Pipeline.Respond.
type RespondOptions struct {
	// Coarse also asks the responder for its answer to the coarse prompt,
	// stored in CoarseResponse (evaluation's "before").
	Coarse bool
	// SkipFinal leaves Response empty (prompts only, no responder call).
	SkipFinal bool
}

// Refined is an Answer with the optional answer to the coarse prompt.
type Refined struct {
	Answer
	CoarseResponse llm.Response
}

// Respond builds the personalized prompt of a patient — predicted label,
// similar patients, coarse prompt, greedy refinement by the policy — and asks
// the responder. A training patient is never its own neighbour, and the case
// responder never answers with its own reply.
func (p *Pipeline) Respond(ctx context.Context, patient *cohort.Patient, opts RespondOptions) (*Refined, error) {
	if len(patient.Visits) == 0 {
		return nil, fmt.Errorf("pmlm: patient has no visits")
	}
	visits := patient.Matrix()
	predicted := -1
	if p.predictor != nil {
		pred, err := p.predictor.Predict(ctx, visits)
		if err != nil {
			return nil, fmt.Errorf("pmlm: predict: %w", err)
		}
		predicted = pred.Label
	}
	self := p.trainRow(patient.ID)
	data, err := p.promptData(visits, predicted, self)
	if err != nil {
		return nil, err
	}
	s0, err := p.template.Render(data)
	if err != nil {
		return nil, err
	}
	xp, err := p.patientNode(visits)
	if err != nil {
		return nil, err
	}
	res, err := policy.Refine(ctx, p.policy, p.text, s0, xp, p.steps)
	if err != nil {
		return nil, fmt.Errorf("pmlm: refine: %w", err)
	}
	out := &Refined{Answer: Answer{
		PredictedLabel: data.PredictedLabel, Similar: data.Similar,
		Coarse: res.Coarse, Final: res.Final, Deletions: res.Deletions,
	}}
	if self >= 0 {
		ctx = llm.ExcludeCase(ctx, patient.ID)
	}
	if opts.Coarse {
		if out.CoarseResponse, err = p.responder.Respond(ctx, s0); err != nil {
			return nil, fmt.Errorf("pmlm: responder: %w", err)
		}
	}
	if !opts.SkipFinal {
		if out.Response, err = p.responder.Respond(ctx, res.Final); err != nil {
			return nil, fmt.Errorf("pmlm: responder: %w", err)
		}
	}
	return out, nil
}

// trainRow returns the training-index row of the patient with this ID, or -1.
func (p *Pipeline) trainRow(id string) int {
	for i, c := range p.cases {
		if c.ID == id {
			return i
		}
	}
	return -1
}

// Labels returns the label set the pipeline was trained with.
func (p *Pipeline) Labels() []string { return append([]string(nil), p.labels...) }

// TextEncoder returns the embedder of the policy and of BERTScore.
func (p *Pipeline) TextEncoder() string { return p.text.Name() }
