package similarity

import (
	"encoding/gob"
	"fmt"
	"io"
)

// ExactKind is the kind under which an Exact is saved (see Exact.Kind).
const ExactKind = "similarity.exact/1"

// exactFile is the saved form of an Exact: its references.
type exactFile struct {
	Format  string
	Keys    []string
	Vectors [][]float32
	Labels  []string
}

const exactFormat = "pmlm-similarity-exact/1"

// Kind names the saved form of an Exact, for model manifests.
func (e *Exact) Kind() string { return ExactKind }

// Save writes the references (keys, vectors, labels) in a versioned gob
// format that LoadExact reads.
func (e *Exact) Save(w io.Writer) error {
	f := exactFile{Format: exactFormat, Keys: e.keys, Vectors: e.vectors, Labels: e.labels}
	if err := gob.NewEncoder(w).Encode(f); err != nil {
		return fmt.Errorf("similarity: save: %w", err)
	}
	return nil
}

// LoadExact reads an Exact written by Exact.Save.
func LoadExact(r io.Reader) (*Exact, error) {
	var f exactFile
	if err := gob.NewDecoder(r).Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if f.Format != exactFormat {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrInvalid, f.Format, exactFormat)
	}
	if f.Keys == nil {
		return NewExact(f.Vectors, f.Labels)
	}
	if len(f.Keys) != len(f.Vectors) {
		return nil, fmt.Errorf("%w: %d keys for %d vectors", ErrInvalid, len(f.Keys), len(f.Vectors))
	}
	refs := make([]Reference, len(f.Keys))
	for i := range refs {
		if i >= len(f.Labels) {
			return nil, fmt.Errorf("%w: %d labels for %d vectors", ErrInvalid, len(f.Labels), len(f.Vectors))
		}
		refs[i] = Reference{Key: f.Keys[i], Vector: f.Vectors[i], Label: f.Labels[i]}
	}
	return NewIndex(refs)
}
