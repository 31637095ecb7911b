package predict

// NumClasses returns the number of classes the fitted classifier
// predicts (0 before Fit). A model directory's loader compares it with the
// label list of its manifest.
func (m *MiniRocketClassifier) NumClasses() int {
	if m.ridge == nil {
		return 0
	}
	return len(m.ridge.Weights)
}

// NumChannels returns the number of channels (metrics per visit) the
// fitted classifier reads (0 before Fit).
func (m *MiniRocketClassifier) NumChannels() int {
	if m.scaler == nil {
		return 0
	}
	return len(m.scaler.Mean)
}

// NumClasses returns the number of classes the fitted network predicts
// (0 before Fit).
func (m *NeuralClassifier) NumClasses() int { return m.numClasses }

// NumChannels returns the number of channels the fitted network reads (0
// before Fit).
func (m *NeuralClassifier) NumChannels() int {
	if m.scaler == nil {
		return 0
	}
	return len(m.scaler.Mean)
}

// NumClasses returns the number of classes the fitted trees score (0
// before Fit).
func (m *GBDTClassifier) NumClasses() int {
	if m.model == nil {
		return 0
	}
	return len(m.model.Base)
}

// NumChannels returns the number of channels per timestep the fitted model
// reads (0 before Fit).
func (m *GBDTClassifier) NumChannels() int { return m.numChannels }
