package cohort

// The twelve discharge diagnoses of the obstetric cohort (COHORT_SPEC §2), in
// the order of their single-label prevalence.
const (
	LabelNormal              = "normal"
	LabelUterineScar         = "uterine scar"
	LabelGestationalDiabetes = "gestational diabetes"
	LabelCordEntanglement    = "umbilical cord entanglement"
	LabelPROM                = "premature rupture of membranes"
	LabelThalassemia         = "thalassemia"
	LabelHypothyroidism      = "hypothyroidism in pregnancy"
	LabelFetalDistressHR     = "acute fetal distress, heart-rate type"
	LabelGestationalHyper    = "gestational hypertension"
	LabelFetalDistressAF     = "acute fetal distress, amniotic-fluid type"
	LabelPlacentalDysfunc    = "placental dysfunction"
	LabelUterineRupture      = "uterine rupture"
)

// ObstetricLabels returns the label set of the obstetric cohort.
func ObstetricLabels() []string {
	return []string{
		LabelNormal, LabelUterineScar, LabelGestationalDiabetes, LabelCordEntanglement,
		LabelPROM, LabelThalassemia, LabelHypothyroidism, LabelFetalDistressHR,
		LabelGestationalHyper, LabelFetalDistressAF, LabelPlacentalDysfunc, LabelUterineRupture,
	}
}

// ObstetricMetrics returns the catalogue of the 35 laboratory indicators of
// the paper's obstetric cohort, with SI units and the hard physical ranges of
// COHORT_SPEC §1.1, in the paper's order (appendix A.2).
func ObstetricMetrics() []Metric {
	return []Metric{
		{Name: "pH", Description: "urine pH", Unit: "", Min: 4.5, Max: 9.0},
		{Name: "ALB", Description: "albumin", Unit: "g/L", Min: 15, Max: 60},
		{Name: "TP", Description: "total protein", Unit: "g/L", Min: 35, Max: 100},
		{Name: "IBIL", Description: "indirect bilirubin", Unit: "µmol/L", Min: 0, Max: 200},
		{Name: "DBIL", Description: "direct bilirubin", Unit: "µmol/L", Min: 0, Max: 150},
		{Name: "TBIL", Description: "total bilirubin", Unit: "µmol/L", Min: 0.5, Max: 300},
		{Name: "ALP", Description: "alkaline phosphatase", Unit: "U/L", Min: 10, Max: 1500},
		{Name: "ALT", Description: "alanine aminotransferase", Unit: "U/L", Min: 1, Max: 3000},
		{Name: "PA", Description: "prealbumin", Unit: "mg/L", Min: 20, Max: 600},
		{Name: "TBA", Description: "total bile acid", Unit: "µmol/L", Min: 0, Max: 500},
		{Name: "P-LCC", Description: "large platelet count", Unit: "10^9/L", Min: 0, Max: 400},
		{Name: "PCT", Description: "plateletcrit", Unit: "%", Min: 0.01, Max: 1.5},
		{Name: "P-LCR", Description: "platelet-large cell ratio", Unit: "%", Min: 5, Max: 75},
		{Name: "MPV", Description: "mean platelet volume", Unit: "fL", Min: 6, Max: 16},
		{Name: "PDW", Description: "platelet distribution width", Unit: "fL", Min: 7, Max: 30},
		{Name: "RDW-CV", Description: "red cell distribution width, coefficient of variation", Unit: "%", Min: 9, Max: 30},
		{Name: "RDW-SD", Description: "red cell distribution width, standard deviation", Unit: "fL", Min: 25, Max: 90},
		{Name: "BASO#", Description: "basophil count", Unit: "10^9/L", Min: 0, Max: 0.5},
		{Name: "EOS#", Description: "eosinophil count", Unit: "10^9/L", Min: 0, Max: 3},
		{Name: "MONO#", Description: "monocyte count", Unit: "10^9/L", Min: 0, Max: 3},
		{Name: "LYMPH#", Description: "lymphocyte count", Unit: "10^9/L", Min: 0.1, Max: 8},
		{Name: "NEUT#", Description: "neutrophil count", Unit: "10^9/L", Min: 0.3, Max: 40},
		{Name: "BASO%", Description: "basophil ratio", Unit: "%", Min: 0, Max: 3},
		{Name: "EOS%", Description: "eosinophil ratio", Unit: "%", Min: 0, Max: 20},
		{Name: "MONO%", Description: "monocyte ratio", Unit: "%", Min: 0, Max: 25},
		{Name: "LYMPH%", Description: "lymphocyte ratio", Unit: "%", Min: 1, Max: 70},
		{Name: "NEUT%", Description: "neutrophil ratio", Unit: "%", Min: 20, Max: 98},
		{Name: "MCHC", Description: "mean corpuscular haemoglobin concentration", Unit: "g/L", Min: 250, Max: 400},
		{Name: "MCH", Description: "mean corpuscular haemoglobin", Unit: "pg", Min: 14, Max: 45},
		{Name: "HCT", Description: "haematocrit", Unit: "%", Min: 15, Max: 60},
		{Name: "WBC", Description: "white blood cell count", Unit: "10^9/L", Min: 1, Max: 50},
		{Name: "PLT", Description: "platelet count", Unit: "10^9/L", Min: 5, Max: 1000},
		{Name: "HGB", Description: "haemoglobin", Unit: "g/L", Min: 30, Max: 200},
		{Name: "MCV", Description: "mean corpuscular volume", Unit: "fL", Min: 50, Max: 130},
		{Name: "RBC", Description: "red blood cell count", Unit: "10^12/L", Min: 1.5, Max: 7.5},
	}
}

// NewObstetricCohort returns an empty cohort with the obstetric catalogue and
// label set.
func NewObstetricCohort() *Cohort {
	return &Cohort{Metrics: ObstetricMetrics(), Labels: ObstetricLabels()}
}
