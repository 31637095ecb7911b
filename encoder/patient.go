package encoder

// Encoder maps a patient's visit history to a fixed-length vector x̂ (the
// paper's equation 2), the space in which similar patients are found.
//
// visits[v][m] is metric m at visit v, oldest visit first, NaN when the
// value is missing.
type Encoder interface {
	// Dim is the length of every encoding.
	Dim() int
	// Encode returns the encoding of one patient, for inference (no
	// dropout). It is safe for concurrent use as long as no one updates
	// the encoder's parameters at the same time.
	Encode(visits [][]float64) ([]float32, error)
}
