package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

// displayDecimals is the number of decimals each indicator is shown with
// (COHORT_SPEC §1.1 notes); quotes in responses use the same precision, so
// every number quoted is a number in the records.
var displayDecimals = func() [numMetrics]int {
	var d [numMetrics]int
	for i := range d {
		d[i] = 1
	}
	for _, m := range []int{mBASO, mEOS, mMONO, mLYMPH, mNEUT, mWBC, mRBC, mPCT} {
		d[m] = 2
	}
	for _, m := range []int{mHGB, mPLT, mMCHC, mALP, mALT, mPA, mPLCC} {
		d[m] = 0
	}
	return d
}()

// proseUnit is the unit as written in a response.
var proseUnit = map[int]string{
	mHGB: "g/L", mALB: "g/L", mMCHC: "g/L", mMCV: "fL", mMCH: "pg", mRBC: "×10¹²/L",
	mPLT: "×10⁹/L", mWBC: "×10⁹/L", mNEUT: "×10⁹/L", mNEUTp: "%", mALT: "U/L", mALP: "U/L",
	mTBA: "µmol/L", mRDWCV: "%",
}

// proseName is the indicator as named in a response.
var proseName = map[int]string{
	mHGB: "haemoglobin", mALB: "albumin", mMCV: "MCV", mMCH: "MCH", mRBC: "red cell count",
	mPLT: "platelet count", mWBC: "white cell count", mNEUTp: "neutrophil share", mALT: "ALT",
	mALP: "alkaline phosphatase", mTBA: "total bile acid", mRDWCV: "RDW-CV",
}

// quote formats a value as "138 g/L".
func quote(m int, v float64) string {
	return fmt.Sprintf("%.*f %s", displayDecimals[m], v, proseUnit[m])
}

// series is the observed values of one indicator, in record order.
type series struct {
	vals []float64
	idx  []int
}

func seriesOf(p *cohort.Patient, m int, keep func(k int) bool) series {
	var s series
	for k, v := range p.Visits {
		if !cohort.IsMissing(v.Values[m]) && (keep == nil || keep(k)) {
			s.vals = append(s.vals, v.Values[m])
			s.idx = append(s.idx, k)
		}
	}
	return s
}

func (s series) ok() bool       { return len(s.vals) > 0 }
func (s series) first() float64 { return s.vals[0] }
func (s series) last() float64  { return s.vals[len(s.vals)-1] }
func (s series) min() float64 {
	m := math.Inf(1)
	for _, v := range s.vals {
		m = math.Min(m, v)
	}
	return m
}
func (s series) max() float64 {
	m := math.Inf(-1)
	for _, v := range s.vals {
		m = math.Max(m, v)
	}
	return m
}

// writer assembles a response from sentences, each picked among phrasings.
type writer struct {
	r  *rand.Rand
	sb strings.Builder
}

// say appends one of the phrasings, formatted with args.
func (w *writer) say(phrasings []string, args ...any) {
	if w.sb.Len() > 0 {
		w.sb.WriteByte(' ')
	}
	fmt.Fprintf(&w.sb, pick(w.r, phrasings), args...)
}

// gaText writes a gestational age as "38+4 weeks".
func gaText(ga float64) string {
	days := int(math.Round(ga * 7))
	return fmt.Sprintf("%d+%d weeks", days/7, days%7)
}

