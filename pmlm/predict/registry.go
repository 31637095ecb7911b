package predict

import "fmt"

// PredictorNames lists the names New accepts, the default first.
func PredictorNames() []string {
	return []string{"gbdt", "minirocket", "multirocket", string(ArchLSTM), string(ArchCNN), string(ArchTransformer)}
}

// New returns an unfitted predictor by name ("gbdt", "minirocket",
// "multirocket", "lstm", "cnn" or "transformer") with its default configuration and the given seed.
func New(name string, seed uint64) (Predictor, error) {
	switch name {
	case "minirocket":
		return &MiniRocketClassifier{Config: MiniRocketConfig{Seed: seed}}, nil
	case "multirocket":
		return &MultiRocketClassifier{Config: MultiRocketConfig{Seed: seed}}, nil
	case "gbdt":
		return &GBDTClassifier{Config: GBDTConfig{Seed: seed}}, nil
	case string(ArchLSTM), string(ArchCNN), string(ArchTransformer):
		return &NeuralClassifier{Config: NeuralConfig{Arch: Arch(name), Seed: seed}}, nil
	}
	return nil, fmt.Errorf("predict: unknown predictor %q (want one of %v)", name, PredictorNames())
}
