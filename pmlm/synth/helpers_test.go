package synth

import (
	"flag"
	"math"
	"sort"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

// seedFlag lets the statistical tests run on other seeds:
// go test ./pmlm/synth -args -synth.seed=7
var seedFlag = flag.Uint64("synth.seed", 1, "seed of the default-size cohort the statistical tests check")

// The default cohort is generated once per test binary.
var (
	defaultOnce   sync.Once
	defaultCohort *cohort.Cohort
	defaultFacts  []Facts
	defaultErr    error
)

// A larger cohort for the label-signature statistics: the rare labels (59
// gestational hypertension, 28 placental dysfunction, 9 rupture patients in
// the default cohort) need more patients for tests that do not flake.
var (
	largeOnce   sync.Once
	largeCohort *cohort.Cohort
	largeFacts  []Facts
	largeErr    error
)

const largePatients = 8000

func largeData(t testing.TB) (*cohort.Cohort, []Facts) {
	t.Helper()
	largeOnce.Do(func() {
		opts := DefaultOptions()
		opts.Seed, opts.Patients, opts.Visits = *seedFlag+1000, largePatients, 0
		largeCohort, largeFacts, largeErr = GenerateDetailed(opts)
	})
	require.NoError(t, largeErr)
	return largeCohort, largeFacts
}

func defaultData(t testing.TB) (*cohort.Cohort, []Facts) {
	t.Helper()
	defaultOnce.Do(func() {
		opts := DefaultOptions()
		opts.Seed = *seedFlag
		defaultCohort, defaultFacts, defaultErr = GenerateDetailed(opts)
	})
	require.NoError(t, defaultErr)
	return defaultCohort, defaultFacts
}

// byLabel returns the indices of the patients with the given label.
func byLabel(c *cohort.Cohort, label string) []int {
	var out []int
	for i, p := range c.Patients {
		if p.Label == label {
			out = append(out, i)
		}
	}
	return out
}

// patientMean is the mean of metric m over the patient's records that keep
// accepts (nil: all), and whether any was present.
func patientMean(p *cohort.Patient, m int, keep func(k int) bool) (float64, bool) {
	s, n := 0.0, 0
	for k, v := range p.Visits {
		if x := v.Values[m]; !cohort.IsMissing(x) && (keep == nil || keep(k)) {
			s += x
			n++
		}
	}
	if n == 0 {
		return 0, false
	}
	return s / float64(n), true
}

// groupMean averages per-patient means over a group of patients.
func groupMean(c *cohort.Cohort, idx []int, m int, keep func(i, k int) bool) float64 {
	s, n := 0.0, 0
	for _, i := range idx {
		var kf func(int) bool
		if keep != nil {
			kf = func(k int) bool { return keep(i, k) }
		}
		if v, ok := patientMean(&c.Patients[i], m, kf); ok {
			s += v
			n++
		}
	}
	return s / float64(n)
}

// auroc is the Mann–Whitney estimate of P(score of a positive > score of a
// negative), ties counted half.
func auroc(pos, neg []float64) float64 {
	type item struct {
		s   float64
		pos bool
	}
	all := make([]item, 0, len(pos)+len(neg))
	for _, s := range pos {
		all = append(all, item{s, true})
	}
	for _, s := range neg {
		all = append(all, item{s, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].s < all[j].s })
	rankSum := 0.0
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].s == all[i].s {
			j++
		}
		mid := float64(i+j+1) / 2 // average 1-based rank of the tie block
		for k := i; k < j; k++ {
			if all[k].pos {
				rankSum += mid
			}
		}
		i = j
	}
	np, nn := float64(len(pos)), float64(len(neg))
	return (rankSum - np*(np+1)/2) / (np * nn)
}

// centroidAUROC is an honest lab-only sanity classifier: per-patient mean of
// each of the 35 indicators (missing → training mean), standardized, scored
// by nearest centroid (distance to the negative centroid minus distance to
// the positive one), with two-fold cross-validation by patient so that no
// patient is scored by a centroid it helped build.
func centroidAUROC(c *cohort.Cohort, posIdx, negIdx []int) float64 {
	feat := func(i int) []float64 {
		x := make([]float64, numMetrics)
		for m := range x {
			v, ok := patientMean(&c.Patients[i], m, nil)
			if !ok {
				v = math.NaN()
			}
			x[m] = v
		}
		return x
	}
	type row struct {
		x   []float64
		pos bool
	}
	var rows []row
	for _, i := range posIdx {
		rows = append(rows, row{feat(i), true})
	}
	for _, i := range negIdx {
		rows = append(rows, row{feat(i), false})
	}
	var posScores, negScores []float64
	for fold := range 2 {
		var train, test []row
		for k, r := range rows {
			if k%2 == fold {
				test = append(test, r)
			} else {
				train = append(train, r)
			}
		}
		mean, sd := make([]float64, numMetrics), make([]float64, numMetrics)
		for m := range numMetrics {
			s, s2, n := 0.0, 0.0, 0.0
			for _, r := range train {
				if !math.IsNaN(r.x[m]) {
					s += r.x[m]
					s2 += r.x[m] * r.x[m]
					n++
				}
			}
			mean[m] = s / n
			sd[m] = math.Sqrt(math.Max(s2/n-mean[m]*mean[m], 1e-12))
		}
		z := func(x []float64) []float64 {
			out := make([]float64, numMetrics)
			for m, v := range x {
				if math.IsNaN(v) {
					v = mean[m]
				}
				out[m] = (v - mean[m]) / sd[m]
			}
			return out
		}
		cp, cn := make([]float64, numMetrics), make([]float64, numMetrics)
		np, nn := 0.0, 0.0
		for _, r := range train {
			zx := z(r.x)
			for m := range zx {
				if r.pos {
					cp[m] += zx[m]
				} else {
					cn[m] += zx[m]
				}
			}
			if r.pos {
				np++
			} else {
				nn++
			}
		}
		for m := range cp {
			cp[m] /= np
			cn[m] /= nn
		}
		for _, r := range test {
			zx := z(r.x)
			dp, dn := 0.0, 0.0
			for m := range zx {
				dp += (zx[m] - cp[m]) * (zx[m] - cp[m])
				dn += (zx[m] - cn[m]) * (zx[m] - cn[m])
			}
			if r.pos {
				posScores = append(posScores, dn-dp)
			} else {
				negScores = append(negScores, dn-dp)
			}
		}
	}
	return auroc(posScores, negScores)
}
