// Package synth generates a synthetic stand-in for the paper's obstetric
// cohort, following COHORT_SPEC.md: patients with laboratory trajectories over
// their pregnancy and delivery admission, one discharge diagnosis each, and a
// doctor's discharge response written from the patient's own records.
//
// The generator is deterministic for a seed. Every random draw comes from one
// math/rand/v2 PCG source seeded from Options.Seed; nothing global is touched.
//
// Primary variables (RBC, MCV, MCH, PLT, MPV, RDW-CV, the five differential
// counts, the bilirubins, albumin and globulin, plus the free analytes pH,
// ALP, ALT, PA and TBA) are simulated with a patient random intercept and an
// AR(1) residual, rounded to display precision, and every derived indicator
// (HGB, HCT, MCHC, WBC, the percentages, TBIL, TP, PCT, P-LCR, P-LCC, PDW,
// RDW-SD) is computed from the rounded primaries, so the relations of
// COHORT_SPEC §1.2 hold on the stored values.
package synth

import (
	"errors"
	"fmt"
)

// Defaults of the paper's cohort (COHORT_SPEC §0).
const (
	DefaultPatients = 2373
	DefaultVisits   = 38817
	// DefaultInformativeMissingness is the factor by which gestational
	// hypertension, placental dysfunction and hidden cholestasis raise the
	// rate of liver-panel and bile-acid orders (COHORT_SPEC §1.4).
	DefaultInformativeMissingness = 1.5
)

// defaultThalassemiaShare is the single-label share of thalassemia in the
// default cohort, 107 of 2,373.
const defaultThalassemiaShare = 107.0 / 2373.0

// ErrOptions marks invalid generator options.
var ErrOptions = errors.New("synth: invalid options")

// Options configures Generate. The zero value of every field means "the
// default"; DefaultOptions spells the defaults out.
type Options struct {
	// Seed seeds the generator's only random source.
	Seed uint64
	// Patients is the number of patients (default 2,373).
	Patients int
	// Visits is the total number of examination records. Zero means 38,817
	// for 2,373 patients and otherwise the same mean of about 16.36 per
	// patient. It must lie between 2 and MaxVisits per patient on average.
	Visits int
	// MaxVisits caps the records of one patient (default 45). One patient
	// has exactly MaxVisits records whenever Visits leaves room for it.
	MaxVisits int
	// ThalassemiaShare is the share of patients labelled thalassemia
	// (default 107/2,373 ≈ 4.5%). It is the region knob of COHORT_SPEC §2.1:
	// southern provinces carry far more thalassemia trait. The other labels
	// keep their relative sizes. Zero means the default.
	ThalassemiaShare float64
	// InformativeMissingness multiplies the liver-panel and bile-acid order
	// rates of patients with gestational hypertension, placental
	// dysfunction or hidden cholestasis (default 1.5; 1 turns the leakage
	// route off).
	InformativeMissingness float64
	// NoMeasurementNoise leaves out analyser noise: the 1.5% coefficient of
	// variation of every value and the scatter of the derived platelet and
	// red-cell indices. NoMissingValues records every value of every visit.
	// Either makes the cohort the twin of the default one of the same seed:
	// every draw is made as there and the responses are written from its
	// values, so the same patients have the same labels, visit dates,
	// responses and latent values, and only the displayed values differ
	// (by the noise; the gaps filled). Label effects, hidden conditions and
	// the patients' biological variation stay either way. Both together
	// give the reference of what a predictor could learn from perfectly
	// measured labs, patient by patient; note that they also remove the
	// informative missingness (InformativeMissingness), a route by which
	// the labels leak into which tests were ordered.
	NoMeasurementNoise, NoMissingValues bool
}

// DefaultOptions returns the options that reproduce the paper's cohort shape.
func DefaultOptions() Options {
	return Options{
		Patients:               DefaultPatients,
		Visits:                 DefaultVisits,
		MaxVisits:              45,
		ThalassemiaShare:       defaultThalassemiaShare,
		InformativeMissingness: DefaultInformativeMissingness,
	}
}

// withDefaults fills zero fields and checks the result.
func (o Options) withDefaults() (Options, error) {
	if o.Patients == 0 {
		o.Patients = DefaultPatients
	}
	if o.MaxVisits == 0 {
		o.MaxVisits = 45
	}
	if o.Visits == 0 {
		if o.Patients == DefaultPatients {
			o.Visits = DefaultVisits
		} else {
			o.Visits = int(float64(o.Patients)*float64(DefaultVisits)/float64(DefaultPatients) + 0.5)
		}
	}
	if o.ThalassemiaShare == 0 {
		o.ThalassemiaShare = defaultThalassemiaShare
	}
	if o.InformativeMissingness == 0 {
		o.InformativeMissingness = DefaultInformativeMissingness
	}
	switch {
	case o.Patients < 1:
		return o, fmt.Errorf("%w: %d patients", ErrOptions, o.Patients)
	case o.MaxVisits < minVisits:
		return o, fmt.Errorf("%w: at most %d visits per patient, need at least %d", ErrOptions, o.MaxVisits, minVisits)
	case o.Visits < minVisits*o.Patients || o.Visits > o.MaxVisits*o.Patients:
		return o, fmt.Errorf("%w: %d visits for %d patients: need %d to %d", ErrOptions,
			o.Visits, o.Patients, minVisits*o.Patients, o.MaxVisits*o.Patients)
	case o.ThalassemiaShare < 0 || o.ThalassemiaShare > 0.5:
		return o, fmt.Errorf("%w: thalassemia share %g outside [0, 0.5]", ErrOptions, o.ThalassemiaShare)
	case o.InformativeMissingness < 0 || o.InformativeMissingness > 2:
		return o, fmt.Errorf("%w: informative missingness %g outside (0, 2]", ErrOptions, o.InformativeMissingness)
	}
	return o, nil
}

// minVisits is the fewest records a patient has: the delivery admission
// always yields a pre-delivery and a postpartum blood count.
const minVisits = 2
