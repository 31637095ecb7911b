// Package corpus generates the training corpus of the project's *general*
// responder: a small language model that plays the role GPT-4 plays in the
// PMLM paper. Such a model knows what advice fits which diagnoses and what
// laboratory values mean in general, but it was never fitted to PMLM's
// coarse-prompt template. This package therefore works on plain values
// (diagnosis names, doctors' replies, indicator reference intervals) and
// imports neither the façade nor the prompt package: the template cannot
// leak into the corpus. NGramOverlap measures how much of a prompt's
// wording the corpus inputs share anyway.
//
// # What the corpus holds
//
// Build returns input/output pairs of five kinds:
//
//   - KindSingle: one diagnosis in one of a dozen phrasings ("Discharge
//     diagnosis: thalassemia.", "What should a mother with thalassemia be
//     told when she goes home?", or just the name), paired with the reply
//     of a training patient with that diagnosis. Default: 2 per case.
//   - KindDifferential: several candidate diagnoses with counts ("X in 6 of
//     10 comparable cases, Y in 3, Z in 1"), percentages, and sometimes a
//     leading diagnosis ("Working diagnosis: X."). Default: 2 per case.
//   - KindLikelihood: candidates with likelihood words ("most likely X;
//     possibly Y; Z cannot be excluded"). Default: 1 per case.
//   - KindLab: what a value, a pair of values or a change between two
//     values means against the indicator's reference interval ("A
//     haemoglobin of 95 g/L is below the reference interval of 110–150
//     g/L: anaemia; …"). Default: 24 per indicator.
//   - KindSignature: what a pattern of values points to ("MCV 67.1 fL, MCH
//     17.9 pg, RBC 4.90 10^12/L." → "… the pattern of thalassemia trait
//     …"), and which diagnoses the blood tests cannot show ("Which blood
//     results point to uterine scar?" → "None: …"), from
//     Options.Signatures. Default: 20 per signature.
//
// Diagnosis names are written exactly as given, never capitalized, so that
// their words are the same tokens wherever they appear.
//
// On the default synthetic cohort (1,694 training patients, 35 indicators,
// the 14 ObstetricSignatures) the defaults give 3,388 single, 3,388
// differential, 1,694 likelihood, 840 lab and 280 signature pairs
// (`pmlm corpus DIR`).
//
// # How a mixture chooses its reply
//
// A differential or likelihood input is drawn first, the reply after it:
// the reply's diagnosis is sampled with probability proportional to the
// weight the input states for it (a count, a percentage, a likelihood
// level, plus Options.LeadWeight of the total for a leading diagnosis), and
// the reply is the next unused one of a training patient with that
// diagnosis. So the corpus's conditional distribution of replies given an
// input is exactly the one the input's words state, and a model trained on
// it answers with the dominant candidate's advice. Deleting the words of a
// candidate (its name, or its count) removes its weight, and when it was
// the dominant one the answer changes: that is what a word-deleting prompt
// policy can act on. Candidates are listed by decreasing weight most of the
// time, but not always, so that the model must read the numbers and words,
// not only the order. Candidates are drawn with probability proportional to
// the square root of their number of cases, so that rare diagnoses appear
// without their few replies dominating the corpus.
//
// Diagnosis inputs get an opening or closing task sentence of this
// package's own (Options.Preamble), so that the model also meets task
// words, but none of PMLM's template.
//
// # Overlap with PMLM's coarse prompts
//
// On the default synthetic cohort, the word n-grams of the 339 test
// patients' coarse prompts found in the default corpus's inputs (`pmlm
// corpus DIR --overlap`, NGramOverlap) are 79.5 % of unigrams, 30.9 % of
// bigrams, 12.8 % of trigrams and 5.1 % of 4-grams. The shared trigrams
// and 4-grams are almost all diagnosis names ("premature rupture of
// membranes", "acute fetal distress heart rate type"), a count before a
// name, and "the discharge advice" / "diagnosis is …"; none of the
// template's sentences.
//
// # Privacy
//
// A Case has no identifier, and the outputs are doctors' replies of the
// training split verbatim: a model trained on them can reproduce them, so
// the corpus and such a model are patient data.
package corpus
