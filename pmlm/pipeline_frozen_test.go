package pmlm

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/internal/cputime"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/policy"
)

// TestFrozenRefinementEqualsGraph answers every patient of the benchmark
// cohort through the graph-free snapshot and through the policy's graph:
// the same deletions exactly, probabilities and first-state logits within
// 1e-5 relative.
func TestFrozenRefinementEqualsGraph(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a pipeline")
	}
	p, c := pipelineOrT(t)
	require.NotNil(t, p.frozen, "the default MLP policy is frozen after training")
	ctx := context.Background()
	deleted := 0
	for i := range c.Patients {
		pt := &c.Patients[i]
		s0, err := p.CoarsePrompt(ctx, pt)
		require.NoError(t, err)
		xs, err := p.patientVector(pt.Matrix())
		require.NoError(t, err)
		want, err := policy.Refine(ctx, p.policy, p.text, s0.Prompt, column(xs), p.steps)
		require.NoError(t, err)
		got, err := p.refine(ctx, s0.Prompt, pt.Matrix(), false, nil)
		require.NoError(t, err)
		require.Equal(t, want.Final, got.Final, "patient %s", pt.ID)
		require.Len(t, got.Deletions, len(want.Deletions))
		for j, w := range want.Deletions {
			g := got.Deletions[j]
			require.Equal(t, w.Index, g.Index, "patient %s deletion %d", pt.ID, j)
			assert.InDelta(t, w.Prob, g.Prob, 1e-5*w.Prob)
		}
		deleted += len(got.Deletions)

		enc, err := p.text.Encode(ctx, s0.Prompt)
		require.NoError(t, err)
		z, err := p.policy.Logits(enc.WordVectors(), column(xs), false)
		require.NoError(t, err)
		zf, err := p.frozen.Scores(enc.WordVectors(), xs)
		require.NoError(t, err)
		for j, v := range z.Value().Data().F64() {
			assert.InDelta(t, v, zf[j], 1e-5*max(1, abs(v)), "patient %s word %d", pt.ID, j)
		}
	}
	assert.Greater(t, deleted, len(c.Patients))
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

func pipelineOrT(t *testing.T) (*Pipeline, *cohort.Cohort) {
	t.Helper()
	p, err := benchPipeline()
	require.NoError(t, err)
	return p, benchCohort(240, 1)
}

// BenchmarkRespondGraphVsFrozen is Pipeline.Respond with the case responder
// (prompt, refinement, answer) through the policy's autodiff graph and
// through the graph-free snapshot, side by side, over 40 patients in
// turn. cpu-ms/op is the process's CPU time per Respond (wall time
// mostly measures the other processes on a shared machine).
func BenchmarkRespondGraphVsFrozen(b *testing.B) {
	p, c := pipelineOrSkip(b)
	frozen := p.frozen
	ctx := context.Background()
	for _, bc := range []struct {
		name   string
		frozen policy.Scorer
	}{{"graph", nil}, {"graph-free", frozen}} {
		b.Run(bc.name, func(b *testing.B) {
			p.frozen = bc.frozen
			defer func() { p.frozen = frozen }()
			b.ReportAllocs()
			cpu0, ok := cputime.Process()
			i := 0
			for b.Loop() {
				if _, err := p.Respond(ctx, &c.Patients[i%40], RespondOptions{}); err != nil {
					b.Fatal(err)
				}
				i++
			}
			if cpu1, _ := cputime.Process(); ok {
				b.ReportMetric(float64((cpu1-cpu0).Microseconds())/1e3/float64(b.N), "cpu-ms/op")
			}
		})
	}
}