// respond writes the doctor's discharge response for one patient (COHORT_SPEC
// §4): diagnosis and delivery, the patient's own notable values and one
// trend, the stay, label-specific follow-up, and warning signs. Numbers with
// laboratory units are taken from the patient's records at display
// precision; the patient's ID never appears.
func respond(r *rand.Rand, pt *cohort.Patient, p *patientPlan) string {
	f := &p.facts
	w := &writer{r: r}
	antenatal := func(k int) bool { return f.Setting[k] != Postpartum }
	postpartum := func(k int) bool { return f.Setting[k] == Postpartum }
	hgb := seriesOf(pt, mHGB, nil)
	hgbPre := seriesOf(pt, mHGB, antenatal)
	hgbPost := seriesOf(pt, mHGB, postpartum)

	// (a) Diagnosis and delivery.
	mode := "by spontaneous vaginal delivery"
	if f.DeliveryMode == Caesarean {
		mode = "by caesarean section"
	}
	switch p.label {
	case lScar:
		if f.DeliveryMode == Caesarean {
			mode = "by repeat caesarean section"
		} else {
			mode = "by vaginal birth after caesarean (VBAC)"
		}
	case lRupture:
		mode = "by emergency laparotomy"
	}
	diag := pt.Label
	if p.label == lNormal {
		diag = "normal pregnancy and delivery, no complications"
	}
	// The phrasings order the delivery facts differently.
	switch r.IntN(3) {
	case 0:
		w.say([]string{"Discharge diagnosis: %s. You gave birth %s at %s; estimated blood loss was %d mL and the baby weighed %d g with an Apgar score of %d."},
			diag, mode, gaText(f.DeliveryGA), f.BloodLossML, f.BirthWeightG, f.Apgar)
	case 1:
		w.say([]string{"Diagnosis at discharge: %s. The baby was born %s at %s, weighing %d g (Apgar %d), and blood loss was about %d mL."},
			diag, mode, gaText(f.DeliveryGA), f.BirthWeightG, f.Apgar, f.BloodLossML)
	default:
		w.say([]string{"Final diagnosis: %s. Delivery was %s at %s with about %d mL of blood loss; your baby weighed %d g and scored %d on the Apgar scale."},
			diag, mode, gaText(f.DeliveryGA), f.BloodLossML, f.BirthWeightG, f.Apgar)
	}

	// (b) Notable values: two label-relevant values, then the haemoglobin
	// trend.
	labValues(w, pt, p, antenatal)
	trendHGB(w, hgb)
	hiddenFindings(w, pt, p, hgbPre, hgbPost)

	// (c)–(d) Label-specific stay and follow-up.
	advice(w, p)

	// (e) Routine postpartum care and warning signs.
	w.say([]string{
		"Rest, eat a balanced diet, keep the %s clean and dry, and watch the amount and smell of the lochia; breastfeeding is encouraged.",
		"At home, keep the %s clean, rest well, eat nourishing food and keep an eye on the lochia; breastfeed on demand.",
		"Please look after the %s hygiene, rest and eat well, breastfeed, and note how the lochia changes.",
	}, map[bool]string{true: "wound", false: "perineum"}[f.DeliveryMode == Caesarean])
	w.say([]string{
		"No tub baths or intercourse until the 42-day postpartum check, and use reliable contraception.",
		"Avoid baths and intercourse until you have been seen at the 42-day check; contraception is advised.",
		"Come to the postpartum check at 42 days; until then avoid tub baths and intercourse, and plan contraception.",
	})
	w.say([]string{
		"Return at once for fever, heavy bleeding or clots, worsening abdominal pain, foul-smelling lochia, a red or discharging wound, breast pain, or low mood.",
		"Come back straight away if you have a fever, soak pads or pass clots, have increasing pain, offensive lochia, wound redness, painful breasts, or feel persistently low.",
		"Seek care urgently for fever, heavy bleeding, severe abdominal pain, bad-smelling discharge, a wound that is red or leaking, breast redness, or low mood.",
	})
	return w.sb.String()
}

