package pmlm

import (
	"context"
	"fmt"
	"io"

	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/similarity"
)

// NeighborReport measures how well the patient encoder's neighbourhoods
// agree with the labels: precision@k of the validation patients against the
// training patients, for the untrained encoder (the paper's) and after the
// supervised warm start (beyond the paper).
type NeighborReport struct {
	K                      int
	Train, Validation      int
	Untrained, WarmStarted float64
	// Chance is the precision@k of neighbours drawn at random from the
	// training split: Σ over labels of the label's share in the validation
	// split times its share in the training split.
	Chance float64
}

// NeighborAgreement computes a NeighborReport on the cohort's split (opts.Split)
// with the prompt builders Train would build with opts, once without and
// once with the warm start (opts.WarmStart is ignored), so that the
// neighbourhoods measured are those the prompts show. Only the encoder
// and recommender are fitted (no predictor).
func NeighborAgreement(ctx context.Context, c *cohort.Cohort, opts TrainOptions, k int) (NeighborReport, error) {
	if c == nil {
		return NeighborReport{}, fmt.Errorf("%w: nil cohort", ErrOptions)
	}
	if err := opts.setDefaults(); err != nil {
		return NeighborReport{}, err
	}
	train, validation, _ := c.Split(opts.Split)
	r := NeighborReport{K: k, Train: len(train), Validation: len(validation)}
	if len(train) == 0 || len(validation) == 0 {
		return r, fmt.Errorf("%w: neighbor agreement needs training and validation patients (have %d and %d)", ErrOptions, len(train), len(validation))
	}
	if k < 1 {
		return r, fmt.Errorf("%w: k = %d", ErrOptions, k)
	}
	opts.NoSelfPersonalization = true // the study needs no predictor
	precision := func(warm bool) (float64, error) {
		o := opts
		o.WarmStart = warm
		b, err := NewPromptBuilder(ctx, c, o)
		if err != nil {
			return 0, err
		}
		queries := make([][]float32, len(validation))
		labels := make([]string, len(validation))
		for i, p := range validation {
			if queries[i], err = b.Encoder().Encode(p.Matrix()); err != nil {
				return 0, fmt.Errorf("%w: %w", ErrEncoder, err)
			}
			labels[i] = p.Label
		}
		return similarity.PrecisionAtK(ctx, b.Recommender(), queries, labels, k)
	}
	var err error
	if r.Untrained, err = precision(false); err != nil {
		return r, err
	}
	if r.WarmStarted, err = precision(true); err != nil {
		return r, err
	}
	share := func(ps []*cohort.Patient) map[string]float64 {
		m := map[string]float64{}
		for _, p := range ps {
			m[p.Label] += 1 / float64(len(ps))
		}
		return m
	}
	st, sv := share(train), share(validation)
	for l, v := range sv {
		r.Chance += v * st[l]
	}
	return r, nil
}

// WriteText prints the report as a small table.
func (r NeighborReport) WriteText(w io.Writer) error {
	_, err := fmt.Fprintf(w, "label agreement of the %d nearest training patients (precision@%d), %d validation queries against %d training patients\n"+
		"  untrained encoder (the paper's)   %.3f\n  warm-started encoder              %.3f\n  chance (random neighbours)        %.3f\n",
		r.K, r.K, r.Validation, r.Train, r.Untrained, r.WarmStarted, r.Chance)
	return err
}
