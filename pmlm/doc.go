// Package pmlm is the façade of the library: the end-to-end Pipeline of
// PMLM ("From General to Specific: Tailoring Large Language Models for
// Personalized Healthcare"), which turns a patient's lab history into a
// personalized, privacy-preserving prompt for an LLM.
//
//	p, err := pmlm.Train(ctx, c, pmlm.TrainOptions{Seed: 1})         // c: a *cohort.Cohort
//	answer, err := p.Respond(ctx, c.Patient("p0001"), pmlm.RespondOptions{})
//	err = p.Save("model")
//	p, err = pmlm.Load(ctx, "model", pmlm.LoadOptions{})
//
// Train fits the pipeline on a cohort's training split (package
// pmlm/cohort reads and validates cohorts; pmlm/synth generates one):
//
//  1. a label predictor (default: MiniRocket + ridge) gives the patient's
//     predicted diagnosis;
//  2. a patient encoder (default: the paper's MLP) maps the visits to a
//     vector and a recommender (default: exact cosine top-k) finds the k
//     most similar training patients;
//  3. a PromptBuilder renders the coarse prompt from the two — no
//     identifier, no lab value;
//  4. a policy (default: the paper's MLP) learns by REINFORCE which words
//     to delete, rewarded by BERTScore of the responder's answer.
//
// Respond runs the four steps for one patient and asks the responder
// (default: the offline case responder; any llm.Responder). Evaluate
// scores a set of patients before and after refinement (paper table 1).
//
// # Plug-in points
//
// Every part is an interface, and nil means the default: TrainOptions
// takes a PredictorFactory (used for the kept predictor and every
// cross-fitting fold), an EncoderFactory (the retrieval encoder; the
// policy fine-tunes a copy when the encoder can be differentiated), a
// RecommenderFactory, a PolicyFactory, a TextEncoder and a Responder.
//
// # Patient keys
//
// A patient is identified across the parts by an opaque key, the cohort's
// patient ID. The recommender's references carry it (similarity.Reference),
// and exclusion is by key, passed explicitly in each request
// (similarity.Query.Exclude, llm.Request.Exclude): a training patient is
// never its own neighbour, and a responder that knows patient records (the
// case responder) never answers a patient from its own record. Nothing is
// excluded by slice position or through a context value, so an external
// index with incremental updates and the response cache honour it too.
//
// # Model directories
//
// Save writes each part that implements Saver to its own file and a
// Manifest (manifest.json): schema version, each part's kind, file and
// SHA-256, the text encoder, the responder's identity (provider and model,
// no secrets), the data the model was trained on (metric catalogue, labels,
// split, cohort digest, ablation flags), the prompt settings, and a
// checksum over the manifest's own canonical content. Load finds each
// part's loader by kind in LoadOptions.Loaders, then in DefaultLoaders;
// there is no process-wide registry.
//
// Lower packages (encoder, similarity, policy, reward, llm) work on plain
// values; this package knows the domain types and wires them together.
package pmlm