// labValues quotes the two most label-relevant notable values (COHORT_SPEC
// §4.3). Labels without a lab signature get haemoglobin only.
func labValues(w *writer, pt *cohort.Patient, p *patientPlan, antenatal func(int) bool) {
	type q struct {
		m int
		v float64
	}
	var qs []q
	add := func(m int, s series, pickv func(series) float64) {
		if s.ok() {
			qs = append(qs, q{m, pickv(s)})
		}
	}
	firstCBC := -1
	for k, v := range pt.Visits {
		if !cohort.IsMissing(v.Values[mMCV]) {
			firstCBC = k
			break
		}
	}
	switch p.label {
	case lThal:
		v := pt.Visits[firstCBC].Values
		w.say([]string{
			"The blood counts show the carrier pattern: MCV %s, MCH %s with a red cell count of %s.",
			"Your red cells are small and many, typical of the trait: MCV %s, MCH %s, red cell count %s.",
			"At booking the indices were MCV %s and MCH %s, with the red cell count raised at %s, which fits thalassemia trait.",
		}, quote(mMCV, v[mMCV]), quote(mMCH, v[mMCH]), quote(mRBC, v[mRBC]))
		return
	case lGH:
		add(mPLT, seriesOf(pt, mPLT, antenatal), series.min)
		add(mALT, seriesOf(pt, mALT, antenatal), series.max)
		add(mALB, seriesOf(pt, mALB, antenatal), series.min)
	case lPD:
		add(mPLT, seriesOf(pt, mPLT, antenatal), series.last)
		add(mHGB, seriesOf(pt, mHGB, antenatal), series.last)
	case lPROM:
		add(mWBC, seriesOf(pt, mWBC, antenatal), series.last)
		add(mNEUTp, seriesOf(pt, mNEUTp, antenatal), series.last)
	case lGDM:
		add(mHGB, seriesOf(pt, mHGB, nil), series.first)
		add(mWBC, seriesOf(pt, mWBC, nil), series.first)
		add(mALT, seriesOf(pt, mALT, antenatal), series.max)
	case lRupture:
		add(mHGB, seriesOf(pt, mHGB, func(k int) bool { return !antenatal(k) }), series.min)
		add(mPLT, seriesOf(pt, mPLT, func(k int) bool { return !antenatal(k) }), series.min)
	case lNormal:
		if s := seriesOf(pt, mALP, antenatal); s.ok() && s.max() >= 120 {
			add(mALP, s, series.max)
		}
		add(mHGB, seriesOf(pt, mHGB, antenatal), series.last)
		add(mPLT, seriesOf(pt, mPLT, antenatal), series.last)
	default:
		add(mHGB, seriesOf(pt, mHGB, antenatal), series.last)
		add(mHGB, seriesOf(pt, mHGB, func(k int) bool { return !antenatal(k) }), series.min)
	}
	// Fallbacks when a label's panel was never ordered, then keep the
	// first two candidates that quote different numbers.
	add(mHGB, seriesOf(pt, mHGB, antenatal), series.last)
	add(mPLT, seriesOf(pt, mPLT, antenatal), series.last)
	add(mWBC, seriesOf(pt, mWBC, antenatal), series.last)
	add(mHGB, seriesOf(pt, mHGB, nil), series.min)
	add(mPLT, seriesOf(pt, mPLT, nil), series.min)
	picked := qs[:1]
	for _, x := range qs[1:] {
		if fmt.Sprintf("%.*f", displayDecimals[x.m], x.v) != fmt.Sprintf("%.*f", displayDecimals[picked[0].m], picked[0].v) {
			picked = append(picked, x)
			break
		}
	}
	qs = picked
	name := func(x q) string { return proseName[x.m] + " " + quote(x.m, x.v) }
	switch p.label {
	case lNormal:
		w.say([]string{
			"Your results stayed within what is expected in pregnancy: %s and %s.",
			"Laboratory results were reassuring (%s, %s); changes such as a higher alkaline phosphatase near term come from the placenta and are normal.",
			"Key results: %s and %s, both in keeping with a normal pregnancy.",
		}, name(qs[0]), name(qs[1]))
	case lScar, lCord, lHypo, lFDHR, lFDAF:
		// Generic content only: haemoglobin and the anaemia status.
		anaemic := qs[0].v < 110 || (qs[1].m == mHGB && qs[1].v < 110)
		if qs[1].m == mHGB {
			w.say([]string{
				"The blood count was followed through the stay: the last antenatal haemoglobin was %s and the lowest after the birth %s.",
				"Haemoglobin was %s before delivery and %s at its lowest afterwards.",
				"Before the birth your haemoglobin was %s; after delivery it reached %s.",
			}, quote(qs[0].m, qs[0].v), quote(qs[1].m, qs[1].v))
		} else {
			w.say([]string{
				"Haemoglobin was %s before delivery, with a %s.",
				"Before the birth your haemoglobin was %s and the %s.",
			}, quote(qs[0].m, qs[0].v), name(qs[1]))
		}
		if anaemic {
			w.say([]string{"This is mild anaemia, so oral iron is prescribed with a blood count at the postpartum check.",
				"That counts as anaemia: take the oral iron prescribed and have the count rechecked in four to six weeks."})
		} else {
			w.say([]string{"There is no anaemia.", "These values do not indicate anaemia."})
		}
	default:
		w.say([]string{
			"Notable results: %s and %s.",
			"The most relevant results were %s and %s.",
			"Among your results, note %s and %s.",
		}, name(qs[0]), name(qs[1]))
	}
}

