// Package lm is a small generative language model trained from scratch in
// pure Go: the offline stand-in for the LLM that answers PMLM's prompts.
//
// No pretrained weights can be had offline, so the model is a compact
// decoder-only transformer (GPT-2's pre-layer-norm block: causal
// multi-head attention and a GELU feed-forward layer; positions as ALiBi's
// linear attention biases, so replies are written alike after short and
// long prompts; the output layer tied to the token embeddings) trained on
// prompt → reply
// pairs. It reads a prompt and writes a reply token by token; because every
// reply token attends to every prompt word, the reply depends on the
// prompt's wording, which is what PMLM's prompt refinement needs from a
// responder.
//
// The forward and backward passes are written by hand on float32 slices,
// with the project's packed matrix kernels (internal/kernels) for every
// product, and checked against finite differences of the loss for every
// weight (TestGradientMatchesFiniteDifferences). spago's autodiff builds a
// graph node per operation and cannot run the attention's softmax backward
// for a few hundred positions without an n×n Jacobian per row; the hand
// pass is exact and an order of magnitude faster.
//
// Training (Train) is AdamW with warm-up, cosine decay and gradient
// clipping, data-parallel over goroutines. Each step's batch is cut into a
// fixed number of shards whose gradients are summed in a fixed order, so
// training is bitwise reproducible for a seed, whatever the number of
// workers. Checkpoints (TrainOptions.Checkpoint) hold the weights, Adam's
// moments and a digest of the run; Resume continues an interrupted run to
// the same weights and refuses a checkpoint of another run.
//
// Decoding (Model.Generate) is greedy by default, with beam search as an
// option, over a key/value cache; it is deterministic.
//
// The vocabulary (Vocabulary) is built from the training texts: frequent
// words are single tokens, digits are always single tokens (so the model
// can write any number), and other words are spelled with their
// characters, so any text can be encoded.
//
// A model directory (Model.Save, Load) holds a manifest with the SHA-256
// of every file and of its own canonical content, the vocabulary and the
// weights; Load refuses anything altered. The weights can reproduce
// training replies, numbers included: a model trained on patients' replies
// is patient data.
//
// llm.NewGenerative wraps a Model as an llm.Responder.
package lm
