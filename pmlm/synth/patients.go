package synth

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

// labelSpec is what the generator knows about one label: its single-label
// count in the default cohort (COHORT_SPEC §2.1) and its record multiplier
// (§3.1).
type labelSpec struct {
	name       string
	count      int
	multiplier float64
}

// labelSpecs lists the labels in cohort.ObstetricLabels order.
var labelSpecs = [...]labelSpec{
	{cohort.LabelNormal, 941, 1.0},
	{cohort.LabelUterineScar, 475, 1.05},
	{cohort.LabelGestationalDiabetes, 228, 1.35},
	{cohort.LabelCordEntanglement, 166, 1.0},
	{cohort.LabelPROM, 166, 1.15},
	{cohort.LabelThalassemia, 107, 1.15},
	{cohort.LabelHypothyroidism, 83, 1.2},
	{cohort.LabelFetalDistressHR, 83, 1.1},
	{cohort.LabelGestationalHyper, 59, 1.6},
	{cohort.LabelFetalDistressAF, 28, 1.05},
	{cohort.LabelPlacentalDysfunc, 28, 1.4},
	{cohort.LabelUterineRupture, 9, 1.5},
}

// label indexes into labelSpecs.
type label int

const (
	lNormal label = iota
	lScar
	lGDM
	lCord
	lPROM
	lThal
	lHypo
	lFDHR
	lGH
	lFDAF
	lPD
	lRupture
)

func (l label) String() string { return labelSpecs[l].name }

// UnlearnableLabels returns the labels that the generator gives no lab
// signature by design (COHORT_SPEC §2.2): uterine scar, umbilical cord
// entanglement, hypothyroidism and both kinds of acute fetal distress. A
// predictor can at best guess them; they bound what is learnable.
func UnlearnableLabels() []string {
	return []string{lScar.String(), lCord.String(), lHypo.String(), lFDHR.String(), lFDAF.String()}
}

// labelCounts returns the number of patients per label: the spec's exact
// counts for the default cohort, proportional counts otherwise, with the
// thalassemia share set by the region knob.
func labelCounts(patients int, thalShare float64) []int {
	if patients == DefaultPatients && math.Abs(thalShare-defaultThalassemiaShare) < 1e-12 {
		out := make([]int, len(labelSpecs))
		for i, s := range labelSpecs {
			out[i] = s.count
		}
		return out
	}
	thal := int(math.Round(thalShare * float64(patients)))
	weights := make([]float64, 0, len(labelSpecs)-1)
	for i, s := range labelSpecs {
		if label(i) != lThal {
			weights = append(weights, float64(s.count))
		}
	}
	rest := largestRemainder(patients-thal, weights)
	out := make([]int, 0, len(labelSpecs))
	out = append(out, rest[:lThal]...)
	out = append(out, thal)
	return append(out, rest[lThal:]...)
}

// Delivery modes.
const (
	Vaginal   = "vaginal"
	Caesarean = "caesarean"
)

// Thalassemia trait subtypes (COHORT_SPEC §2.2).
const (
	ThalBeta      = "beta"
	ThalAlphaZero = "alpha0"
	ThalAlphaPlus = "alpha+"
)

// Haemorrhage grades at delivery (COHORT_SPEC §1.3).
const (
	HaemorrhageNone   = ""
	HaemorrhageOccult = "occult"
	HaemorrhageOvert  = "overt"
)

// Setting says where a record was taken.
type Setting int

// Record settings.
const (
	Outpatient Setting = iota // antenatal clinic
	Inpatient                 // delivery admission before the birth
	Postpartum                // after the birth, before discharge
)

// String returns "outpatient", "inpatient" or "postpartum".
func (s Setting) String() string {
	return [...]string{"outpatient", "inpatient", "postpartum"}[s]
}

// Facts are the hidden, per-patient facts behind one generated patient: what
// the generator decided and the records do not show directly.
type Facts struct {
	// Label is the patient's discharge diagnosis (also Patient.Label).
	Label string
	// DeliveryDate is the day of the birth; the index date is the
	// discharge a few days later.
	DeliveryDate time.Time
	// DeliveryGA is the gestational age at birth, in weeks.
	DeliveryGA float64
	// DeliveryMode is Vaginal or Caesarean.
	DeliveryMode string
	// Haemorrhage is HaemorrhageNone, HaemorrhageOccult or
	// HaemorrhageOvert.
	Haemorrhage string
	// BloodLossML is the estimated blood loss at delivery.
	BloodLossML int
	// BirthWeightG and Apgar describe the neonate.
	BirthWeightG, Apgar int
	// ThalSubtype is the trait subtype of thalassemia patients.
	ThalSubtype string
	// Hidden background conditions (COHORT_SPEC §2.3) and label subsets.
	IDA, ICP, GestationalThrombocytopenia, GHSevere, PPROM, Chorioamnionitis bool
	// GA and Setting describe each record, aligned with Patient.Visits.
	GA      []float64
	Setting []Setting
}