// trendHGB describes the haemoglobin course from the first to the last count.
func trendHGB(w *writer, hgb series) {
	a, b := hgb.first(), hgb.last()
	switch {
	case b < a:
		w.say([]string{
			"Over the pregnancy and stay, haemoglobin fell from %s to %s.",
			"Your haemoglobin went down from %s at the first test to %s at discharge.",
			"Haemoglobin dropped from %s to %s by the time of discharge.",
		}, quote(mHGB, a), quote(mHGB, b))
	case b > a:
		w.say([]string{
			"Haemoglobin rose from %s at the first test to %s at discharge.",
			"Your haemoglobin went up from %s to %s over the pregnancy.",
		}, quote(mHGB, a), quote(mHGB, b))
	default:
		w.say([]string{"Haemoglobin was %s at the first test and again %s at discharge."}, quote(mHGB, a), quote(mHGB, b))
	}
}

// hiddenFindings mentions abnormalities that carry no label: anaemia,
// raised bile acids or ALT, low platelets (COHORT_SPEC §4.1).
func hiddenFindings(w *writer, pt *cohort.Patient, p *patientPlan, hgbPre, hgbPost series) {
	if tba := seriesOf(pt, mTBA, nil); tba.ok() && tba.max() >= 10 {
		w.say([]string{
			"Total bile acid reached %s during pregnancy; please have liver tests and bile acids rechecked after the birth.",
			"Bile acids were raised at up to %s, so a postpartum liver-function recheck is needed.",
		}, quote(mTBA, tba.max()))
	} else if alt := seriesOf(pt, mALT, nil); alt.ok() && alt.max() > 40 && p.label != lGH {
		w.say([]string{
			"ALT was raised at up to %s; recheck liver function at the postpartum visit.",
			"Liver enzymes rose (ALT up to %s) and should be rechecked in six weeks.",
		}, quote(mALT, alt.max()))
	}
	if p.label == lThal || !hgbPre.ok() {
		return
	}
	switch p.label {
	case lScar, lCord, lHypo, lFDHR, lFDAF:
		return // already discussed with the anaemia status
	}
	if hgbPre.min() < 110 || (hgbPost.ok() && hgbPost.min() < 100) {
		w.say([]string{
			"Your haemoglobin was as low as %s, so continue oral iron and recheck the blood count at the postpartum visit.",
			"With haemoglobin down to %s you have anaemia: take iron daily and recheck the count in four to six weeks.",
		}, quote(mHGB, math.Min(hgbPre.min(), hgbPostMin(hgbPost))))
	}
}

func hgbPostMin(s series) float64 {
	if !s.ok() {
		return math.Inf(1)
	}
	return s.min()
}

