package predict

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"

	"github.com/pmlm-go/pmlm/internal/fuzzseed"
)

// FuzzLoadMultiRocket feeds arbitrary bytes (seeded with a valid model and
// damaged copies of it) to LoadMultiRocket: it must return an error or a
// model that predicts, and never panic.
func FuzzLoadMultiRocket(f *testing.F) {
	rng := rand.New(rand.NewPCG(3, 3))
	train, y := twoClassSeries(rng, 16, 2)
	m := &MultiRocketClassifier{Config: MultiRocketConfig{NumFeatures: 700, Seed: 1, Workers: 1}}
	if err := m.Fit(context.Background(), train, y, 2); err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		f.Fatal(err)
	}
	fuzzseed.AddDamaged(f, buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := LoadMultiRocket(bytes.NewReader(data))
		if err != nil {
			return
		}
		if _, err := l.Predict(context.Background(), train[0]); err != nil && l.NumChannels() == 2 {
			t.Fatalf("a loaded model for 2 channels cannot predict: %v", err)
		}
	})
}
