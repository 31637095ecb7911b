package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/similarity"
	"github.com/pmlm-go/pmlm/similarity/weaviate"
)

// indexHelp is the help of the --index flag of the commands that train or
// load a model.
const indexHelp = "patient index in a Weaviate server, weaviate://HOST:PORT/COLLECTION[?grpc=PORT&tenant=NAME]\n" +
	"(default: the exact in-process index saved in the model); see README \"Scaling out\""

// indexFlag registers --index on fs.
func indexFlag(fs *flag.FlagSet) *string {
	return fs.String("index", "", indexHelp)
}

// withIndex makes training build the patient index in the Weaviate
// collection that location names (empty: the exact in-process index),
// tagged with the encoder's version.
func withIndex(opts *pmlm.TrainOptions, location string) error {
	if location == "" {
		return nil
	}
	cfg, err := weaviate.ParseURL(location)
	if err != nil {
		return fmt.Errorf("%w: --index: %w", errUsage, err)
	}
	opts.NewVersionedRecommender = func(ctx context.Context, version string, refs []similarity.Reference) (similarity.Recommender, error) {
		c := cfg
		c.EncoderVersion = version
		return weaviate.New(ctx, c, refs)
	}
	return nil
}

// indexLoaders returns the loaders that open a model's Weaviate index,
// at location when it is given (a server that moved; the collection and
// tenant must be the saved ones).
func indexLoaders(ctx context.Context, location string) pmlm.Loaders {
	return pmlm.Loaders{Recommenders: map[string]func(io.Reader) (similarity.Recommender, error){
		weaviate.Kind: func(r io.Reader) (similarity.Recommender, error) { return weaviate.Load(ctx, r, location) },
	}}
}

// checkIndexFlag refuses --index for a model whose index is saved in the
// model directory: its vectors are not in any Weaviate collection.
func checkIndexFlag(dir, location string) error {
	if location == "" {
		return nil
	}
	m, err := pmlm.ReadManifest(dir)
	if err != nil {
		return err
	}
	if m.Index == nil {
		return fmt.Errorf("%w: --index %s: the model in %s was trained with the in-process index (train it with --index to use a Weaviate index)", errUsage, location, dir)
	}
	return nil
}
