// Package api holds the types of pmlm's HTTP/JSON API (served by package
// pmlm/server, spoken by package pmlm/client) and its OpenAPI 3.1
// description (OpenAPI). It imports nothing but the standard library.
//
// Routes:
//
//	POST /v1/prompt    PatientRequest → PromptResponse
//	POST /v1/respond   PatientRequest → RespondResponse
//	POST /v1/score     ScoreRequest   → ScoreResponse
//	GET  /v1/model     → ModelResponse
//	GET  /healthz      → Health (the process is up)
//	GET  /readyz       → Health (the model is loaded and the server accepts work)
//	GET  /metrics      Prometheus text format
//	GET  /openapi.json the OpenAPI document
//
// Errors are RFC 9457 problem details (Problem, media type
// application/problem+json) that name the offending field with a JSON
// pointer.
package api

import (
	_ "embed"
)

// Media types of the API.
const (
	MediaJSON    = "application/json"
	MediaProblem = "application/problem+json"
)

// Visit is one lab examination: its date and the values measured, keyed
// by the model's metric names (GET /v1/model lists them). A metric absent
// from Values, or null, was not measured.
type Visit struct {
	// Date is the examination date, YYYY-MM-DD.
	Date string `json:"date"`
	// Values maps a metric name (exact, case-sensitive) to the value in
	// the metric's unit.
	Values map[string]*float64 `json:"values"`
}

// PatientRequest is the body of POST /v1/prompt and POST /v1/respond.
type PatientRequest struct {
	// Key is an optional opaque key of the patient. When it is the key of
	// one of the model's training patients, that patient is left out of
	// its own similar patients and of the responder's knowledge. It is
	// never logged.
	Key string `json:"key,omitempty"`
	// Visits are the patient's examinations, in any order (they are
	// sorted by date).
	Visits []Visit `json:"visits"`
	// Lenient skips the visits that do not fit the model (values outside
	// the physical range, too many visits: the earliest go) and ignores
	// unknown metrics, listing them in Problems, instead of refusing the
	// request.
	Lenient bool `json:"lenient,omitempty"`
	// Refine is how the coarse prompt is refined: RefinePolicy (empty
	// means it: the paper's method) or RefineBayes (minimum Bayes risk,
	// beyond the paper; POST /v1/respond only, on a server that has it:
	// ModelResponse.BayesRefinement).
	Refine string `json:"refine,omitempty"`
}

// Values of PatientRequest.Refine.
const (
	RefinePolicy = "policy"
	RefineBayes  = "bayes"
)

// LabelCount is a label among the similar patients, with how many of them
// had it.
type LabelCount struct {
	Label          string  `json:"label"`
	Count          int     `json:"count"`
	MeanSimilarity float64 `json:"mean_similarity"`
}

// Deletion is one word the policy removed from the coarse prompt.
type Deletion struct {
	// Step is the refinement step (0-based), Word the deleted word, Index
	// its position in the coarse prompt (whitespace-separated words) and
	// Prob the probability the policy gave its deletion.
	Step  int     `json:"step"`
	Word  string  `json:"word"`
	Index int     `json:"index"`
	Prob  float64 `json:"prob"`
}

// Skipped is one thing a lenient request skipped or ignored.
type Skipped struct {
	// Pointer is the JSON pointer of the field concerned, e.g.
	// "/visits/3/values/HGB".
	Pointer string `json:"pointer"`
	Detail  string `json:"detail"`
}

// PromptResponse is the answer of POST /v1/prompt.
type PromptResponse struct {
	PredictedLabel string       `json:"predicted_label"`
	Similar        []LabelCount `json:"similar"`
	// Coarse is the coarse prompt, Final the refined prompt sent to the
	// responder, Deletions the words removed, in order.
	Coarse    string     `json:"coarse"`
	Final     string     `json:"final"`
	Deletions []Deletion `json:"deletions"`
	// Skipped lists what a lenient request left out.
	Skipped []Skipped `json:"skipped,omitempty"`
}

// Answer is the responder's answer to the refined prompt.
type Answer struct {
	Text string `json:"text"`
	// Provider and Model identify the responder.
	Provider string `json:"provider"`
	Model    string `json:"model"`
	// Cached is true when the answer came from a response cache.
	Cached bool `json:"cached"`
}

// RespondResponse is the answer of POST /v1/respond.
type RespondResponse struct {
	PromptResponse
	Answer Answer `json:"answer"`
	// Bayes summarises a refinement by minimum Bayes risk (refine: bayes).
	Bayes *Bayes `json:"bayes,omitempty"`
}

// Bayes is what a refinement by minimum Bayes risk weighed: the distinct
// candidate prompts the responder answered, and the expected BERTScore-F1
// (0–1) of the chosen answer and of the coarse prompt's answer under the
// belief about the diagnosis.
type Bayes struct {
	Candidates       int     `json:"candidates"`
	ExpectedF1       float64 `json:"expected_f1"`
	CoarseExpectedF1 float64 `json:"coarse_expected_f1"`
}

