package experiment_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/llm"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/experiment"
	"github.com/pmlm-go/pmlm/pmlm/prompt"
)

// adviceModel is a stand-in LLM whose answer depends on the diagnosis
// words of the prompt; it records whether it was ever sent lab values.
type adviceModel struct {
	name     string
	labels   []string
	sawLabs  atomic.Bool
	requests atomic.Int64
	// empty: this prompt gets no answer (llm.ErrEmpty).
	empty string
}

func (m *adviceModel) Respond(_ context.Context, p string) (llm.Response, error) {
	m.requests.Add(1)
	if m.empty != "" && p == m.empty {
		return llm.Response{}, fmt.Errorf("test: %w", llm.ErrEmpty)
	}
	if strings.Contains(p, "HGB") {
		m.sawLabs.Store(true)
	}
	text := "Rest well and attend your postnatal check."
	for _, l := range m.labels {
		if strings.Contains(p, l) {
			text += " Advice about " + l + "."
		}
	}
	return llm.Response{Text: text}, nil
}

func (m *adviceModel) Identity() llm.Identity { return llm.Identity{Provider: "test", Model: m.name} }

func rowsOf(t *testing.T, tab *experiment.Table, responder string) []string {
	t.Helper()
	var out []string
	for _, r := range tab.Rows {
		if r.Labels[0] == responder {
			out = append(out, r.Labels[1])
		}
	}
	return out
}

