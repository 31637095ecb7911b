package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

// pcgStream is the fixed second word of the PCG state; the seed is the first.
const pcgStream = 0x9e3779b97f4a7c15

// Generate returns a synthetic obstetric cohort (COHORT_SPEC.md) with the
// catalogue of cohort.ObstetricMetrics and the labels of
// cohort.ObstetricLabels. Patients are ordered by index date and named
// P00001, P00002, …; the same options always give the same cohort.
func Generate(opts Options) (*cohort.Cohort, error) {
	c, _, err := GenerateDetailed(opts)
	return c, err
}

// GenerateDetailed is Generate that also returns the hidden facts behind
// each patient, aligned with the cohort's patients: delivery details,
// subtypes, background conditions, and each record's gestational age and
// setting.
func GenerateDetailed(opts Options) (*cohort.Cohort, []Facts, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, nil, err
	}
	r := rand.New(rand.NewPCG(opts.Seed, pcgStream))
	c := cohort.NewObstetricCohort()
	if len(c.Metrics) != numMetrics {
		return nil, nil, fmt.Errorf("synth: catalogue has %d metrics, the generator knows %d", len(c.Metrics), numMetrics)
	}

	// Labels, shuffled over patients ordered by index date, so that the
	// label mix does not drift across the split.
	counts := labelCounts(opts.Patients, opts.ThalassemiaShare)
	labels := make([]label, 0, opts.Patients)
	for l, n := range counts {
		for range n {
			labels = append(labels, label(l))
		}
	}
	r.Shuffle(len(labels), func(i, j int) { labels[i], labels[j] = labels[j], labels[i] })
	dates := indexDates(r, opts.Patients)

	plans := make([]patientPlan, opts.Patients)
	for i := range plans {
		plans[i] = planFacts(r, labels[i])
		plans[i].indexDate = dates[i]
		plans[i].facts.DeliveryDate = dates[i].AddDate(0, 0, -plans[i].stayDays)
	}
	nv := visitCounts(r, plans, opts.Visits, opts.MaxVisits)

	c.Patients = make([]cohort.Patient, opts.Patients)
	facts := make([]Facts, opts.Patients)
	values := make([]float64, opts.Visits*numMetrics) // one allocation for every record
	// A reference cohort (without noise or gaps) is the twin of the
	// default one: every draw is made as there, and each response is
	// written from the default cohort's values, so that only the values
	// differ and the two can be compared patient by patient.
	twin := opts.NoMeasurementNoise || opts.NoMissingValues
	noisy, clean := make([]float64, numMetrics), make([]float64, numMetrics)
	var e effects
	for i := range plans {
		p := &plans[i]
		p.nVisits = nv[i]
		recs := schedule(r, p)
		st := newLatentState(r)
		visits := make([]cohort.Visit, len(recs))
		var shown []cohort.Visit // the default cohort's visits, when the output is its twin
		if twin {
			shown = make([]cohort.Visit, len(recs))
		}
		p.facts.GA = make([]float64, len(recs))
		p.facts.Setting = make([]Setting, len(recs))
		for k, rec := range recs {
			v := values[:numMetrics:numMetrics]
			values = values[numMetrics:]
			date := p.facts.DeliveryDate.AddDate(0, 0, rec.day)
			if !twin {
				simulateRecord(r, st, p, rec, k == 0, &e, v, nil)
				applyMissingness(r, p, rec, k == 0, opts.InformativeMissingness, v)
			} else {
				simulateRecord(r, st, p, rec, k == 0, &e, noisy, clean)
				if opts.NoMeasurementNoise {
					copy(v, clean)
				} else {
					copy(v, noisy)
				}
				applyMissingness(r, p, rec, k == 0, opts.InformativeMissingness, noisy)
				if !opts.NoMissingValues {
					for m, x := range noisy {
						if math.IsNaN(x) {
							v[m] = x
						}
					}
				}
				shown[k] = cohort.Visit{Date: date, Values: slices.Clone(noisy)}
			}
			visits[k] = cohort.Visit{Date: date, Values: v}
			p.facts.GA[k] = math.Round(rec.ga*10) / 10
			p.facts.Setting[k] = rec.setting
		}
		c.Patients[i] = cohort.Patient{
			ID:        fmt.Sprintf("P%05d", i+1),
			IndexDate: p.indexDate,
			Label:     p.label.String(),
			Visits:    visits,
		}
		if twin {
			d := c.Patients[i]
			d.Visits = shown
			c.Patients[i].Response = respond(r, &d, p)
		} else {
			c.Patients[i].Response = respond(r, &c.Patients[i], p)
		}
		facts[i] = p.facts
	}
	return c, facts, nil
}
