package pmlm_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/prompt"
)

func TestScoreEachAggregatesToEvaluate(t *testing.T) {
	p, c := trainedOrFail(t)
	_, _, test := c.Split(cohort.DefaultSplit())
	test = test[:min(8, len(test))]
	ctx := context.Background()
	ev, err := p.Evaluate(ctx, test, 2)
	require.NoError(t, err)
	cands, refs := make([]string, len(test)), make([]string, len(test))
	for i, a := range ev.Answers {
		cands[i], refs[i] = a.Response.Text, test[i].Response
	}
	each, err := p.ScoreEach(ctx, cands, refs)
	require.NoError(t, err)
	require.Len(t, each, len(test))
	assert.Equal(t, ev.After, pmlm.AggregateScores(each))
	_, err = p.ScoreEach(ctx, cands, refs[1:])
	require.ErrorIs(t, err, pmlm.ErrOptions)
}

func TestRespondControls(t *testing.T) {
	p, c := trainedOrFail(t)
	_, _, test := c.Split(cohort.DefaultSplit())
	ctx := context.Background()
	pt := test[0]
	r1, err := p.Respond(ctx, pt, pmlm.RespondOptions{RandomDeletions: true, RandomSeed: 3, SkipFinal: true})
	require.NoError(t, err)
	r2, err := p.Respond(ctx, pt, pmlm.RespondOptions{RandomDeletions: true, RandomSeed: 3, SkipFinal: true})
	require.NoError(t, err)
	trained, err := p.Respond(ctx, pt, pmlm.RespondOptions{SkipFinal: true})
	require.NoError(t, err)
	assert.Equal(t, r1, r2, "seeded")
	assert.Len(t, r1.Deletions, len(trained.Deletions), "as many deletions as the policy")
	assert.Len(t, strings.Fields(r1.Final), len(strings.Fields(r1.Coarse))-len(r1.Deletions))
	zero, err := p.Respond(ctx, pt, pmlm.RespondOptions{ZeroPatient: true, SkipFinal: true})
	require.NoError(t, err)
	assert.Len(t, zero.Deletions, len(trained.Deletions))
	assert.Equal(t, trained.Coarse, zero.Coarse)

	a, err := p.Ask(ctx, pt, prompt.TaskOnly())
	require.NoError(t, err)
	assert.NotEmpty(t, a.Text)
	_, err = p.Ask(ctx, nil, "x")
	require.ErrorIs(t, err, pmlm.ErrOptions)
}
