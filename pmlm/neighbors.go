package pmlm

import (
	"context"
	"fmt"
	"io"

	"github.com/pmlm-go/pmlm/encoder/mlp"
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

// NeighborAgreement computes a NeighborReport on the cohort's split with the
// encoder seeded by seed.
func NeighborAgreement(ctx context.Context, c *cohort.Cohort, b cohort.SplitBoundaries, k int, seed uint64) (NeighborReport, error) {
	train, validation, _ := c.Split(b)
	r := NeighborReport{K: k, Train: len(train), Validation: len(validation)}
	if len(train) == 0 || len(validation) == 0 {
		return r, fmt.Errorf("pmlm: neighbor agreement needs training and validation patients (have %d and %d)", len(train), len(validation))
	}
	trainSeries, valSeries := matrices(train), matrices(validation)
	labels, err := labelIndices(c, train)
	if err != nil {
		return r, err
	}
	std, err := mlp.FitStandardizer(trainSeries)
	if err != nil {
		return r, err
	}
	cfg := mlp.DefaultConfig(len(c.Metrics))
	cfg.MaxVisits = max(cfg.MaxVisits, c.MaxVisits())
	enc, err := mlp.New(cfg, std, seed)
	if err != nil {
		return r, err
	}
	valLabels := make([]string, len(validation))
	for i, p := range validation {
		valLabels[i] = p.Label
	}
	precision := func() (float64, error) {
		refs := make([][]float32, len(trainSeries))
		names := make([]string, len(trainSeries))
		for i, s := range trainSeries {
			if refs[i], err = enc.Encode(s); err != nil {
				return 0, err
			}
			names[i] = train[i].Label
		}
		rec, err := similarity.NewExact(refs, names)
		if err != nil {
			return 0, err
		}
		queries := make([][]float32, len(valSeries))
		for i, s := range valSeries {
			if queries[i], err = enc.Encode(s); err != nil {
				return 0, err
			}
		}
		return similarity.PrecisionAtK(rec, queries, valLabels, k)
	}
	if r.Untrained, err = precision(); err != nil {
		return r, err
	}
	ws := mlp.DefaultWarmStartOptions()
	ws.Seed = seed + 1
	if _, err := enc.WarmStart(ctx, trainSeries, labels, len(c.Labels), ws); err != nil {
		return r, err
	}
	if r.WarmStarted, err = precision(); err != nil {
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
