package pmlm

import "errors"

// Sentinel errors of package pmlm; test with errors.Is. Each wrapped error
// keeps its cause, so errors.Is also finds the cause's sentinels (for
// example fs.ErrNotExist through Load).
var (
	// ErrOptions is returned when TrainOptions, LoadOptions or another
	// argument is invalid (a nil cohort, a bad split, a non-positive K).
	ErrOptions = errors.New("pmlm: invalid options")
	// ErrNoTraining is returned when the split leaves no training patient.
	ErrNoTraining = errors.New("pmlm: no training patients in the split")
	// ErrNoVisits is returned when a patient to answer has no visits.
	ErrNoVisits = errors.New("pmlm: patient has no visits")
	// ErrFitMismatch is returned by Train when TrainOptions.Fitted was
	// fitted on another training split or label set.
	ErrFitMismatch = errors.New("pmlm: fitted predictor does not match the cohort's split")
	// ErrPredictor is returned when the label predictor cannot be made,
	// fitted or run; the cause is wrapped.
	ErrPredictor = errors.New("pmlm: predictor")
	// ErrEncoder is returned when the patient encoder cannot be made or
	// fails on a patient; the cause is wrapped.
	ErrEncoder = errors.New("pmlm: patient encoder")
	// ErrRecommender is returned when the recommender cannot be built or
	// fails on a query; the cause is wrapped.
	ErrRecommender = errors.New("pmlm: recommender")
	// ErrResponder is returned when the responder fails; the cause is
	// wrapped.
	ErrResponder = errors.New("pmlm: responder")
	// ErrModel is returned when Load cannot use a model directory: another
	// format or version, a missing or corrupted file, a manifest whose
	// checksum does not match, a part of a kind no loader knows.
	ErrModel = errors.New("pmlm: unusable model directory")
	// ErrNotSaveable is returned by Save when a part does not implement
	// Saver.
	ErrNotSaveable = errors.New("pmlm: part cannot be saved")
	// ErrNotModelDir is returned by Save when something other than an
	// empty directory or a model directory written by Save is in the way:
	// Save never deletes what it did not write.
	ErrNotModelDir = errors.New("pmlm: not a model directory")
	// ErrStoreCases is returned by Save for a pipeline whose responder is
	// the offline case responder, trained without TrainOptions.StoreCases:
	// the case responder answers with the training patients' verbatim
	// replies, so its model directory would hold them.
	ErrStoreCases = errors.New("pmlm: the model's case responder answers with the training patients' replies; " +
		"store them only by choice: train with TrainOptions.StoreCases (pmlm train --store-cases), or against another responder")
)
