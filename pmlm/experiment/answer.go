package experiment

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/pmlm-go/pmlm/llm"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/prompt"
)

// answer asks the trained pipeline of v for every test patient's answers
// and scores them: the coarse and refined prompts always; for the full
// method of a responder also the task alone and the general prompt (when
// allowed); for the default responder's full method also the controls
// and the fine-tuned LM's answer to its general prompt.
func (r *Runner) answer(ctx context.Context, p *pmlm.Pipeline, v variant) (*outcome, error) {
	prompts := []string{promptCoarse, promptRefined}
	full, controls := r.isFull(v), r.withControls(v)
	general := full && r.generalAllowed(v.responder)
	if full {
		prompts = append(prompts, promptTask)
	}
	if general {
		prompts = append(prompts, promptGeneral)
	}
	if controls {
		prompts = append(prompts, promptRandom, promptZero, promptBayes, promptBayesPrior)
		if r.cfg.Finetuned != nil {
			prompts = append(prompts, promptFinetuned)
		}
	}
	texts := make(map[string][]string, len(prompts))
	for _, k := range prompts {
		texts[k] = make([]string, len(r.test))
	}
	deletions := make([][]deletion, len(r.test))
	var bayes, bayesPrior *pmlm.BayesRefiner
	if controls {
		var err error
		if bayes, err = p.BayesRefiner(r.train, pmlm.BayesOptions{References: r.bayesReferences(), Seed: v.seed}); err != nil {
			return nil, err
		}
		if bayesPrior, err = p.BayesRefiner(r.train, pmlm.BayesOptions{References: r.bayesReferences(), Seed: v.seed, Prior: true}); err != nil {
			return nil, err
		}
	}
	history := r.historyOf(v.responder)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.cfg.Workers)
	for i, pt := range r.test {
		g.Go(func() error {
			a, err := p.Respond(gctx, pt, pmlm.RespondOptions{Coarse: true})
			if err != nil {
				return err
			}
			texts[promptCoarse][i], texts[promptRefined][i] = a.CoarseResponse.Text, a.Response.Text
			for _, d := range a.Deletions {
				deletions[i] = append(deletions[i], deletion{Step: d.Step, Index: d.Index})
			}
			if full {
				t, err := p.Ask(gctx, pt, prompt.TaskOnly())
				if err != nil {
					return err
				}
				texts[promptTask][i] = t.Text
			}
			if general {
				q, err := pmlm.GeneralPrompt(r.cohort.Metrics, pt, history)
				if err != nil {
					return err
				}
				t, err := p.Ask(gctx, pt, q)
				if err != nil {
					return err
				}
				texts[promptGeneral][i] = t.Text
			}
			if !controls {
				return nil
			}
			rnd, err := p.Respond(gctx, pt, pmlm.RespondOptions{RandomDeletions: true, RandomSeed: v.seed})
			if err != nil {
				return err
			}
			zero, err := p.Respond(gctx, pt, pmlm.RespondOptions{ZeroPatient: true})
			if err != nil {
				return err
			}
			bay, err := p.Respond(gctx, pt, pmlm.RespondOptions{Bayes: bayes})
			if err != nil {
				return err
			}
			prior, err := p.Respond(gctx, pt, pmlm.RespondOptions{Bayes: bayesPrior})
			if err != nil {
				return err
			}
			texts[promptRandom][i], texts[promptZero][i] = rnd.Response.Text, zero.Response.Text
			texts[promptBayes][i], texts[promptBayesPrior][i] = bay.Response.Text, prior.Response.Text
			if ft := r.cfg.Finetuned; ft != nil {
				q, err := pmlm.GeneralPrompt(r.cohort.Metrics, pt, ft.History)
				if err != nil {
					return err
				}
				t, err := llm.RespondTo(gctx, ft.Responder, llm.Request{Prompt: q})
				if err != nil {
					return fmt.Errorf("%s: %w", ft.Name, err)
				}
				texts[promptFinetuned][i] = t.Text
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	refs := make([]string, len(r.test))
	for i, pt := range r.test {
		refs[i] = pt.Response
	}
	o := &outcome{Patients: len(r.test), Each: make(map[string][]pmlm.PatientScore, len(prompts))}
	for _, k := range prompts {
		each, err := p.ScoreEach(ctx, texts[k], refs)
		if err != nil {
			return nil, fmt.Errorf("scoring the %s answers: %w", k, err)
		}
		o.Each[k] = each
	}
	for _, d := range deletions {
		o.Deletions = append(o.Deletions, d...)
	}
	return o, nil
}

// DefaultBayesReferences is the number of training replies per diagnosis
// behind the Bayes refinement's expected rewards (Config.BayesReferences).
const DefaultBayesReferences = pmlm.DefaultBayesReferences

func (r *Runner) bayesReferences() int { return cmp.Or(r.cfg.BayesReferences, DefaultBayesReferences) }

// tolerant passes prompts to an LLM and turns an empty answer
// (llm.ErrEmpty) into an answer with no words, counted in empty, instead
// of failing a run of hours: it scores 0, as such an answer should. It
// forwards the LLM's identity and patient exclusions.
type tolerant struct {
	inner llm.Responder
	empty *atomic.Int64
}

func (t tolerant) Respond(ctx context.Context, prompt string) (llm.Response, error) {
	return t.RespondTo(ctx, llm.Request{Prompt: prompt})
}

func (t tolerant) RespondTo(ctx context.Context, req llm.Request) (llm.Response, error) {
	r, err := llm.RespondTo(ctx, t.inner, req)
	if errors.Is(err, llm.ErrEmpty) {
		t.empty.Add(1)
		return llm.Response{Provider: r.Provider, Model: r.Model, StopReason: r.StopReason}, nil
	}
	return r, err
}

func (t tolerant) Identity() llm.Identity {
	if id, ok := t.inner.(llm.Identified); ok {
		return id.Identity()
	}
	return llm.Identity{Provider: fmt.Sprintf("%T", t.inner)}
}
