package weaviate_test

import (
	"context"
	"fmt"

	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/similarity"
	"github.com/pmlm-go/pmlm/similarity/weaviate"
)

// Training a pipeline whose patient index lives in a Weaviate collection
// (one tenant per hospital), tagged with the encoder's version. It needs a
// running server, so it is compiled but not run.
func Example() {
	cfg, err := weaviate.ParseURL("weaviate://127.0.0.1:8080/Patients?grpc=50051&tenant=hospital-a")
	if err != nil {
		panic(err)
	}
	opts := pmlm.TrainOptions{
		NewVersionedRecommender: func(ctx context.Context, version string, refs []similarity.Reference) (similarity.Recommender, error) {
			c := cfg
			c.EncoderVersion = version
			return weaviate.New(ctx, c, refs)
		},
	}
	_ = opts // pmlm.Train(ctx, cohort, opts), then Save: the manifest records the index.
	fmt.Println(cfg.Collection, cfg.Tenant, cfg.GRPCAddr)
}

func ExampleParseURL() {
	cfg, err := weaviate.ParseURL("weaviate://127.0.0.1:8080/Patients?tenant=hospital-a")
	if err != nil {
		panic(err)
	}
	fmt.Println(cfg.Addr, cfg.GRPCAddr, cfg.Collection, cfg.Tenant)
	// Output:
	// 127.0.0.1:8080 127.0.0.1:50051 Patients hospital-a
}
