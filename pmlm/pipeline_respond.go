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
}

// RespondOptions configures Pipeline.Respond.
type RespondOptions struct {
	// Coarse also asks the responder for its answer to the coarse prompt,
	// stored in Answer.CoarseResponse.
	Coarse bool
	// SkipFinal leaves Response empty (prompts only, no responder call).
	SkipFinal bool
}

// CoarsePrompt returns the coarse prompt that Respond refines for the
// patient: the prompt builder's, with the patient itself excluded from
// the similar patients when it is a training patient.
func (p *Pipeline) CoarsePrompt(ctx context.Context, patient *cohort.Patient) (Coarse, error) {
	if patient == nil {
		return Coarse{}, fmt.Errorf("%w: nil patient", ErrOptions)
	}
	return p.builder.Build(ctx, patient.Matrix(), p.exclusions(patient.ID))
}

// Respond builds the personalized prompt of a patient — predicted label,
// similar patients, coarse prompt, greedy refinement by the policy — and asks
// the responder. A training patient is never its own neighbour, and the
// responder never answers it from its own record: its key (ID) is excluded
// in the recommender's query and the responder's request.
func (p *Pipeline) Respond(ctx context.Context, patient *cohort.Patient, opts RespondOptions) (*Answer, error) {
	s0, err := p.CoarsePrompt(ctx, patient)
	if err != nil {
		return nil, err
	}
	visits := patient.Matrix()
	xp, err := p.patientNode(visits)
	if err != nil {
		return nil, err
	}
	res, err := policy.Refine(ctx, p.policy, p.text, s0.Prompt, xp, p.steps)
	if err != nil {
		return nil, fmt.Errorf("pmlm: refine: %w", err)
	}
	out := &Answer{
		PredictedLabel: s0.PredictedLabel, Similar: s0.Similar,
		Coarse: res.Coarse, Final: res.Final, Deletions: res.Deletions,
	}
	exclude := p.exclusions(patient.ID)
	if opts.Coarse {
		r, err := p.respond(ctx, s0.Prompt, exclude)
		if err != nil {
			return nil, err
		}
		out.CoarseResponse = &r
	}
	if !opts.SkipFinal {
		if out.Response, err = p.respond(ctx, res.Final, exclude); err != nil {
			return nil, err
		}
	}
	return out, nil
}
