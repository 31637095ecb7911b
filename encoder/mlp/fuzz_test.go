package mlp

import (
	"bytes"
	"errors"
	"testing"

	"github.com/pmlm-go/pmlm/internal/fuzzseed"
)

// FuzzLoad feeds arbitrary bytes (seeded with a valid file and
// corruptions of it) to Load: it must return a model that encodes, or an
// ErrCorrupt error, and never panic.
func FuzzLoad(f *testing.F) {
	m, patients := smallMLP(f, 21)
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		f.Fatal(err)
	}
	fuzzseed.AddDamaged(f, buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Load(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if _, err := l.Encode(patients[0]); err != nil && !errors.Is(err, ErrInput) {
			t.Fatalf("loaded model cannot encode: %v", err)
		}
	})
}
