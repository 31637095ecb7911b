package corpus

import "math"

// ObstetricIndicators returns the 35 laboratory indicators of the
// obstetric cohort with general medical knowledge about them: the codes,
// descriptions, units and physical ranges of the project's obstetric
// metric catalogue, the reference intervals of COHORT_SPEC §1.1 and what a
// value outside them means (COHORT_SPEC §2.2–2.3). Intervals are those of
// the third trimester where they differ by trimester, since the replies
// are written at delivery; where a clinical cut-off exists it is used
// instead (anaemia: haemoglobin below 110 g/L; thalassemia screening: MCV
// below 80 fL and MCH below 27 pg; thrombocytopenia: platelets below
// 150 ×10⁹/L; cholestasis: total bile acid of 10 µmol/L or more). No
// pregnancy interval is established for the large platelet count, the
// RDW-SD and the basophil ratio: their bounds are NaN. Source names the
// reference of each interval.
func ObstetricIndicators() []Indicator {
	nan := math.NaN()
	const (
		ag09     = "Abbassi-Ghanavati 2009, third trimester"
		jiang    = "Jiang 2014, healthy Chinese Han adults (Sysmex)"
		cnT2     = "Chinese second-trimester reference study 2020 (Sysmex XE-2100)"
		estimate = "COHORT_SPEC estimate"
		none     = "no pregnancy reference interval found"
	)
	const (
		anaemiaLow   = "anaemia; in pregnancy most often from iron deficiency, or thalassemia trait when the MCV is low too, and after delivery from blood loss"
		haemoconc    = "haemoconcentration, as seen in gestational hypertension and placental dysfunction"
		microcytic   = "microcytosis; thalassemia trait or iron deficiency, and a normal or raised red cell count with a normal RDW favours thalassemia trait"
		hypochromic  = "hypochromia; thalassemia trait or iron deficiency"
		liver        = "raised liver enzyme; think of intrahepatic cholestasis of pregnancy, severe gestational hypertension (preeclampsia or HELLP) or fatty liver"
		bilirubinUp  = "raised bilirubin; haemolysis (for example in HELLP) or liver disease"
		inflammation = "labour and the first days after delivery raise it; otherwise infection, including chorioamnionitis after premature rupture of membranes"
		bigPlatelets = "large platelets, which rise in gestational hypertension and preeclampsia"
	)
	return []Indicator{
		{Name: "pH", Description: "urine pH", Min: 4.5, Max: 9.0, Low: 4.6, High: 8, Decimals: 1,
			Below: "acidic urine, without a specific meaning in pregnancy", Above: "alkaline urine, often from a urinary infection or a standing sample", Source: "GPnotebook, urinalysis"},
		{Name: "ALB", Description: "albumin", Unit: "g/L", Min: 15, Max: 60, Low: 23, High: 42, Decimals: 1,
			Below: "low albumin; beyond the usual haemodilution of pregnancy think of severe gestational hypertension or poor nutrition", Source: ag09},
		{Name: "TP", Description: "total protein", Unit: "g/L", Min: 35, Max: 100, Low: 56, High: 67, Decimals: 1,
			Below: "low total protein; pregnancy lowers it by haemodilution, and more so with low albumin", Source: ag09},
		{Name: "IBIL", Description: "indirect bilirubin", Unit: "µmol/L", Min: 0, Max: 200, Low: 1.7, High: 8.5, Decimals: 1,
			Above: "raised unconjugated bilirubin; haemolysis, for example in HELLP", Source: ag09},
		{Name: "DBIL", Description: "direct bilirubin", Unit: "µmol/L", Min: 0, Max: 150, Low: 0, High: 3.4, Decimals: 1,
			Above: "raised conjugated bilirubin; cholestasis, such as intrahepatic cholestasis of pregnancy", Source: estimate + " (Chinese assays read above the US 0–1.7)"},
		{Name: "TBIL", Description: "total bilirubin", Unit: "µmol/L", Min: 0.5, Max: 300, Low: 3, High: 17, Decimals: 1,
			Above: bilirubinUp, Source: estimate + " (Chinese practice in normal pregnancy)"},
		{Name: "ALP", Description: "alkaline phosphatase", Unit: "U/L", Min: 10, Max: 1500, Low: 38, High: 229, Decimals: 0,
			Below: "low for late pregnancy, without a specific meaning", Above: "above the third-trimester interval; the placenta makes most of it at term, and a liver cause is checked with the other liver tests", Source: ag09},
		{Name: "ALT", Description: "alanine aminotransferase", Unit: "U/L", Min: 1, Max: 3000, Low: 2, High: 33, Decimals: 0,
			Above: liver, Source: "Abbassi-Ghanavati 2009, widest trimester"},
		{Name: "PA", Description: "prealbumin", Unit: "mg/L", Min: 20, Max: 600, Low: 88, High: 280, Decimals: 0,
			Below: "low prealbumin; poor nutrition or inflammation", Source: ag09},
		{Name: "TBA", Description: "total bile acid", Unit: "µmol/L", Min: 0, Max: 500, Low: nan, High: 10, Decimals: 1,
			Above: "intrahepatic cholestasis of pregnancy (10 µmol/L or more); the risk to the baby rises at 100 or more, and itching and liver tests are followed", Source: "ICP threshold, RCOG Green-top Guideline 43 (2022)"},
		{Name: "P-LCC", Description: "large platelet count", Unit: "10^9/L", Min: 0, Max: 400, Low: nan, High: nan, Decimals: 0, Source: none},
		{Name: "PCT", Description: "plateletcrit", Unit: "%", Min: 0.01, Max: 1.5, Low: 0.16, High: 0.41, Decimals: 2,
			Below: "low platelet mass, usually with a low platelet count", Source: jiang},
		{Name: "P-LCR", Description: "platelet-large cell ratio", Unit: "%", Min: 5, Max: 75, Low: 18.1, High: 52, Decimals: 1,
			Above: bigPlatelets, Source: jiang},
		{Name: "MPV", Description: "mean platelet volume", Unit: "fL", Min: 6, Max: 16, Low: 9.2, High: 13.3, Decimals: 1,
			Above: bigPlatelets, Source: jiang},
		{Name: "PDW", Description: "platelet distribution width", Unit: "fL", Min: 7, Max: 30, Low: 9.9, High: 19, Decimals: 1,
			Above: "wide platelet size spread, which rises in gestational hypertension", Source: jiang},
		{Name: "RDW-CV", Description: "red cell distribution width, coefficient of variation", Unit: "%", Min: 9, Max: 30, Low: 12.7, High: 15.3, Decimals: 1,
			Above: "unequal red cell sizes, typical of iron deficiency rather than thalassemia trait", Source: ag09},
		{Name: "RDW-SD", Description: "red cell distribution width, standard deviation", Unit: "fL", Min: 25, Max: 90, Low: nan, High: nan, Decimals: 1, Source: none},
		{Name: "BASO#", Description: "basophil count", Unit: "10^9/L", Min: 0, Max: 0.5, Low: 0, High: 0.1, Decimals: 2, Source: ag09},
		{Name: "EOS#", Description: "eosinophil count", Unit: "10^9/L", Min: 0, Max: 3, Low: 0, High: 0.6, Decimals: 2,
			Above: "eosinophilia; allergy or parasites", Source: ag09},
		{Name: "MONO#", Description: "monocyte count", Unit: "10^9/L", Min: 0, Max: 3, Low: 0.1, High: 1.4, Decimals: 2, Source: ag09},
		{Name: "LYMPH#", Description: "lymphocyte count", Unit: "10^9/L", Min: 0.1, Max: 8, Low: 1, High: 3.6, Decimals: 2,
			Below: "lymphopenia; common in labour and with infection", Source: ag09},
		{Name: "NEUT#", Description: "neutrophil count", Unit: "10^9/L", Min: 0.3, Max: 40, Low: 3.9, High: 13.1, Decimals: 2,
			Above: "neutrophilia; " + inflammation, Source: ag09},
		{Name: "BASO%", Description: "basophil ratio", Unit: "%", Min: 0, Max: 3, Low: nan, High: nan, Decimals: 1, Source: none},
		{Name: "EOS%", Description: "eosinophil ratio", Unit: "%", Min: 0, Max: 20, Low: 0, High: 2.36, Decimals: 1, Source: cnT2},
		{Name: "MONO%", Description: "monocyte ratio", Unit: "%", Min: 0, Max: 25, Low: 2.96, High: 7.91, Decimals: 1, Source: cnT2},
		{Name: "LYMPH%", Description: "lymphocyte ratio", Unit: "%", Min: 1, Max: 70, Low: 10.2, High: 29.2, Decimals: 1,
			Below: "a low lymphocyte share, the mirror of a high neutrophil share in labour or infection", Source: cnT2},
		{Name: "NEUT%", Description: "neutrophil ratio", Unit: "%", Min: 20, Max: 98, Low: 63.3, High: 84.5, Decimals: 1,
			Above: "a high neutrophil share; " + inflammation, Source: cnT2},
		{Name: "MCHC", Description: "mean corpuscular haemoglobin concentration", Unit: "g/L", Min: 250, Max: 400, Low: 321, High: 359, Decimals: 0,
			Below: hypochromic, Source: cnT2},
		{Name: "MCH", Description: "mean corpuscular haemoglobin", Unit: "pg", Min: 14, Max: 45, Low: 27, High: 36.9, Decimals: 1,
			Below: hypochromic, Source: "thalassemia screening cut-off (COHORT_SPEC §2.2); upper bound " + cnT2},
		{Name: "HCT", Description: "haematocrit", Unit: "%", Min: 15, Max: 60, Low: 28, High: 40, Decimals: 1,
			Below: "a low haematocrit, as in anaemia", Above: haemoconc, Source: ag09},
		{Name: "WBC", Description: "white blood cell count", Unit: "10^9/L", Min: 1, Max: 50, Low: 5.9, High: 16.9, Decimals: 2,
			Below: "leukopenia, uncommon in pregnancy; recheck", Above: "leukocytosis; " + inflammation, Source: ag09},
		{Name: "PLT", Description: "platelet count", Unit: "10^9/L", Min: 5, Max: 1000, Low: 150, High: 429, Decimals: 0,
			Below: "thrombocytopenia; at term most often gestational thrombocytopenia, and with gestational hypertension think of preeclampsia or HELLP; platelets are lowest on the first day after delivery", Source: "thrombocytopenia cut-off; upper bound " + ag09},
		{Name: "HGB", Description: "haemoglobin", Unit: "g/L", Min: 30, Max: 200, Low: 110, High: 150, Decimals: 0,
			Below: anaemiaLow, Above: haemoconc, Source: "anaemia cut-off in pregnancy (COHORT_SPEC §2.3); upper bound " + ag09},
		{Name: "MCV", Description: "mean corpuscular volume", Unit: "fL", Min: 50, Max: 130, Low: 80, High: 99, Decimals: 1,
			Below: microcytic, Above: "macrocytosis; folate or vitamin B12 deficiency", Source: "thalassemia screening cut-off (COHORT_SPEC §2.2); upper bound " + ag09},
		{Name: "RBC", Description: "red blood cell count", Unit: "10^12/L", Min: 1.5, Max: 7.5, Low: 2.71, High: 4.43, Decimals: 2,
			Below: "a low red cell count, as in anaemia or after blood loss", Above: "a high red cell count; with a low MCV this points to thalassemia trait (Mentzer index MCV/RBC below 13)", Source: ag09},
	}
}
