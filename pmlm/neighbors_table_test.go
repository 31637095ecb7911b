package pmlm

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/synth"
	"github.com/pmlm-go/pmlm/similarity"
)

// exactEquivalent stands for an external index that answers as Exact
// does: Train builds the neighbour table for it too.
type exactEquivalent struct{ similarity.Recommender }

func (exactEquivalent) EquivalentToExact() {}

// TestTrainingNeighborTableMatchesQueries checks that the training
// patients' neighbours and coarse prompts from the table are those one
// query per patient gives, as Train made them before the table.
func TestTrainingNeighborTableMatchesQueries(t *testing.T) {
	ctx := context.Background()
	opts := synth.DefaultOptions()
	opts.Patients, opts.Visits, opts.Seed = 300, 0, 5
	c, err := synth.Generate(opts)
	require.NoError(t, err)
	for name, wrap := range map[string]func(similarity.Recommender) similarity.Recommender{
		"exact":      func(r similarity.Recommender) similarity.Recommender { return r },
		"equivalent": func(r similarity.Recommender) similarity.Recommender { return exactEquivalent{r} },
	} {
		t.Run(name, func(t *testing.T) {
			to := TrainOptions{NoSelfPersonalization: true, Seed: 3}
			to.NewRecommender = func(_ context.Context, refs []similarity.Reference) (similarity.Recommender, error) {
				e, err := similarity.NewIndex(refs)
				return wrap(e), err
			}
			b, err := NewPromptBuilder(ctx, c, to)
			require.NoError(t, err)
			table, err := b.trainingNeighbors(ctx)
			require.NoError(t, err)
			require.NotNil(t, table)
			train, _, _ := c.Split(cohort.DefaultSplit())
			require.Greater(t, len(train), b.k)
			for _, p := range train {
				nb, ok := table.Lookup(b.PatientKey(p.ID), b.k)
				require.True(t, ok, p.ID)
				want, err := b.Similar(ctx, p.Matrix(), b.k, []string{p.ID})
				require.NoError(t, err)
				require.Equal(t, want, nb, p.ID)
				got, err := b.render("normal", nb)
				require.NoError(t, err)
				s0, err := b.BuildWithLabel(ctx, p.Matrix(), "normal", []string{p.ID})
				require.NoError(t, err)
				assert.Equal(t, s0, got)
			}
		})
	}
}

// TestTrainingNeighborTableOnlyForExact leaves other recommenders to be
// queried.
func TestTrainingNeighborTableOnlyForExact(t *testing.T) {
	e, err := similarity.NewIndex([]similarity.Reference{{Key: "a", Vector: []float32{1}, Label: "x"}})
	require.NoError(t, err)
	b := &PromptBuilder{k: 1, recommender: struct{ similarity.Recommender }{e}, refs: []similarity.Reference{{Key: "a", Vector: []float32{1}, Label: "x"}}}
	table, err := b.trainingNeighbors(context.Background())
	require.NoError(t, err)
	assert.Nil(t, table)
}
