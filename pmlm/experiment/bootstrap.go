package experiment

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/pmlm-go/pmlm/pmlm"
)

// DefaultResamples is the number of bootstrap resamples of a confidence
// interval when Config.Resamples is 0.
const DefaultResamples = 2000

// Interval is a confidence interval.
type Interval struct {
	Low, High float64
}

// BootstrapOptions configure a cluster bootstrap over patients.
type BootstrapOptions struct {
	// Resamples is the number of resamples (0: DefaultResamples).
	Resamples int
	// Seed seeds the draws; the same seed draws the same resamples.
	Seed uint64
	// Level is the coverage (0: 0.95).
	Level float64
}

func (o BootstrapOptions) resamples() int {
	if o.Resamples == 0 {
		return DefaultResamples
	}
	return o.Resamples
}

func (o BootstrapOptions) withDefaults() (BootstrapOptions, error) {
	if o.Resamples == 0 {
		o.Resamples = DefaultResamples
	}
	if o.Level == 0 {
		o.Level = 0.95
	}
	if o.Resamples < 10 || o.Level <= 0 || o.Level >= 1 {
		return o, fmt.Errorf("%w: bootstrap of %d resamples at level %g (want ≥ 10 and a level in (0, 1))", ErrConfig, o.Resamples, o.Level)
	}
	return o, nil
}

// bootstrap returns the percentile interval of stat over resamples of n
// patients drawn with replacement; stat receives how many times each
// patient was drawn.
func bootstrap(n int, o BootstrapOptions, stat func(counts []int) float64) (Interval, error) {
	o, err := o.withDefaults()
	if err != nil {
		return Interval{}, err
	}
	if n == 0 {
		return Interval{}, fmt.Errorf("%w: bootstrap over no patients", ErrConfig)
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15))
	counts := make([]int, n)
	vals := make([]float64, o.Resamples)
	for b := range vals {
		clear(counts)
		for range n {
			counts[rng.IntN(n)]++
		}
		vals[b] = stat(counts)
	}
	slices.Sort(vals)
	alpha := (1 - o.Level) / 2
	lo := int(math.Floor(alpha * float64(o.Resamples)))
	hi := int(math.Ceil((1-alpha)*float64(o.Resamples))) - 1
	return Interval{Low: vals[lo], High: vals[min(max(hi, lo), o.Resamples-1)]}, nil
}

// BootstrapMean returns the percentile interval of the mean of values
// (one per patient; for a paired difference over several seeds, each
// patient's difference averaged over the seeds) over resamples of the
// patients drawn with replacement.
func BootstrapMean(values []float64, o BootstrapOptions) (Interval, error) {
	n := float64(len(values))
	return bootstrap(len(values), o, func(counts []int) float64 {
		var s float64
		for i, c := range counts {
			s += float64(c) * values[i]
		}
		return s / n
	})
}

// pairedDifference summarizes a − b per metric column: a[s][i] and b[s][i]
// are the scores of test patient i under seed s. Each Stat holds the
// per-seed difference of the aggregated scores (mean ± std over seeds),
// the number of seeds whose difference is positive and the cluster
// bootstrap interval over patients: the difference averaged over the
// seeds first, then the patients resampled (for corpus BLEU, each seed's
// BLEU of the resampled patients, then the mean over seeds).
func pairedDifference(a, b [][]pmlm.PatientScore, o BootstrapOptions) ([]Stat, error) {
	if len(a) == 0 || len(a) != len(b) {
		return nil, fmt.Errorf("experiment: paired difference of %d and %d seeds", len(a), len(b))
	}
	n := len(a[0])
	for s := range a {
		if len(a[s]) != n || len(b[s]) != n {
			return nil, fmt.Errorf("experiment: paired difference over %d and %d patients, want %d", len(a[s]), len(b[s]), n)
		}
	}
	seeds := float64(len(a))
	perSeed := make([][]float64, len(metricColumns))
	for s := range a {
		d := metricValues(pmlm.AggregateScores(a[s]))
		e := metricValues(pmlm.AggregateScores(b[s]))
		for c := range perSeed {
			perSeed[c] = append(perSeed[c], d[c]-e[c])
		}
	}
	out := make([]Stat, len(metricColumns))
	for c := range out {
		out[c] = NewStat(perSeed[c])
		for _, x := range perSeed[c] {
			if x > 0 {
				out[c].Positive++
			}
		}
		var iv Interval
		var err error
		if c == 0 { // corpus BLEU-4: recomputed from the resample's statistics
			iv, err = bootstrap(n, o, func(counts []int) float64 {
				var d float64
				for s := range a {
					var sa, sb pmlm.BLEUStats
					for i, k := range counts {
						if k > 0 {
							sa.Add(a[s][i].BLEU, k)
							sb.Add(b[s][i].BLEU, k)
						}
					}
					d += sa.BLEU() - sb.BLEU()
				}
				return d / seeds
			})
		} else {
			diffs := make([]float64, n)
			for i := range diffs {
				for s := range a {
					diffs[i] += (patientValue(a[s][i], c) - patientValue(b[s][i], c)) / seeds
				}
			}
			iv, err = BootstrapMean(diffs, o)
		}
		if err != nil {
			return nil, err
		}
		out[c].CI = &iv
	}
	return out, nil
}

// patientValue is column c of metricColumns for one patient (c ≥ 1; BLEU
// has no per-patient value).
func patientValue(s pmlm.PatientScore, c int) float64 {
	return [...]float64{math.NaN(), s.ROUGEL, s.ROUGE1, s.ROUGE2, s.BERTScoreP, s.BERTScoreR, s.BERTScoreF}[c]
}
