package synth

import (
	"math"
	"math/rand/v2"

	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

// Positions of the indicators in cohort.ObstetricMetrics (checked by a test).
const (
	mPH = iota
	mALB
	mTP
	mIBIL
	mDBIL
	mTBIL
	mALP
	mALT
	mPA
	mTBA
	mPLCC
	mPCT
	mPLCR
	mMPV
	mPDW
	mRDWCV
	mRDWSD
	mBASO
	mEOS
	mMONO
	mLYMPH
	mNEUT
	mBASOp
	mEOSp
	mMONOp
	mLYMPHp
	mNEUTp
	mMCHC
	mMCH
	mHCT
	mWBC
	mPLT
	mHGB
	mMCV
	mRBC
	numMetrics
)

// The simulated primary variables (COHORT_SPEC §1.2) plus the free analytes.
const (
	pPH = iota
	pALB
	pGLOB
	pIBIL
	pDBIL
	pALP
	pALT
	pPA
	pTBA
	pMPV
	pRDWCV
	pBASO
	pEOS
	pMONO
	pLYMPH
	pNEUT
	pMCH
	pPLT
	pMCV
	pRBC
	numPrimary
)

// analyte describes the healthy-pregnancy distribution of one primary
// variable: values at the trimester centres (10, 21 and 34 weeks, plus 38.5
// weeks where the spec gives a term value), interpolated linearly in
// between. For a lognormal analyte loc is the median and sd the log-SD.
type analyte struct {
	ga        []float64
	loc, sd   []float64
	lognormal bool
	icc       float64 // share of the variance that is the patient's own
}

var (
	gaT  = []float64{10, 21, 34}
	gaT4 = []float64{10, 21, 34, 38.5}
)

// lnFrom turns a mean ± SD into the median and log-SD of the lognormal with
// those moments.
func lnFrom(mean, sd float64) (median, logSD float64) {
	s2 := math.Log(1 + sd*sd/(mean*mean))
	return mean / math.Sqrt(1+sd*sd/(mean*mean)), math.Sqrt(s2)
}

func lnTable(means, sds []float64) (loc, sd []float64) {
	loc, sd = make([]float64, len(means)), make([]float64, len(means))
	for i := range means {
		loc[i], sd[i] = lnFrom(means[i], sds[i])
	}
	return loc, sd
}

// analytes is COHORT_SPEC §1.1 for the primary variables; the intraclass
// correlations are §1.3's.
var analytes = func() [numPrimary]analyte {
	var a [numPrimary]analyte
	a[pPH] = analyte{ga: gaT, loc: []float64{6.2, 6.2, 6.3}, sd: []float64{0.6, 0.6, 0.6}, icc: 0.1}
	a[pALB] = analyte{ga: gaT, loc: []float64{41, 37, 34}, sd: []float64{3, 3, 3}, icc: 0.5}
	a[pGLOB] = analyte{ga: gaT, loc: []float64{27, 26, 28}, sd: []float64{3, 3, 3}, icc: 0.5}
	l, s := lnTable([]float64{5.5, 4.6, 4.8}, []float64{2.3, 2.0, 2.0})
	a[pIBIL] = analyte{ga: gaT, loc: l, sd: s, lognormal: true, icc: 0.5}
	l, s = lnTable([]float64{1.8, 1.6, 1.7}, []float64{0.7, 0.6, 0.7})
	a[pDBIL] = analyte{ga: gaT, loc: l, sd: s, lognormal: true, icc: 0.5}
	l, s = lnTable([]float64{58, 80, 145, 175}, []float64{16, 22, 45, 55})
	a[pALP] = analyte{ga: gaT4, loc: l, sd: s, lognormal: true, icc: 0.5}
	a[pALT] = analyte{ga: gaT, loc: []float64{13, 12, 11}, sd: []float64{0.5, 0.5, 0.5}, lognormal: true, icc: 0.4}
	a[pPA] = analyte{ga: gaT, loc: []float64{220, 235, 195}, sd: []float64{50, 40, 45}, icc: 0.5}
	a[pTBA] = analyte{ga: gaT, loc: []float64{2.5, 3.0, 3.5}, sd: []float64{0.45, 0.45, 0.45}, lognormal: true, icc: 0.35}
	a[pMPV] = analyte{ga: gaT, loc: []float64{10.4, 10.5, 10.8}, sd: []float64{0.9, 0.9, 1.0}, icc: 0.7}
	a[pRDWCV] = analyte{ga: gaT, loc: []float64{12.8, 13.2, 13.6}, sd: []float64{0.8, 1.0, 1.2}, icc: 0.6}
	l, s = lnTable([]float64{0.02, 0.02, 0.02}, []float64{0.01, 0.01, 0.01})
	a[pBASO] = analyte{ga: gaT, loc: l, sd: s, lognormal: true, icc: 0.3}
	l, s = lnTable([]float64{0.10, 0.10, 0.10}, []float64{0.08, 0.08, 0.08})
	a[pEOS] = analyte{ga: gaT, loc: l, sd: s, lognormal: true, icc: 0.4}
	a[pMONO] = analyte{ga: gaT, loc: []float64{0.45, 0.55, 0.60}, sd: []float64{0.15, 0.18, 0.20}, icc: 0.45}
	a[pLYMPH] = analyte{ga: gaT, loc: []float64{1.75, 1.65, 1.60}, sd: []float64{0.45, 0.45, 0.45}, icc: 0.45}
	a[pNEUT] = analyte{ga: gaT, loc: []float64{5.8, 6.7, 7.0}, sd: []float64{1.5, 1.7, 1.9}, icc: 0.45}
	a[pMCH] = analyte{ga: gaT, loc: []float64{30.0, 30.3, 30.3}, sd: []float64{1.8, 1.8, 1.9}, icc: 0.88}
	a[pPLT] = analyte{ga: gaT, loc: []float64{240, 222, 212}, sd: []float64{55, 52, 52}, icc: 0.75}
	a[pMCV] = analyte{ga: gaT, loc: []float64{88, 90, 90}, sd: []float64{5, 5, 5.5}, icc: 0.88}
	a[pRBC] = analyte{ga: gaT, loc: []float64{4.20, 3.83, 3.88}, sd: []float64{0.30, 0.28, 0.30}, icc: 0.6}
	return a
}()

// interp evaluates the piecewise-linear curve through (xs, ys) at x,
// constant outside.
func interp(xs, ys []float64, x float64) float64 {
	if x <= xs[0] {
		return ys[0]
	}
	for i := 1; i < len(xs); i++ {
		if x <= xs[i] {
			t := (x - xs[i-1]) / (xs[i] - xs[i-1])
			return ys[i-1] + t*(ys[i]-ys[i-1])
		}
	}
	return ys[len(ys)-1]
}

// mchOnMCV couples the MCH latent to the MCV latent: the red-cell indices
// move together (a patient's "fingerprint"), which keeps MCHC plausible.
const mchOnMCV = 0.85

// latentState carries one patient's random intercepts and AR(1) residuals.
type latentState struct {
	intercept [numPrimary]float64
	resid     [numPrimary]float64
	lastDay   int
	started   bool
}

func newLatentState(r *rand.Rand) *latentState {
	s := &latentState{}
	for i := range s.intercept {
		s.intercept[i] = r.NormFloat64()
	}
	return s
}

// step advances the AR(1) residuals to the given day: ρ = 0.5 per 28 days
// (COHORT_SPEC §1.3); records on the same day share the residual.
func (s *latentState) step(r *rand.Rand, day int) {
	if !s.started {
		for i := range s.resid {
			s.resid[i] = r.NormFloat64()
		}
		s.started = true
	} else if dt := day - s.lastDay; dt > 0 {
		rho := math.Pow(0.5, float64(dt)/28)
		q := math.Sqrt(1 - rho*rho)
		for i := range s.resid {
			s.resid[i] = rho*s.resid[i] + q*r.NormFloat64()
		}
	}
	s.lastDay = day
}

// z returns the standardized deviation of primary i on the current record.
func (s *latentState) z(i int) float64 {
	own := func(i int) float64 {
		icc := analytes[i].icc
		return math.Sqrt(icc)*s.intercept[i] + math.Sqrt(1-icc)*s.resid[i]
	}
	if i == pMCH {
		return mchOnMCV*own(pMCV) + math.Sqrt(1-mchOnMCV*mchOnMCV)*own(pMCH)
	}
	return own(i)
}

// baseline returns the healthy value of primary i at gestational age ga for
// a standardized deviation z.
func baseline(i int, ga, z float64) float64 {
	a := &analytes[i]
	loc, sd := interp(a.ga, a.loc, ga), interp(a.ga, a.sd, ga)
	if a.lognormal {
		return math.Exp(math.Log(loc) + sd*z)
	}
	return loc + sd*z
}

// effects are the shifts a label, a hidden condition or an event applies to
// the primaries of one record: add is additive, mul multiplicative (applied
// first).
type effects struct {
	add [numPrimary]float64
	mul [numPrimary]float64
}

func (e *effects) reset() {
	for i := range e.mul {
		e.add[i], e.mul[i] = 0, 1
	}
}

// ramp is 0 before from, 1 after to and linear in between.
func ramp(x, from, to float64) float64 { return clamp((x-from)/(to-from), 0, 1) }

// recordEffects collects every shift that applies to record rec of the
// patient (COHORT_SPEC §1.3, §2.2, §2.3).
func recordEffects(r *rand.Rand, p *patientPlan, rec record, first bool, e *effects) {
	e.reset()
	f := &p.facts
	ga := math.Min(rec.ga, f.DeliveryGA) // pregnancy effects freeze at the birth
	post := rec.setting == Postpartum

	switch p.label {
	case lThal:
		var mcv, mch, rbc, rdw, ibil float64
		switch f.ThalSubtype {
		case ThalBeta:
			mcv, mch, rbc, rdw, ibil = 66, 21, 0.9, 1.0, 1
		case ThalAlphaZero:
			mcv, mch, rbc, rdw = 70, 22, 0.75, 0.8
		default:
			mcv, mch, rbc, rdw = 80, 26, 0.25, 0.2
		}
		// Shift to the subtype mean and narrow the spread to the spec's SD
		// (4, 4 and 3 fL): the trait sets the indices, not the population.
		e.add[pMCV] = mcv - 89.3
		e.add[pMCH] = mch - 30.2
		e.add[pRBC] = rbc
		e.add[pRDWCV] = rdw
		e.add[pIBIL] = ibil
	case lGDM:
		e.add[pRBC] += 0.1 // HGB +3 g/L
		e.add[pPLT] += 12
		e.add[pNEUT] += 0.5
		if first {
			e.add[pNEUT] += 0.5 // WBC +1.0 at the first visit
		}
		e.mul[pALT] *= 1.15
	case lGH:
		// From the diagnosis, strongest in the last weeks before the birth.
		s := ramp(ga, p.onsetGA-1, p.onsetGA) * (0.6 + 0.4*ramp(ga, p.onsetGA, f.DeliveryGA-2))
		e.add[pPLT] -= 20 * s
		e.add[pMPV] += 0.6 * s
		e.add[pRBC] += 0.13 * s
		e.add[pALB] -= 2 * s
		e.mul[pALT] *= 1 + 0.2*s
		if f.GHSevere {
			e.add[pPLT] -= p.ghPLTSevere * s
			e.add[pALB] -= 3 * s
			e.add[pIBIL] += 4 * s
			e.add[pALT] += p.ghALTSevere * s * s
		}
	case lPD:
		s := ramp(ga, 24, f.DeliveryGA)
		e.add[pRBC] += 0.13 * s
		e.add[pPLT] -= 15 * s
		e.add[pMPV] += 0.3 * s
	case lPROM:
		if rec.ga >= p.ruptureGA-1e-9 && !post {
			e.add[pNEUT] += p.promWBC + 0.4
			e.mul[pLYMPH] *= 0.8
			if f.Chorioamnionitis {
				e.mul[pLYMPH] *= 0.75
			}
		}
	case lRupture:
		if post {
			e.add[pPLT] -= uniform(r, 40, 80)
			e.add[pNEUT] += uniform(r, 4, 8)
			e.add[pALB] -= 4
			e.add[pGLOB] -= 2
		}
	}

	// Hidden iron deficiency: progressive from T2, peaking in month 8.
	if f.IDA {
		s := ramp(ga, 14, 34)
		e.add[pMCV] -= 6 * s
		e.add[pMCH] -= 3 * s
		e.add[pRBC] -= 0.2 * s
		e.add[pRDWCV] += 2.5 * s
	}
	// Hidden cholestasis: from about 28 weeks, normalising after the birth.
	if f.ICP {
		s := ramp(ga, 27, 31)
		if post {
			s *= 0.5
		}
		e.add[pTBA] += p.icpTBA * s
		e.add[pALT] += p.icpALT * s
		e.add[pDBIL] += p.icpDBIL * s
	}
	// Gestational thrombocytopenia: platelets drift to 100–149 in T3.
	if f.GestationalThrombocytopenia {
		s := ramp(ga, 28, 34)
		e.add[pPLT] += (p.gtPLT - 215) * s
	}
	// Intercurrent infection in 2% of outpatient records.
	if rec.setting == Outpatient && bernoulli(r, 0.02) {
		e.add[pNEUT] += 3
	}
	// Delivery admission for everyone: haemoglobin drop, postpartum
	// leucocytosis and the platelet nadir on day 1.
	if post {
		day := rec.day
		e.add[pRBC] -= p.hgbDrop / 30
		e.add[pNEUT] += [...]float64{5, 5, 4, 3}[min(day, 3)]
		e.mul[pLYMPH] *= 0.85
		e.add[pPLT] -= [...]float64{15, 25, 15, 8}[min(day, 3)]
	}
}

// simulateRecord draws the displayed values of one record into v (all 35,
// with analyser noise, before missingness) and, when clean is not nil, the
// same record without analyser noise into clean: both from the same draws,
// so that the random stream is the same either way.
func simulateRecord(r *rand.Rand, st *latentState, p *patientPlan, rec record, first bool, e *effects, v, clean []float64) {
	st.step(r, rec.day)
	recordEffects(r, p, rec, first, e)
	ga := math.Min(rec.ga, p.facts.DeliveryGA)
	var x, x0 [numPrimary]float64
	for i := range x {
		z := st.z(i)
		if p.label == lThal && (i == pMCV || i == pMCH) {
			// The trait, not the population, sets the spread of the red-cell
			// indices: MCV SD 4 / 4 / 3 fL, MCH SD 1.5 pg.
			z *= 0.8
		}
		x0[i] = baseline(i, ga, z)*e.mul[i] + e.add[i]
		// Analyser noise: same-day records differ only by this (CV ≈ 1.5%).
		x[i] = x0[i] * (1 + 0.015*r.NormFloat64())
	}
	// The scatter of the derived red-cell and platelet indices, drawn in
	// the order derive uses them.
	sc := scatter{rdwsd: normal(r, 0, 0.6), plcr: normal(r, 0, 1.2), pdw: normal(r, 0, 0.5)}
	derive(x, sc, v)
	if clean != nil {
		derive(x0, scatter{}, clean)
	}
}

// scatter is the analyser scatter of the indices derived from others; zero
// for a noise-free record.
type scatter struct{ rdwsd, plcr, pdw float64 }

// derive clamps the primaries so that every derived value lands inside its
// hard range, rounds them to display precision, and computes the derived
// indicators from the rounded values (COHORT_SPEC §1.2).
func derive(x [numPrimary]float64, sc scatter, v []float64) {
	// Red cells.
	mcv := round(clamp(x[pMCV], 56, 118), 1)
	mch := round(clamp(x[pMCH], math.Max(16, 0.275*mcv), math.Min(42, 0.38*mcv)), 1)
	lo := math.Max(1.8, math.Max(32/mch, 155/mcv))
	hi := math.Min(7.0, math.Min(195/mch, 590/mcv))
	rbc := round(clamp(x[pRBC], lo, hi), 2)
	v[mMCV], v[mMCH], v[mRBC] = mcv, mch, rbc
	v[mHGB] = round(rbc*mch, 0)
	v[mHCT] = round(rbc*mcv/10, 1)
	v[mMCHC] = round(1000*mch/mcv, 0)
	rdwcv := clamp(x[pRDWCV], math.Max(10, 26.5/(0.036*mcv)), math.Min(28, 88/(0.036*mcv)))
	rdwcv = round(rdwcv, 1)
	v[mRDWCV] = rdwcv
	v[mRDWSD] = clamp(round(0.036*mcv*rdwcv+clamp(sc.rdwsd, -1.5, 1.5), 1), 25, 90)

	// Platelets.
	plt := round(clamp(x[pPLT], 20, 650), 0)
	mpv := round(clamp(x[pMPV], 8.5, 14.5), 1)
	v[mPLT], v[mMPV] = plt, mpv
	v[mPCT] = round(plt*mpv/10000, 2)
	plcr := round(clamp(7.5*mpv-48+clamp(sc.plcr, -2.8, 2.8), 5.5, 74), 1)
	v[mPLCR] = plcr
	v[mPLCC] = round(plt*plcr/100, 0)
	v[mPDW] = round(clamp(2.2*mpv-10.6+clamp(sc.pdw, -1.1, 1.1), 7, 30), 1)

	// White cells: keep every percentage inside its hard range.
	neut := clamp(x[pNEUT], 1.0, 30)
	lymph := clamp(x[pLYMPH], 0.2, 6)
	mono := clamp(x[pMONO], 0.02, 2.5)
	eos := clamp(x[pEOS], 0, 2)
	baso := clamp(x[pBASO], 0, 0.2)
	mono = math.Min(mono, 0.3*(neut+lymph))
	eos = math.Min(eos, 0.18*(neut+lymph+mono))
	baso = math.Min(baso, 0.025*(neut+lymph+mono+eos))
	lymph = clamp(lymph, 0.02*(neut+mono+eos+baso), 2.2*(neut+mono+eos+baso))
	neut = math.Max(neut, 0.3*(lymph+mono+eos+baso))
	counts := [5]float64{round(baso, 2), round(eos, 2), round(mono, 2), round(lymph, 2), round(neut, 2)}
	wbc := 0.0
	for _, c := range counts {
		wbc += c
	}
	wbc = round(wbc, 2)
	v[mBASO], v[mEOS], v[mMONO], v[mLYMPH], v[mNEUT], v[mWBC] = counts[0], counts[1], counts[2], counts[3], counts[4], wbc
	for k, m := range [5]int{mBASOp, mEOSp, mMONOp, mLYMPHp, mNEUTp} {
		v[m] = round(100*counts[k]/wbc, 1)
	}

	// Liver.
	dbil := round(clamp(x[pDBIL], 0.3, 140), 1)
	ibil := round(clamp(x[pIBIL], 0.3, 190), 1)
	v[mDBIL], v[mIBIL], v[mTBIL] = dbil, ibil, round(dbil+ibil, 1)
	alb := round(clamp(x[pALB], 19, 55), 1)
	glob := round(clamp(x[pGLOB], 16, 44), 1)
	v[mALB], v[mTP] = alb, round(alb+glob, 1)
	v[mALP] = round(clamp(x[pALP], 15, 1400), 0)
	v[mALT] = round(clamp(x[pALT], 2, 2500), 0)
	v[mPA] = round(clamp(x[pPA], 25, 580), 0)
	v[mTBA] = round(clamp(x[pTBA], 0.1, 450), 1)
	v[mPH] = clamp(math.Round(x[pPH]*2)/2, 5.0, 8.5)
}

// round rounds x to d decimals.
func round(x float64, d int) float64 {
	p := math.Pow10(d)
	return math.Round(x*p) / p
}

// Blocks of indicators ordered together (COHORT_SPEC §1.4).
var (
	blockCBC   = []int{mPLCC, mPCT, mPLCR, mMPV, mPDW, mRDWCV, mRDWSD, mBASO, mEOS, mMONO, mLYMPH, mNEUT, mBASOp, mEOSp, mMONOp, mLYMPHp, mNEUTp, mMCHC, mMCH, mHCT, mWBC, mPLT, mHGB, mMCV, mRBC}
	blockLiver = []int{mALB, mTP, mTBIL, mDBIL, mIBIL, mALP, mALT}
)

// applyMissingness blanks the blocks that were not ordered on this record.
func applyMissingness(r *rand.Rand, p *patientPlan, rec record, first bool, informative float64, v []float64) {
	mult := 1.0
	if p.informative {
		mult = informative
	}
	var cbc, liver, pa, tba, urine bool
	switch rec.setting {
	case Inpatient:
		cbc = true
		liver = bernoulli(r, math.Min(0.95, 0.5*mult))
		urine = bernoulli(r, 0.5)
	case Postpartum:
		cbc = true
		liver = bernoulli(r, math.Min(0.95, 0.15*mult))
		urine = bernoulli(r, 0.2)
	default:
		// Outpatient rates sit a little below §1.4's overall shares, so
		// that with the delivery admission (CBC on every record) the
		// overall shares match: CBC ≈ 85%, urinalysis ≈ 55%.
		cbc = bernoulli(r, 0.78)
		pl := 0.45
		if first {
			pl = 0.80
		}
		liver = bernoulli(r, math.Min(0.95, pl*mult))
		urine = bernoulli(r, 0.6)
	}
	if liver {
		pa = bernoulli(r, 0.75)
		tba = bernoulli(r, 0.85)
	} else if rec.ga >= 28 && rec.setting == Outpatient {
		tba = bernoulli(r, math.Min(0.9, 0.1*mult)) // standalone repeats in T3
	}
	if !cbc && !liver && !tba && !urine {
		cbc = true
	}
	blank := func(ms ...int) {
		for _, m := range ms {
			v[m] = cohort.Missing()
		}
	}
	if !cbc {
		blank(blockCBC...)
	} else if bernoulli(r, 0.02) {
		blank(mPLCR, mPLCC) // histogram flagged: large-platelet indices suppressed
	}
	if !liver {
		blank(blockLiver...)
	}
	if !pa {
		blank(mPA)
	}
	if !tba {
		blank(mTBA)
	}
	if !urine {
		blank(mPH)
	}
}