func TestTables1And2WithTheLMs(t *testing.T) {
	c, err := smallCohort()
	require.NoError(t, err)
	general := &adviceModel{name: "general", labels: c.Labels}
	tuned := &adviceModel{name: "tuned", labels: c.Labels}
	external := &adviceModel{name: "external", labels: c.Labels, empty: prompt.TaskOnly()}
	brief := prompt.HistoryOptions{Only: pmlm.KeyObstetricIndicators(), Brief: true}
	cfg := tinyConfig()
	cfg.Seeds = []uint64{1}
	cfg.RunsDir = t.TempDir()
	cfg.Resamples = 200
	cfg.Default = &experiment.Responder{Name: "general LM", Responder: general, History: brief, Local: true}
	cfg.Finetuned = &experiment.Responder{Name: "fine-tuned LM", Responder: tuned, History: brief, Local: true}
	cfg.Responders = []experiment.Responder{{Name: "external", Responder: external}}
	r, err := experiment.NewRunner(c, cfg)
	require.NoError(t, err)
	ctx := context.Background()
	res, err := r.Run(ctx, "table1", "table2", "table3")
	require.NoError(t, err)

	assert.Equal(t, []string{"task only", "general", "coarse", "refined", "control: random deletions", "control: refined, x̂ = 0",
		"refined (Bayes)", "control: refined (Bayes), prior belief", "coarse − general", "refined − coarse", "refined − random deletions", "refined − refined, x̂ = 0",
		"refined (Bayes) − coarse", "refined (Bayes) − refined", "refined (Bayes) − refined (Bayes), prior belief"}, rowsOf(t, res.Table1, "general LM"))
	assert.Equal(t, []string{"task only", "general", "coarse", "refined", "coarse − general", "refined − coarse"},
		rowsOf(t, res.Table1, experiment.CaseResponderName), "the case responder stays a row, without controls")
	assert.Equal(t, []string{"task only", "coarse", "refined", "refined − coarse"}, rowsOf(t, res.Table1, "external"))
	for _, row := range res.Table1.Rows {
		if row.Labels[0] == "external" && row.Labels[1] == "task only" {
			assert.Zero(t, row.Values[6].Mean, "an empty answer scores 0 and does not stop the run")
		}
	}
	assert.False(t, external.sawLabs.Load(), "no lab values go to an external LLM without the opt-in")
	assert.True(t, general.sawLabs.Load(), "the local general LM reads the general prompt")
	assert.True(t, tuned.sawLabs.Load())
	assert.Contains(t, strings.Join(res.Table1.Notes, "\n"), "external: no general prompt")
	assert.Equal(t, "Table 3: ablation (general LM)", res.Table3.Title)
	for _, row := range res.Table1.Rows {
		isDiff := strings.Contains(row.Labels[1], " − ")
		for _, v := range row.Values {
			assert.Equal(t, isDiff, v.CI != nil, "%v: an interval exactly in difference rows", row.Labels)
		}
	}

	t2 := res.Table2
	require.NotNil(t, t2)
	require.Len(t, t2.Rows, 3)
	assert.Equal(t, "fine-tuned LM", t2.Rows[0].Labels[0])
	assert.Equal(t, "PMLM (general LM)", t2.Rows[1].Labels[0])
	assert.Equal(t, "refined", t2.Rows[1].Labels[1])
	for c := range t2.Rows[2].Values {
		assert.InDelta(t, t2.Rows[1].Values[c].Mean-t2.Rows[0].Values[c].Mean, t2.Rows[2].Values[c].Mean, 1e-9)
		assert.NotNil(t, t2.Rows[2].Values[c].CI)
	}
	// PMLM's refined row is the general LM's refined row of table 1 and
	// the full method of table 3.
	i := slices.IndexFunc(res.Table1.Rows, func(r experiment.Row) bool { return r.Labels[0] == "general LM" && r.Labels[1] == "refined" })
	assert.Equal(t, res.Table1.Rows[i].Values, t2.Rows[1].Values)
	assert.Equal(t, res.Table3.Rows[3].Values, t2.Rows[1].Values)

	dir := t.TempDir()
	_, err = res.WriteFiles(dir)
	require.NoError(t, err)
	csv2 := readCSV(t, filepath.Join(dir, "table2.csv"))
	assert.Contains(t, csv2[0], "BERTScore-F1_ci_low")
	var md strings.Builder
	require.NoError(t, res.WriteReport(&md, experiment.ReportOptions{Title: "T"}))
	assert.Contains(t, md.String(), "Paper, table 2")
	assert.Contains(t, md.String(), "| Llama3-8B | 9.56 |")

	// With the opt-in the external LLM gets the general prompt too; the
	// local responders' runs are reused.
	cfg.GeneralOptIn = true
	r, err = experiment.NewRunner(c, cfg)
	require.NoError(t, err)
	planned, err := r.Plan("table1")
	require.NoError(t, err)
	assert.Equal(t, 1, planned, "only the external responder's run is made again")
	res, err = r.Run(ctx, "table1")
	require.NoError(t, err)
	assert.Equal(t, []string{"task only", "general", "coarse", "refined", "coarse − general", "refined − coarse"}, rowsOf(t, res.Table1, "external"))
	assert.True(t, external.sawLabs.Load())

	// A retrained LM (another identity) is never mistaken for the saved one.
	cfg.Default = &experiment.Responder{Name: "general LM", Responder: &adviceModel{name: "general v2", labels: c.Labels}, History: brief, Local: true}
	r, err = experiment.NewRunner(c, cfg)
	require.NoError(t, err)
	planned, err = r.Plan("table1")
	require.NoError(t, err)
	assert.Equal(t, 1, planned)

	// Saved runs hold no patient data.
	files, err := filepath.Glob(filepath.Join(cfg.RunsDir, "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var sr map[string]any
		require.NoError(t, json.Unmarshal(b, &sr))
		assert.EqualValues(t, 2, sr["Format"])
		for _, p := range c.Patients {
			require.NotContains(t, string(b), `"`+p.ID+`"`)
			require.NotContains(t, string(b), p.Response)
		}
	}
}

func TestTable2NeedsTheLMs(t *testing.T) {
	c, err := smallCohort()
	require.NoError(t, err)
	cfg := tinyConfig()
	cfg.Finetuned = &experiment.Responder{Name: "fine-tuned LM", Responder: &adviceModel{name: "t"}, Local: true}
	_, err = experiment.NewRunner(c, cfg)
	require.ErrorIs(t, err, experiment.ErrConfig, "a fine-tuned LM without the general LM")
	cfg.Default = &experiment.Responder{Name: experiment.CaseResponderName, Responder: &adviceModel{name: "g"}}
	_, err = experiment.NewRunner(c, cfg)
	require.ErrorIs(t, err, experiment.ErrConfig, "the case responder's name is taken")
}
