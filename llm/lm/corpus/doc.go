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
//   - KindDifferential: several candidate diagnoses with counts, in some
//     twenty phrasings ("X in 6 of 10 comparable cases, Y in 3", "6 of 10
//     similar patients had X. 3 of 10 had Y.", "X (6), Y (3) and Z (1)",
//     "X: 6 cases", "X — 6 patients", "X was the diagnosis for 6 of them,
//     Y for 3", "6 with X and 3 with Y", "X 60%", …), and sometimes a
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
// differential, 1,694 likelihood, 840 lab and 280 signature pairs, 9,590
// in all (`pmlm corpus DIR`).
//
// # Robustness: context sentences and deleted words
//
// A general LLM reads a diagnosis buried in a long request, and still
// reads it when words are missing; PMLM's coarse prompt is about 110 words
// of which a few name diagnoses, and its policy deletes up to 10 of them.
// So the diagnosis inputs are not only short, clean statements:
//
//   - Context (default 0.8) of them get 1 to MaxContext (default 6)
//     context sentences of this package's own, before, after and between
//     the diagnosis sentences, drawn without repetition from a pool of
//     over 120: where the data come from (blood counts over the
//     pregnancy, records, visits), who is asking, what is wanted
//     (discharge advice, plain words, follow-up), format requests, the
//     setting (ward, clinic, home), general clinical reasoning ("Lab
//     results alone rarely settle the diagnosis."), administrative
//     remarks. They hold no number and name no diagnosis: a sentence
//     containing one of Build's labels is left out of the pool. With the
//     task sentences (Preamble), diagnosis inputs on the default cohort
//     have 1 to 170 words, median 49, 90th percentile 90, and 37 % have
//     more than 60 (the coarse prompts have 63 to 99, median 83); in the
//     general responder's tokens, median 52, 99th percentile 138, at
//     most 176.
//   - Deletion (default 0.3) of them then lose 1 to MaxDeleted (default
//     10) words, split and deleted as PMLM's policy does (at white space,
//     punctuation going with its word). The reply was drawn from the
//     weights the full input states, so deleting the drawn diagnosis's
//     name or count would pair an input that no longer supports the reply
//     with it, and teach the model to guess. The noise therefore deletes
//     only free words (task, context and connecting words, totals), never
//     the drawn candidate's name or count, and, for DeleteOther (default
//     0.2) of the noisy inputs, also the whole name (then the candidate
//     leaves Pair.Candidates) or the count of one candidate that was not
//     drawn. That is honest: removing a losing candidate's evidence
//     leaves the reply at least as well supported as before, and it
//     teaches what a policy's deletion does, that a diagnosis whose words
//     are gone no longer pulls the answer.
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
// Pair.Candidates lists the diagnoses the final input still names, with
// the weights the input stated before any deletion; the reply's
// diagnosis was drawn from those weights (a candidate whose name was
// deleted was not drawn, and leaves the list).
//
// # Overlap with PMLM's coarse prompts
//
// On the default synthetic cohort, the word n-grams of the 339 test
// patients' coarse prompts found in the default corpus's inputs (`pmlm
// corpus DIR --overlap`, NGramOverlap) are 87.9 % of unigrams, 57.1 % of
// bigrams, 33.0 % of trigrams and 19.5 % of 4-grams (5.1 % before the
// context sentences, the new count phrasings and the deletion noise). Of
// the 19.5 points, 2.3 are 4-grams inside diagnosis names; 13.4 are a
// name and a count joined by "for" ("uterine scar for 2", "for 1 and
// gestational"), which one count phrasing of twenty shares with the
// prompt ("X was the diagnosis for 6 of them, Y for 3 and Z for 1"): a
// general reader knows that form, so the corpus teaches it too; the rest
// (3.8) are a count or "and" before a name and "diagnosis is …". Which
// name–count combinations occur is a matter of sampling, so the 4-gram
// share moves by a point or two with the seed or with any change to the
// generator (it measured 18.8 % and 20.5 % on two drafts). No 4-gram of
// the template's literal text is in the corpus.
//
// # Privacy
//
// A Case has no identifier, and the outputs are doctors' replies of the
// training split verbatim: a model trained on them can reproduce them, so
// the corpus and such a model are patient data.
package corpus