// advice gives the label's stay summary and follow-up (COHORT_SPEC §4.2).
func advice(w *writer, p *patientPlan) {
	f := &p.facts
	switch p.label {
	case lNormal:
		w.say([]string{
			"Your pregnancy and birth were uncomplicated and no special follow-up is needed beyond routine care.",
			"Everything went as expected; routine postpartum care is all you need.",
			"No complications occurred, so only the usual postpartum follow-up applies.",
		})
	case lScar:
		w.say([]string{
			"Because of the scarred uterus, wait at least 18 months, ideally two years, before the next pregnancy and use reliable contraception.",
			"Leave at least 18 to 24 months before another pregnancy, with reliable contraception in the meantime, because of the uterine scar.",
			"With a uterine scar the next pregnancy should be at least 18 months away; please use effective contraception.",
		})
		w.say([]string{
			"In any future pregnancy have an early ultrasound to check where the pregnancy has implanted in relation to the scar.",
			"Next time, book early for an ultrasound to exclude a scar pregnancy or an abnormally adherent placenta.",
		})
	case lGDM:
		w.say([]string{
			"Glucose-lowering treatment stops with the birth; have a 75-g oral glucose tolerance test 6 to 12 weeks after delivery.",
			"You no longer need diabetes treatment, but a 75-g glucose tolerance test is due at 6–12 weeks postpartum.",
			"Stop any glucose-lowering medicine now and book a 75-g OGTT between 6 and 12 weeks after the birth.",
		})
		w.say([]string{
			"If it is normal, repeat glucose screening every one to three years; keep to diet, exercise and weight control, and breastfeed.",
			"Healthy eating, regular exercise and breastfeeding lower your future diabetes risk; test glucose early in any next pregnancy.",
		})
	case lCord:
		w.say([]string{
			"Cord entanglement is common and usually harmless; it needs no specific follow-up for you.",
			"A cord around the baby is a frequent finding and rarely causes harm; no special maternal follow-up is needed.",
			"This is a common event at birth and does not affect your own recovery or future pregnancies.",
		})
	case lPROM:
		if f.PPROM {
			w.say([]string{
				"The membranes ruptured early, before 37 weeks; the risk of recurrence is raised, so treat any vaginal infection early next time.",
				"Because the waters broke preterm, book early in a next pregnancy and have vaginitis treated promptly.",
			})
		} else {
			w.say([]string{
				"The waters broke before labour; antibiotics were given to prevent infection.",
				"Your membranes ruptured before labour started, and you received preventive antibiotics.",
			})
		}
		w.say([]string{
			"Finish the antibiotics, watch for fever, foul lochia or uterine tenderness, and watch the baby for signs of infection.",
			"Complete the antibiotic course; fever, smelly discharge or a tender womb may mean endometritis, and the baby should be watched for infection.",
		})
	case lThal:
		w.say([]string{
			"Your partner should be screened, with genetic counselling; if both of you carry the trait, prenatal diagnosis is offered in a next pregnancy.",
			"Please arrange partner screening and genetic counselling, and make sure your baby has newborn thalassemia screening.",
			"Partner testing and genetic counselling are recommended, with prenatal diagnosis next time if both partners are carriers.",
		})
		w.say([]string{
			"Do not take iron unless ferritin shows deficiency; take folic acid and recheck the blood count at 42 days.",
			"Avoid iron tablets unless a ferritin test confirms iron deficiency; folic acid is advised and the count is rechecked at the 42-day visit.",
		})
	case lHypo:
		w.say([]string{
			"Return to your pre-pregnancy levothyroxine dose, or stop it if the condition began in pregnancy, and check TSH and FT4 about six weeks after the birth.",
			"Thyroid function (TSH, FT4) should be checked about six weeks postpartum; adjust levothyroxine back to the pre-pregnancy dose with your endocrinologist.",
		})
		w.say([]string{
			"Levothyroxine is safe with breastfeeding; take it fasting and apart from iron or calcium, and check the baby's TSH screen.",
			"Breastfeeding is fine on levothyroxine; take it on an empty stomach away from iron and calcium, and make sure the newborn TSH screen is done.",
		})
	case lFDHR:
		w.say([]string{
			"The abnormal fetal heart trace led to an expedited delivery; the paediatric team will follow the baby.",
			"Because of the fetal heart-rate changes the birth was hastened, and the baby will have paediatric follow-up.",
		})
		w.say([]string{"In a future pregnancy, count fetal movements daily and report any decrease.",
			"Next time, keep track of fetal movements and seek care if they lessen."})
	case lGH:
		w.say([]string{
			"Check your blood pressure at home twice daily, since it often peaks 3 to 7 days after birth; continue the antihypertensive and taper it as advised.",
			"Measure blood pressure morning and evening at home and keep taking the blood-pressure medicine until the doctor tapers it.",
		})
		w.say([]string{
			"Be reviewed within 7 to 10 days and at 6 weeks; if blood pressure is still high at 12 weeks, chronic hypertension must be excluded. Come immediately for severe headache, visual disturbance, upper abdominal pain or breathlessness.",
			"A review is due within 10 days and at 6 weeks; follow a low-salt diet and have yearly blood pressure, lipid and glucose checks. Return at once for severe headache, blurred vision, pain under the ribs or shortness of breath.",
		})
	case lFDAF:
		w.say([]string{
			"The amniotic fluid was meconium-stained; the baby is being watched for aspiration and will have paediatric follow-up.",
			"Meconium in the amniotic fluid means the baby needs observation for breathing problems and paediatric follow-up.",
		})
	case lPD:
		w.say([]string{
			"Placental insufficiency affected the baby's growth; the baby needs growth follow-up, and the risk of recurrence and of hypertension next time calls for early booking.",
			"Because the placenta did not work fully, the baby's growth will be followed, and in a next pregnancy book early; aspirin may be advised.",
		})
	case lRupture:
		w.say([]string{
			"The uterine rupture was repaired at operation and you received blood transfusion; continue iron and recheck the blood count.",
			"You needed an emergency operation to repair the uterus, with transfusion; take iron and have the haemoglobin rechecked.",
		})
		w.say([]string{
			"Any future pregnancy is high risk: wait at least two years, book early and plan a caesarean before labour. Psychological support is available.",
			"Another pregnancy should be at least two years away, with early booking and a planned caesarean before labour; please ask for support if you feel low.",
		})
	}
}
