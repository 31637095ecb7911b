// Package pmlm is the façade of the library: the end-to-end Pipeline of the
// PMLM paper ("From General to Specific: Tailoring Large Language Models for
// Personalized Healthcare"). Train fits it on a cohort (package
// pmlm/cohort), Respond builds a patient's personalized prompt and asks the
// responder LLM, Evaluate scores the answers, and Save and Load keep a
// trained pipeline in a model directory.
//
// Lower packages (encoder, similarity, policy, reward, llm) work on plain
// values; this package knows the domain types and wires them together.
package pmlm
