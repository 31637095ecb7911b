package predict

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNeuralSaveLoad fits each neural baseline briefly and checks that the
// loaded copy predicts exactly as the original.
func TestNeuralSaveLoad(t *testing.T) {
	series := [][][]float64{
		{{1, 2}, {1.5, 2.5}}, {{0.9, 2.1}}, {{-1, -2}, {-1.2, -2.1}, {-1, -1.9}}, {{-0.8, -2.2}},
		{{1.1, 1.9}}, {{-1.1, -2}},
	}
	labels := []int{0, 0, 1, 1, 0, 1}
	ctx := context.Background()
	for _, arch := range []Arch{ArchLSTM, ArchCNN, ArchTransformer} {
		t.Run(string(arch), func(t *testing.T) {
			m := &NeuralClassifier{Config: NeuralConfig{Arch: arch, Hidden: 8, Epochs: 2, Seed: 3}}
			var buf bytes.Buffer
			require.ErrorIs(t, m.Save(&buf), ErrNotFitted)
			require.NoError(t, m.Fit(ctx, series, labels, 2))
			require.NoError(t, m.Save(&buf))
			got, err := LoadNeural(bytes.NewReader(buf.Bytes()))
			require.NoError(t, err)
			assert.Equal(t, m.Kind(), got.Kind())
			for _, s := range series {
				want, err := m.Predict(ctx, s)
				require.NoError(t, err)
				have, err := got.Predict(ctx, s)
				require.NoError(t, err)
				assert.Equal(t, want, have)
			}
			_, err = LoadNeural(bytes.NewReader(buf.Bytes()[:buf.Len()/2]))
			require.Error(t, err)
		})
	}
}