// ScoreRequest is the body of POST /v1/score: a candidate text and the
// references it is scored against.
type ScoreRequest struct {
	Candidate  string   `json:"candidate"`
	References []string `json:"references"`
}

// Scores are the evaluation's measures on a 0–100 scale.
type Scores struct {
	BLEU4      float64 `json:"bleu4"`
	ROUGE1     float64 `json:"rouge1"`
	ROUGE2     float64 `json:"rouge2"`
	ROUGEL     float64 `json:"rougeL"`
	BERTScoreP float64 `json:"bertscore_p"`
	BERTScoreR float64 `json:"bertscore_r"`
	BERTScoreF float64 `json:"bertscore_f"`
}

// ScoreResponse is the answer of POST /v1/score.
type ScoreResponse struct {
	// Each holds the candidate's scores against each reference (BLEU4:
	// the sentence's BLEU-4), in request order.
	Each []Scores `json:"each"`
	// Mean averages Each, BLEU4 being the corpus BLEU-4 of the pairs.
	Mean Scores `json:"mean"`
	// Embedder names the text encoder of BERTScore.
	Embedder string `json:"embedder"`
}

// Metric is one lab metric of the model's catalogue.
type Metric struct {
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Unit        string  `json:"unit"`
	Min         float64 `json:"min"`
	Max         float64 `json:"max"`
}

// Responder identifies the responder without secrets.
type Responder struct {
	Provider string `json:"provider"`
	Model    string `json:"model"`
}

// ModelResponse is the answer of GET /v1/model: what the served model
// expects and is made of.
type ModelResponse struct {
	// Format, Version and Checksum are the model directory's manifest's.
	Format   string `json:"format"`
	Version  int    `json:"version"`
	Checksum string `json:"checksum"`
	// Metrics is the catalogue the visits' values are matched to by name;
	// MaxVisits the most visits a patient may have.
	Metrics   []Metric `json:"metrics"`
	MaxVisits int      `json:"max_visits"`
	// Labels is the label set the predictor chooses from.
	Labels []string `json:"labels"`
	// Parts maps a part's role (predictor, encoder, policy, ...) to its
	// kind, e.g. "predict.minirocket/1".
	Parts       map[string]string `json:"parts"`
	TextEncoder string            `json:"text_encoder"`
	Responder   Responder         `json:"responder"`
	// K is the number of similar patients, Steps the words deleted.
	K     int `json:"k"`
	Steps int `json:"steps"`
	// BayesRefinement tells whether POST /v1/respond accepts refine:
	// bayes (the server was given the training replies it needs).
	BayesRefinement bool `json:"bayes_refinement"`
}

// Health is the answer of GET /healthz and GET /readyz.
type Health struct {
	Status string `json:"status"`
}

// Problem is an RFC 9457 problem details object.
type Problem struct {
	// Type is a URI naming the problem type; Title its summary.
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	// Detail explains this occurrence.
	Detail string `json:"detail,omitempty"`
	// Errors name the offending fields (an extension member).
	Errors []FieldError `json:"errors,omitempty"`
}

// FieldError is one offending field of a request.
type FieldError struct {
	// Pointer is the field's JSON pointer (RFC 6901), e.g.
	// "/visits/0/values/HGB"; empty for the body as a whole.
	Pointer string `json:"pointer"`
	Detail  string `json:"detail"`
}

// Problem types (the Type member).
const (
	ProblemInvalidJSON  = "https://pmlm-go.github.io/problems/invalid-json"
	ProblemInvalidField = "https://pmlm-go.github.io/problems/invalid-field"
	ProblemPatient      = "https://pmlm-go.github.io/problems/patient-does-not-fit"
	ProblemTooLarge     = "https://pmlm-go.github.io/problems/body-too-large"
	ProblemMediaType    = "https://pmlm-go.github.io/problems/unsupported-media-type"
	ProblemUnauthorized = "https://pmlm-go.github.io/problems/unauthorized"
	ProblemNotFound     = "https://pmlm-go.github.io/problems/not-found"
	ProblemMethod       = "https://pmlm-go.github.io/problems/method-not-allowed"
	ProblemBusy         = "https://pmlm-go.github.io/problems/busy"
	ProblemTimeout      = "https://pmlm-go.github.io/problems/timeout"
	ProblemResponder    = "https://pmlm-go.github.io/problems/responder-failed"
	ProblemInternal     = "https://pmlm-go.github.io/problems/internal"
	ProblemShuttingDown = "https://pmlm-go.github.io/problems/shutting-down"
)

//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the API's OpenAPI 3.1 document (JSON).
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }
