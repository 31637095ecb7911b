package corpus

import (
	"fmt"
	"strings"
)

// Sign is one indicator's direction in a laboratory pattern.
type Sign struct {
	// Name is the indicator's code, as in Indicator.Name.
	Name string
	// Dir is -1 for a value below the reference interval, +1 above.
	Dir int
}

// Signature is what the laboratory shows for a condition: a pattern of
// indicators and what it means, or the fact that the blood tests show
// nothing specific.
type Signature struct {
	// Condition names what the pattern points to; for a discharge
	// diagnosis, its name exactly as in the label set.
	Condition string
	// Signs are the indicators that move; empty when the condition has no
	// laboratory signature among the indicators.
	Signs []Sign
	// Text explains the pattern, or its absence, in full sentences.
	Text string
}

// Validate reports an ErrInput error for an empty condition or text, or
// a sign without a name or with a direction other than -1 or +1.
func (s Signature) Validate() error {
	if strings.TrimSpace(s.Condition) == "" || strings.TrimSpace(s.Text) == "" {
		return fmt.Errorf("%w: signature %q: empty condition or text", ErrInput, s.Condition)
	}
	for _, sg := range s.Signs {
		if strings.TrimSpace(sg.Name) == "" || (sg.Dir != -1 && sg.Dir != 1) {
			return fmt.Errorf("%w: signature %q: sign %+v", ErrInput, s.Condition, sg)
		}
	}
	return nil
}

// signatureQuestions ask about a condition; %s is its name.
var signatureQuestions = []string{
	"Which blood results point to %s?",
	"Can the laboratory tests show %s?",
	"What do the blood tests show in %s?",
	"Lab findings in %s?",
}

// signature writes a pair about s: when all its signs' indicators are
// known and half the time, values showing the pattern, answered by what
// each value is and the explanation; otherwise a question about the
// condition, answered by the explanation.
func (g *generator) signature(s Signature, inds []Indicator) Pair {
	type shownSign struct {
		in  Indicator
		dir int
	}
	var shown []shownSign
	for _, sg := range s.Signs {
		for _, in := range inds {
			if _, _, ok := in.zone(sg.Dir); ok && in.Name == sg.Name {
				shown = append(shown, shownSign{in, sg.Dir})
				break
			}
		}
	}
	if len(s.Signs) == 0 || len(shown) < len(s.Signs) || g.chance(0.5) {
		return Pair{Input: fmt.Sprintf(pick(g.rng, signatureQuestions), s.Condition), Output: s.Text, Kind: KindSignature}
	}
	values := make([]string, len(shown))
	reads := make([]string, len(shown))
	for i, x := range shown {
		v := g.valueOf(x.in, x.dir)
		values[i] = x.in.Name + " " + x.in.Format(v)
		reads[i] = values[i] + " is " + [...]string{"low", "within the reference interval", "high"}[x.in.Class(v)+1]
	}
	input := strings.Join(values, ", ") + "."
	if g.chance(0.5) {
		input = "Results: " + input + " What do they suggest?"
	}
	return Pair{Input: input, Output: sentence(listAnd(reads)) + ". " + s.Text, Kind: KindSignature}
}

// ObstetricSignatures returns what the 35 obstetric indicators show, or do
// not show, for the cohort's twelve diagnoses and two unlabelled
// conditions of pregnancy, after COHORT_SPEC §2.2–2.3.
func ObstetricSignatures() []Signature {
	return []Signature{
		{Condition: "thalassemia", Signs: []Sign{{"MCV", -1}, {"MCH", -1}, {"RBC", 1}},
			Text: "Small, pale red cells with a normal or high red cell count are the pattern of thalassemia trait: the Mentzer index (MCV divided by RBC) is usually below 13 and the RDW near normal. Iron deficiency instead lowers the red cell count and widens the RDW. Many α+ carriers look near normal."},
		{Condition: "iron-deficiency anaemia", Signs: []Sign{{"HGB", -1}, {"MCV", -1}, {"RBC", -1}, {"RDW-CV", 1}},
			Text: "Anaemia with small red cells, a low red cell count and a wide RDW is the pattern of iron deficiency, the commonest anaemia of pregnancy (about one woman in seven). It is treated with iron, after it has been told apart from thalassemia trait."},
		{Condition: "gestational hypertension", Signs: []Sign{{"PLT", -1}, {"MPV", 1}, {"HGB", 1}},
			Text: "Falling platelets with large platelets and haemoconcentration are seen in gestational hypertension, more so in preeclampsia; albumin falls and ALT may rise. In the severe, HELLP-like form platelets drop below 100 and liver enzymes reach the hundreds. Blood pressure, which the laboratory does not measure, makes the diagnosis."},
		{Condition: "premature rupture of membranes", Signs: []Sign{{"WBC", 1}, {"NEUT%", 1}, {"LYMPH%", -1}},
			Text: "A raised white cell count with a high neutrophil share (a neutrophil-to-lymphocyte ratio above about 6) at admission means inflammation: labour raises it, and after premature rupture of membranes it warns of chorioamnionitis. Before the membranes rupture the blood count shows nothing."},
		{Condition: "intrahepatic cholestasis of pregnancy", Signs: []Sign{{"TBA", 1}, {"ALT", 1}},
			Text: "A total bile acid of 10 µmol/L or more with raised ALT from the third trimester is intrahepatic cholestasis of pregnancy. It resolves after delivery; at 100 µmol/L or more the risk to the baby rises, and it makes meconium-stained amniotic fluid more likely."},
		{Condition: "placental dysfunction", Signs: []Sign{{"HGB", 1}, {"PLT", -1}},
			Text: "A slightly high haemoglobin, because the plasma volume fails to expand, and slightly low platelets from about 24 weeks are weak signs of placental dysfunction. Ultrasound of the baby's growth, not the blood count, makes the diagnosis."},
		{Condition: "gestational diabetes",
			Text: "Gestational diabetes is diagnosed by a 75-g glucose tolerance test at 24 to 28 weeks, which is not among these blood tests. The blood count shows at most a slightly higher white cell count and haemoglobin."},
		{Condition: "uterine scar",
			Text: "None: a uterine scar is the mark of a previous caesarean section, which no blood test measures."},
		{Condition: "umbilical cord entanglement",
			Text: "None: a cord around the baby is found on ultrasound or at the birth, and the mother's blood shows nothing. It is common, in about one birth in five."},
		{Condition: "hypothyroidism in pregnancy",
			Text: "Not from these indicators: thyroid function (TSH and FT4) is a separate test, and a treated mother's blood count is normal."},
		{Condition: "acute fetal distress, heart-rate type",
			Text: "None in the mother's blood: it is found on the baby's heart-rate trace during labour."},
		{Condition: "acute fetal distress, amniotic-fluid type",
			Text: "Not directly: meconium-stained amniotic fluid is seen when the membranes rupture. Raised bile acids (cholestasis) make it more likely."},
		{Condition: "uterine rupture",
			Text: "Nothing before the event; afterwards haemoglobin falls sharply, by 25 to 45 g/L, with falling platelets and a rising white cell count from the bleeding."},
		{Condition: "normal",
			Text: "A normal pregnancy still changes the blood: haemoglobin dips by dilution, alkaline phosphatase rises up to about 229 U/L at term because the placenta makes it, and the white cell count rises in labour."},
	}
}
