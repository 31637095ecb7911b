package pmlm

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"golang.org/x/sync/errgroup"

	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

// Scores are the paper's evaluation measures of a set of responses against
// the doctors' replies, each on a 0–100 scale. (The lab indicators of a
// cohort are cohort.Metric; these are the scores of the answers.)
type Scores struct {
	BLEU4                              float64 // corpus BLEU-4, sacrebleu defaults (13a, exp smoothing)
	ROUGE1, ROUGE2, ROUGEL             float64 // mean F-measure over patients (rouge_score, no stemming)
	BERTScoreP, BERTScoreR, BERTScoreF float64 // mean BERTScore precision, recall and F1
}

// Evaluation compares the responses to the coarse prompts ("before") with
// the responses to the refined prompts ("after") on a set of patients.
type Evaluation struct {
	Patients      int
	Before, After Scores
	// Embedder names the token embeddings BERTScore was computed with.
	Embedder string
	// Answers holds each patient's prompts and responses, in input order.
	Answers []*Answer
}

// Evaluate answers every patient with and without refinement and scores
// both against the doctors' replies, running up to workers patients at once.
// The patients' values follow the model's catalogue (Catalogue); patients
// read with another catalogue go through Conform first.
func (p *Pipeline) Evaluate(ctx context.Context, patients []*cohort.Patient, workers int) (*Evaluation, error) {
	if len(patients) == 0 {
		return nil, fmt.Errorf("%w: evaluate: no patients", ErrOptions)
	}
	ev := &Evaluation{Patients: len(patients), Embedder: p.scorer.Embedder(), Answers: make([]*Answer, len(patients))}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(workers, 1))
	for i, pt := range patients {
		g.Go(func() error {
			a, err := p.Respond(gctx, pt, RespondOptions{Coarse: true})
			ev.Answers[i] = a
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	refs := make([]string, len(patients))
	before := make([]string, len(patients))
	after := make([]string, len(patients))
	for i, a := range ev.Answers {
		refs[i] = patients[i].Response
		before[i] = a.CoarseResponse.Text
		after[i] = a.Response.Text
	}
	var err error
	if ev.Before, err = p.score(ctx, before, refs); err != nil {
		return nil, err
	}
	if ev.After, err = p.score(ctx, after, refs); err != nil {
		return nil, err
	}
	return ev, nil
}

func (p *Pipeline) score(ctx context.Context, cands, refs []string) (Scores, error) {
	each, err := p.ScoreEach(ctx, cands, refs)
	if err != nil {
		return Scores{}, err
	}
	return AggregateScores(each), nil
}

// WriteTable prints the paper's table 1 layout: one row before and one
// after refinement.
func (e *Evaluation) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "prompt\tBLEU-4\tROUGE-L\tROUGE-1\tROUGE-2\tBERTScore-P\tBERTScore-R\tBERTScore-F1\t\n")
	for _, row := range []struct {
		name string
		m    Scores
	}{{"coarse (before)", e.Before}, {"refined (after)", e.After}} {
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t\n", row.name,
			row.m.BLEU4, row.m.ROUGEL, row.m.ROUGE1, row.m.ROUGE2, row.m.BERTScoreP, row.m.BERTScoreR, row.m.BERTScoreF)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d test patients; BERTScore over %s token embeddings\n", e.Patients, e.Embedder)
	return err
}
