package pmlm

import (
	"fmt"

	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/prompt"
)

// LabSeries returns a patient's visits as one prompt.Series per metric of
// the catalogue, in catalogue order, with days counted from the first
// visit; missing values stay NaN (prompt.LabHistory leaves them out).
func LabSeries(metrics []cohort.Metric, p *cohort.Patient) []prompt.Series {
	out := make([]prompt.Series, len(metrics))
	for m, metric := range metrics {
		s := prompt.Series{Name: metric.Name, Unit: metric.Unit,
			Days: make([]float64, len(p.Visits)), Values: make([]float64, len(p.Visits))}
		for i, v := range p.Visits {
			s.Days[i] = v.Date.Sub(p.Visits[0].Date).Hours() / 24
			s.Values[i] = cohort.Missing()
			if m < len(v.Values) {
				s.Values[i] = v.Values[m]
			}
		}
		out[m] = s
	}
	return out
}

// GeneralPrompt returns the paper's evaluation prompt (figure 5) for a
// patient: prompt.General over the prompt.LabHistory of her visits, with
// opt choosing the indicators and the detail. It carries raw laboratory
// values: send it to an external LLM only on the user's explicit opt-in,
// or to a model the hospital hosts itself.
func GeneralPrompt(metrics []cohort.Metric, p *cohort.Patient, opt prompt.HistoryOptions) (string, error) {
	h, err := prompt.LabHistory(LabSeries(metrics, p), opt)
	if err != nil {
		return "", fmt.Errorf("pmlm: general prompt: %w", err)
	}
	return prompt.General(h), nil
}

// KeyObstetricIndicators returns the codes of the obstetric indicators a
// discharge letter quotes (COHORT_SPEC §4.3: the haemoglobin trend for
// every diagnosis, MCV, MCH and RBC for thalassemia, PLT, ALT and ALB for
// gestational hypertension, WBC and NEUT% for PROM, TBA and ALP for the
// liver and the placenta), for a shorter general prompt
// (prompt.HistoryOptions.Only).
func KeyObstetricIndicators() []string {
	return []string{"HGB", "MCV", "MCH", "RBC", "PLT", "ALT", "ALB", "WBC", "NEUT%", "TBA", "ALP"}
}
