package synth

import (
	"math"
	"math/rand/v2"
	"slices"
)

// visitCounts draws the number of records per patient (COHORT_SPEC §3.1):
// 2 + NegBin(base·m − 2, k = 4), redrawn above the cap, then nudged one
// record at a time at random patients until the total is exact, with one
// patient forced to the cap (when the total allows). base is chosen so the expected total is the
// target before the nudging.
func visitCounts(r *rand.Rand, plans []patientPlan, total, maxVisits int) []int {
	n := len(plans)
	mult := make([]float64, n)
	sumMult := 0.0
	for i, p := range plans {
		mult[i] = math.Min(2.5, labelSpecs[p.label].multiplier)
		sumMult += mult[i]
	}
	base := float64(total) / sumMult
	counts := make([]int, n)
	sum := 0
	for i := range plans {
		mean := math.Max(0.1, base*mult[i]-minVisits)
		for {
			c := minVisits + negBin(r, mean, 4)
			if c <= maxVisits {
				counts[i] = c
				break
			}
		}
		sum += counts[i]
	}
	// Force one patient, chosen at random, to the cap when the total
	// leaves room for it.
	top := -1
	if total >= maxVisits+minVisits*(n-1) {
		top = r.IntN(n)
		sum += maxVisits - counts[top]
		counts[top] = maxVisits
	}
	for sum != total {
		i := r.IntN(n)
		if i == top {
			continue
		}
		switch {
		case sum > total && counts[i] > minVisits:
			counts[i]--
			sum--
		case sum < total && counts[i] < maxVisits:
			counts[i]++
			sum++
		}
	}
	return counts
}

// record is one planned examination record.
type record struct {
	day     int // days relative to the birth (negative: before)
	ga      float64
	setting Setting
	// sameDay marks a separate order on the day of the previous record.
	sameDay bool
}

// schedule places the patient's records in time (COHORT_SPEC §3.2): the
// delivery admission (pre-delivery records, the PROM latency, postpartum
// days), then antenatal records from the first booking onwards, with
// label-driven extra monitoring and about 15% separate same-day orders.
func schedule(r *rand.Rand, p *patientPlan) []record {
	f := &p.facts
	n := p.nVisits
	del := f.DeliveryGA
	gaOf := func(day int) float64 { return del + float64(day)/7 }

	// Postpartum records on days 1..3 of the stay.
	pp := min(1+r.IntN(3), p.stayDays, n-1)
	var adm []record
	for d := 1; d <= pp; d++ {
		adm = append(adm, record{day: d, ga: gaOf(d), setting: Postpartum})
	}
	// Pre-delivery admission: the PROM latency period, else one or two
	// records on the day of (or the day before) the birth.
	pre := []int{0}
	switch {
	case p.label == lPROM:
		lat := int(math.Round((del - p.ruptureGA) * 7))
		step := 1
		if f.PPROM {
			step = 1 + r.IntN(2)
		}
		pre = pre[:0]
		for d := -lat; d <= 0; d += step {
			pre = append(pre, d)
		}
		if pre[len(pre)-1] != 0 {
			pre = append(pre, 0)
		}
	case p.label == lGH:
		// Inpatient monitoring every 2–3 days in the last week.
		pre = []int{-6 - r.IntN(2), -3 - r.IntN(2), 0}
	case bernoulli(r, 0.4):
		pre = []int{-1, 0}
	}
	// Keep the latest pre-delivery records when the budget is short.
	room := n - len(adm)
	if len(pre) > room {
		pre = pre[len(pre)-room:]
	}
	var out []record
	for _, d := range pre {
		out = append(out, record{day: d, ga: gaOf(d), setting: Inpatient})
	}
	admissionStart := pre[0]

	// Antenatal outpatient records.
	rest := n - len(pre) - len(adm)
	if rest > 0 {
		endGA := gaOf(admissionStart) - 1.0/7
		first := math.Min(p.firstGA, endGA-0.5)
		days := make([]int, 0, rest)
		days = append(days, dayOf(first, del))
		for len(days) < rest {
			if bernoulli(r, 0.15) {
				days = append(days, pick(r, days)) // a separate same-day order
				continue
			}
			ga := antenatalGA(r, p, first, endGA)
			days = append(days, dayOf(ga, del))
		}
		slices.Sort(days)
		ante := make([]record, len(days))
		for i, d := range days {
			d = min(d, admissionStart-1)
			ante[i] = record{day: d, ga: gaOf(d), setting: Outpatient, sameDay: i > 0 && d == days[i-1]}
		}
		out = append(ante, out...)
	}
	out = append(out, adm...)
	for i := 1; i < len(out); i++ {
		if out[i].day == out[i-1].day {
			out[i].sameDay = true
		}
	}
	return out
}

func dayOf(ga, deliveryGA float64) int { return int(math.Floor((ga - deliveryGA) * 7)) }

// antenatalGA draws the gestational age of one antenatal record in
// [first, end]. Routine care follows the guideline rhythm, denser towards
// term; labels with disease-driven monitoring add records in their own
// window with probability 1 − 1/multiplier, so the extra records are the
// ones the record multiplier of §3.1 paid for. Labels without a lab
// signature (scar, hypothyroidism, fetal distress, cord) use only the
// routine rhythm; only their record count differs, by §3.1's multiplier.
func antenatalGA(r *rand.Rand, p *patientPlan, first, end float64) float64 {
	extra := 1 - 1/labelSpecs[p.label].multiplier
	switch p.label {
	case lGDM, lGH, lPD, lThal, lPROM:
	default:
		// Labels without a lab signature: their extra records follow the
		// routine rhythm, so record timing carries no label signal.
		extra = 0
	}
	if bernoulli(r, extra) {
		lo, hi := first, end
		switch p.label {
		case lGDM, lGH:
			lo = p.onsetGA
		case lPD:
			lo = 32 + 2*r.Float64()
		case lThal:
			hi = first + 4
		case lPROM:
			lo = first + 0.6*(end-first)
		}
		lo, hi = clamp(lo, first, end), clamp(hi, first, end)
		return uniform(r, lo, hi)
	}
	// Routine rhythm: about monthly until 28 weeks, fortnightly to 36,
	// weekly after (the Chinese prenatal-care schedule), as a density
	// ∝ 1 (< 28 w), 2 (28–36 w), 4 (≥ 36 w) over [first, end].
	w := func(ga float64) float64 {
		switch {
		case ga < 28:
			return 1
		case ga < 36:
			return 2
		}
		return 4
	}
	for {
		ga := uniform(r, first, end)
		if r.Float64()*4 < w(ga) {
			return ga
		}
	}
}
