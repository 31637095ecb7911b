package pmlm

import (
	"fmt"
	"io"

	"github.com/pmlm-go/pmlm/encoder"
	"github.com/pmlm-go/pmlm/encoder/mlp"
	"github.com/pmlm-go/pmlm/llm"
	"github.com/pmlm-go/pmlm/pmlm/predict"
	"github.com/pmlm-go/pmlm/policy"
	"github.com/pmlm-go/pmlm/similarity"
)

// Saver is implemented by a part of the pipeline (predictor, encoder,
// recommender, policy) that can be saved. Save writes each part to its own
// file and records Kind in the manifest; Load reads the part back with the
// loader registered under that kind in Loaders.
type Saver interface {
	// Kind names the part's saved form, e.g. "predict.minirocket/1": a
	// package-like prefix, so kinds do not collide, and the format's
	// version, so a new format is a new kind (the old loader can stay).
	Kind() string
	// Save writes the part.
	Save(w io.Writer) error
}

// Loaders find, by kind, the function that reads a saved part. Load looks
// a kind up in LoadOptions.Loaders first and in DefaultLoaders second, so
// a program registers only its own kinds. There is no process-wide
// registry: each Load gets the loaders it is given.
type Loaders struct {
	// Predictors read label predictors (role PartPredictor).
	Predictors map[string]func(io.Reader) (predict.Predictor, error)
	// Encoders read patient encoders (PartEncoder, PartPolicyEncoder; the
	// policy's must also implement mlp.Differentiable).
	Encoders map[string]func(io.Reader) (encoder.Encoder, error)
	// Recommenders read recommenders (PartRecommender).
	Recommenders map[string]func(io.Reader) (similarity.Recommender, error)
	// Policies read word-deletion policies (PartPolicy).
	Policies map[string]func(io.Reader) (policy.Policy, error)
	// Responders read the responder a model embeds (PartResponder).
	Responders map[string]func(io.Reader) (llm.Responder, error)
}

// DefaultLoaders returns new maps of the loaders of every built-in part:
// the MiniRocket, MultiRocket, GBDT and neural (LSTM, CNN, Transformer) predictors, the
// MLP patient encoder, the exact recommender, the MLP policy and the
// generative responder.
func DefaultLoaders() Loaders {
	neural := func(r io.Reader) (predict.Predictor, error) { return predict.LoadNeural(r) }
	return Loaders{
		Predictors: map[string]func(io.Reader) (predict.Predictor, error){
			predict.KindMiniRocket:  func(r io.Reader) (predict.Predictor, error) { return predict.LoadMiniRocket(r) },
			predict.KindGBDT:        func(r io.Reader) (predict.Predictor, error) { return predict.LoadGBDT(r) },
			predict.KindMultiRocket: func(r io.Reader) (predict.Predictor, error) { return predict.LoadMultiRocket(r) },
			predict.KindLSTM:        neural,
			predict.KindCNN:         neural,
			predict.KindTransformer: neural,
		},
		Encoders: map[string]func(io.Reader) (encoder.Encoder, error){
			mlp.Kind: func(r io.Reader) (encoder.Encoder, error) { return mlp.Load(r) },
		},
		Recommenders: map[string]func(io.Reader) (similarity.Recommender, error){
			similarity.ExactKind: func(r io.Reader) (similarity.Recommender, error) { return similarity.LoadExact(r) },
		},
		Policies: map[string]func(io.Reader) (policy.Policy, error){
			policy.Kind: func(r io.Reader) (policy.Policy, error) { return policy.Load(r) },
		},
		Responders: map[string]func(io.Reader) (llm.Responder, error){
			llm.GenerativeKind: func(r io.Reader) (llm.Responder, error) { return llm.ReadGenerative(r) },
		},
	}
}

// lookup returns the loader of kind from the user's map or the default
// one.
func lookup[F any](user, builtin map[string]F, role, kind string) (F, error) {
	if f, ok := user[kind]; ok {
		return f, nil
	}
	if f, ok := builtin[kind]; ok {
		return f, nil
	}
	var zero F
	return zero, fmt.Errorf("%w: no loader for the %s kind %q (register one in LoadOptions.Loaders)", ErrModel, role, kind)
}
