package experiment_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/pmlm/experiment"
)

func TestRunnerHeadroomTable(t *testing.T) {
	c, err := smallCohort()
	require.NoError(t, err)
	general := &adviceModel{name: "general", labels: c.Labels}
	cfg := tinyConfig()
	cfg.Seeds = []uint64{1}
	cfg.Resamples = 200
	cfg.Default = &experiment.Responder{Name: "general LM", Responder: general, Local: true}
	r, err := experiment.NewRunner(c, cfg)
	require.NoError(t, err)
	res, err := r.Run(context.Background(), "headroom")
	require.NoError(t, err)
	tab := res.Headroom
	require.NotNil(t, tab)
	byName := map[string]experiment.Stat{}
	for _, row := range tab.Rows {
		byName[row.Labels[0]] = row.Values[0]
	}
	gain, ok := byName["oracle − coarse"]
	require.True(t, ok)
	require.NotNil(t, gain.CI)
	// The stand-in answers with advice for every diagnosis named, so
	// deleting wrong ones moves its answer: the oracle cannot lose.
	assert.GreaterOrEqual(t, gain.Mean, 0.0)
	assert.LessOrEqual(t, gain.CI.Low, gain.Mean+1e-9)
	// The count of improved patients is out of the patients, not out of
	// the single run.
	require.Positive(t, gain.PositiveOf)
	assert.LessOrEqual(t, gain.Positive, gain.PositiveOf)
	assert.Contains(t, gain.String(), fmt.Sprintf(" %d/%d", gain.Positive, gain.PositiveOf))
	var md bytes.Buffer
	require.NoError(t, tab.WriteMarkdown(&md))
	assert.Contains(t, md.String(), "Headroom")

	// The report carries the measurement (issue 12 wants it in
	// EXPERIMENTS.md).
	var report bytes.Buffer
	require.NoError(t, res.WriteReport(&report, experiment.ReportOptions{Title: "T"}))
	assert.Contains(t, report.String(), "## Headroom: what refinement can gain at most")
	assert.Contains(t, report.String(), "| oracle − coarse | "+gain.String()+" |")
}
