package pmlm_test

import (
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/similarity"
)

// outsideIndex stands for an index kept outside the model directory (a
// vector database): it saves only its location and encoder version, and
// its loader returns the references it was given, as the database would
// still hold them.
type outsideIndex struct {
	*similarity.Exact
	Where, Version string
}

func (o *outsideIndex) Location() string       { return o.Where }
func (o *outsideIndex) EncoderVersion() string { return o.Version }
func (o *outsideIndex) Kind() string           { return "test.outside" }
func (o *outsideIndex) Save(w io.Writer) error {
	return json.NewEncoder(w).Encode(map[string]string{"where": o.Where, "version": o.Version})
}

// TestExternalIndexVersion trains with an external index built for the
// encoder's version: the manifest records it, Load checks it, and an
// index of another encoder version is refused at Save and at Load.
func TestExternalIndexVersion(t *testing.T) {
	_, c := trainedOrFail(t)
	ctx := context.Background()
	var built *similarity.Exact
	opts := fittedOptions(t)
	var version string
	opts.NewVersionedRecommender = func(_ context.Context, v string, refs []similarity.Reference) (similarity.Recommender, error) {
		e, err := similarity.NewIndex(refs)
		built, version = e, v
		return &outsideIndex{Exact: e, Where: "test://index", Version: v}, err
	}
	p, err := pmlm.Train(ctx, c, opts)
	require.NoError(t, err)
	want, err := pmlm.EncoderVersion(p.PromptBuilder().Encoder())
	require.NoError(t, err)
	assert.Equal(t, want, version)

	dir := filepath.Join(t.TempDir(), "model")
	require.NoError(t, p.Save(dir))
	m, err := pmlm.ReadManifest(dir)
	require.NoError(t, err)
	require.NotNil(t, m.Index)
	assert.Equal(t, pmlm.IndexInfo{Location: "test://index", EncoderVersion: version}, *m.Index)
	assert.Equal(t, m.Parts[pmlm.PartEncoder].SHA256, version)

	loadWith := func(v string) error {
		_, err := pmlm.Load(ctx, dir, pmlm.LoadOptions{Loaders: pmlm.Loaders{Recommenders: map[string]func(io.Reader) (similarity.Recommender, error){
			"test.outside": func(io.Reader) (similarity.Recommender, error) {
				return &outsideIndex{Exact: built, Where: "test://index", Version: v}, nil
			},
		}}})
		return err
	}
	require.NoError(t, loadWith(version))
	err = loadWith("another-encoder")
	require.ErrorIs(t, err, pmlm.ErrModel)
	assert.Contains(t, err.Error(), "encoder version another-encoder")

	// An index built for another encoder cannot be saved with this model.
	opts.NewVersionedRecommender = func(_ context.Context, _ string, refs []similarity.Reference) (similarity.Recommender, error) {
		e, err := similarity.NewIndex(refs)
		return &outsideIndex{Exact: e, Where: "test://index", Version: "stale"}, err
	}
	p, err = pmlm.Train(ctx, c, opts)
	require.NoError(t, err)
	require.ErrorIs(t, p.Save(filepath.Join(t.TempDir(), "model")), pmlm.ErrModel)
}
