package experiment_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/encoder"
	"github.com/pmlm-go/pmlm/encoder/wordvec"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/experiment"
)

// labelEncoder embeds a text as one token whose vector says which label
// its text names first: a reward that separates perfectly.
type labelEncoder struct{ labels []string }

func (e labelEncoder) Name() string { return "label-oracle" }
func (e labelEncoder) Dim() int     { return len(e.labels) + 1 }
func (e labelEncoder) Encode(_ context.Context, text string) (*encoder.Encoded, error) {
	v := make([]float32, e.Dim())
	best, at := len(e.labels), -1
	low := strings.ToLower(text)
	for i, l := range e.labels {
		if j := strings.Index(low, strings.ToLower(l)); j >= 0 && (at < 0 || j < at || (j == at && len(l) > len(e.labels[best]))) {
			best, at = i, j
		}
	}
	v[best] = 1
	return &encoder.Encoded{Tokens: []string{"x"}, IDs: []int{best}, Vectors: [][]float32{v}, Special: []bool{false},
		WordOf: []int{0}, NumWords: 1}, nil
}

func TestMeasureSeparation(t *testing.T) {
	c, err := smallCohort()
	require.NoError(t, err)
	wv, err := wordvec.Default()
	require.NoError(t, err)
	train, _, test := c.Split(cohort.DefaultSplit())
	cfg := experiment.SeparationConfig{
		Encoders:   []encoder.TextEncoder{wv, labelEncoder{c.Labels}, wv},
		References: test, Pool: train, Candidates: 3, Seeds: []uint64{1, 2},
		Bootstrap: experiment.BootstrapOptions{Resamples: 200, Seed: 1},
	}
	s, err := experiment.MeasureSeparation(context.Background(), c, cfg)
	require.NoError(t, err)
	require.Len(t, s.Encoders, 3)
	assert.Positive(t, s.References)
	glove, oracle, again := s.Encoders[0], s.Encoders[1], s.Encoders[2]
	assert.InDelta(t, 1, oracle.AUROC, 1e-12, "the label oracle orders every pair")
	assert.Greater(t, glove.AUROC, 0.5, "GloVe BERTScore prefers the right diagnosis")
	assert.Less(t, glove.AUROC, 1.0)
	assert.LessOrEqual(t, glove.CI.Low, glove.AUROC)
	assert.GreaterOrEqual(t, glove.CI.High, glove.AUROC)
	assert.InDelta(t, 1-glove.AUROC, oracle.Diff, 1e-9)
	assert.Equal(t, 2, oracle.SeedsBetter)
	assert.Zero(t, again.Diff, "the same encoder twice: no difference")
	assert.Zero(t, again.SeedsBetter)
	assert.Contains(t, s.Markdown(), "| label-oracle | 1.0000")

	_, err = experiment.MeasureSeparation(context.Background(), c, experiment.SeparationConfig{})
	require.ErrorIs(t, err, experiment.ErrConfig)
}