// patientPlan is everything about one patient that is fixed before the
// records are simulated.
type patientPlan struct {
	label     label
	indexDate time.Time
	nVisits   int
	facts     Facts
	// Timing of label-specific processes, in weeks of gestation.
	firstGA   float64
	onsetGA   float64 // GH diagnosis, GDM diagnosis
	ruptureGA float64 // PROM
	stayDays  int
	// Patient-level effect sizes.
	promWBC     float64
	ghPLTSevere float64
	ghALTSevere float64
	icpTBA      float64
	icpALT      float64
	icpDBIL     float64
	gtPLT       float64
	hgbDrop     float64
	// informative raises the liver and bile-acid order rates.
	informative bool
}

// planFacts draws the hidden facts of a patient with the given label.
func planFacts(r *rand.Rand, l label) patientPlan {
	p := patientPlan{label: l}
	f := &p.facts
	f.Label = l.String()

	// Hidden background conditions; fetal distress (AF) doubles the odds of
	// cholestasis (COHORT_SPEC §2.1, §2.3).
	f.IDA = bernoulli(r, 0.14)
	icpRate := 0.025
	if l == lFDAF {
		icpRate = 0.06
	}
	f.ICP = bernoulli(r, icpRate)
	f.GestationalThrombocytopenia = bernoulli(r, 0.06)

	switch l {
	case lThal:
		// β-trait 30%, α⁰ (--SEA) 35%, α⁺ 35% (COHORT_SPEC §2.2).
		switch u := r.Float64(); {
		case u < 0.30:
			f.ThalSubtype = ThalBeta
		case u < 0.65:
			f.ThalSubtype = ThalAlphaZero
		default:
			f.ThalSubtype = ThalAlphaPlus
		}
	case lGH:
		f.GHSevere = bernoulli(r, 0.15)
	case lPROM:
		f.PPROM = bernoulli(r, 0.25)
		f.Chorioamnionitis = bernoulli(r, 0.10)
	}

	// Delivery gestational age (COHORT_SPEC §3.2).
	var ga float64
	switch {
	case l == lScar:
		ga = truncNormal(r, 38.5, 0.6, 37, 40.5)
	case l == lGH:
		ga = truncNormal(r, 37.5, 1.5, 32, 41)
	case l == lPD:
		ga = truncNormal(r, 36.8, 2.0, 30, 41)
	case l == lPROM && f.PPROM:
		ga = truncNormal(r, 33, 2.5, 28, 36.9)
	case l == lPROM:
		ga = truncNormal(r, 38.8, 1.0, 37, 41.9)
	case l == lRupture:
		ga = uniform(r, 37, 40)
	case l == lFDAF:
		ga = truncNormal(r, 39.4, 1.0, 37, 41.9) // meconium goes with later births
	default:
		ga = truncNormal(r, 39.0, 1.0, 37, 41.9)
	}
	if f.ICP && l != lPROM {
		ga = math.Min(ga, truncNormal(r, 37.5, 1.0, 35, 39.5))
	}
	f.DeliveryGA = ga

	// Delivery mode. The negative-control labels share the normal rate so
	// that the postpartum haemoglobin drop carries no signal for them.
	csRate := 0.30
	switch l {
	case lScar:
		csRate = 0.85
	case lRupture:
		csRate = 1
	case lGH, lPD:
		csRate = 0.6
	case lPROM:
		csRate = 0.35
	}
	f.DeliveryMode = Vaginal
	if bernoulli(r, csRate) {
		f.DeliveryMode = Caesarean
	}
	u := r.Float64()
	switch {
	case l == lRupture:
		f.Haemorrhage = HaemorrhageOvert
	case u < 0.02:
		f.Haemorrhage = HaemorrhageOvert
	case u < 0.07:
		f.Haemorrhage = HaemorrhageOccult
	}
	// Postpartum haemoglobin drop (COHORT_SPEC §1.3), in g/L.
	switch {
	case l == lRupture:
		p.hgbDrop = uniform(r, 25, 45)
		f.BloodLossML = 100 * int(uniform(r, 15, 30))
	case f.Haemorrhage == HaemorrhageOvert:
		p.hgbDrop = normal(r, 30, 4)
		f.BloodLossML = 100 * int(uniform(r, 10, 16))
	case f.Haemorrhage == HaemorrhageOccult:
		p.hgbDrop = normal(r, 20, 3)
		f.BloodLossML = 50 * int(uniform(r, 10, 18))
	case f.DeliveryMode == Caesarean:
		p.hgbDrop = normal(r, 15, 3)
		f.BloodLossML = 50 * int(uniform(r, 6, 11))
	default:
		p.hgbDrop = normal(r, 9, 3)
		f.BloodLossML = 50 * int(uniform(r, 4, 8))
	}

	// Neonate, consistent with the label.
	weight := 3300 + 180*(ga-39) + normal(r, 0, 380)
	if l == lPD {
		weight -= 550
	}
	if l == lGDM {
		weight += 150
	}
	f.BirthWeightG = 10 * int(clamp(weight, 900, 4900)/10)
	f.Apgar = 9 + r.IntN(2)
	if l == lFDHR || l == lFDAF || l == lRupture {
		f.Apgar = 6 + r.IntN(4)
	}

	// First record (COHORT_SPEC §3.2): 70% in T1, 22% in T2, 8% in T3.
	switch u := r.Float64(); {
	case u < 0.70:
		p.firstGA = uniform(r, 6, 14)
	case u < 0.92:
		p.firstGA = uniform(r, 14, 28)
	default:
		p.firstGA = uniform(r, 28, 36)
	}
	p.firstGA = math.Min(p.firstGA, ga-1.5)

	switch l {
	case lGH:
		p.onsetGA = clamp(normal(r, 33.5, 2.5), 20, ga-0.3)
		if f.GHSevere {
			p.ghPLTSevere = uniform(r, 40, 130)
			p.ghALTSevere = uniform(r, 80, 300)
		}
	case lGDM:
		p.onsetGA = uniform(r, 24, 28)
	case lPROM:
		latency := uniform(r, 0, 1.5)
		if f.PPROM {
			latency = math.Min(21, -9.1*math.Log(1-r.Float64()))
		}
		p.ruptureGA = ga - latency/7
		p.promWBC = math.Max(-0.3, normal(r, 1.5, 1.5))
		if f.Chorioamnionitis {
			p.promWBC = uniform(r, 6.5, 10)
		}
	}
	if f.ICP {
		p.icpTBA = math.Exp(normal(r, math.Log(19), 0.55))
		if bernoulli(r, 0.6) {
			p.icpALT = math.Exp(uniform(r, math.Log(50), math.Log(300)))
		}
		if bernoulli(r, 0.3) {
			p.icpDBIL = uniform(r, 1, 5)
		}
	}
	if f.GestationalThrombocytopenia {
		p.gtPLT = uniform(r, 100, 149)
	}
	p.informative = l == lGH || l == lPD || f.ICP
	p.stayDays = 2 + r.IntN(3)
	if f.DeliveryMode == Caesarean {
		p.stayDays++
	}
	if l == lRupture {
		p.stayDays += 3
	}
	return p
}

// indexDates returns n discharge dates: 56 / 1,638 / 679 per year 2020–2022
// scaled to n, the 2020 ones in its last four months, 2021 spread evenly and
// 2022 split evenly between its halves so the validation and test parts are
// both populated. The dates are sorted.
func indexDates(r *rand.Rand, n int) []time.Time {
	years := largestRemainder(n, []float64{56, 1638, 679})
	halves := largestRemainder(years[2], []float64{1, 1})
	type span struct {
		from, to time.Time
		n        int
	}
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 0, 0, 0, 0, time.UTC) }
	spans := []span{
		{d(2020, 9, 1), d(2020, 12, 31), years[0]},
		{d(2021, 1, 1), d(2021, 12, 31), years[1]},
		{d(2022, 1, 1), d(2022, 6, 30), halves[0]},
		{d(2022, 7, 1), d(2022, 12, 31), halves[1]},
	}
	out := make([]time.Time, 0, n)
	for _, s := range spans {
		days := int(s.to.Sub(s.from).Hours()/24) + 1
		for range s.n {
			out = append(out, s.from.AddDate(0, 0, r.IntN(days)))
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}
