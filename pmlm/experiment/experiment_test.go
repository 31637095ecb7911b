package experiment_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/experiment"
	"github.com/pmlm-go/pmlm/pmlm/synth"
)

var smallCohort = sync.OnceValues(func() (*cohort.Cohort, error) {
	opts := synth.DefaultOptions()
	opts.Patients, opts.Visits, opts.Seed = 120, 0, 5
	return synth.Generate(opts)
})

// tinyConfig trains every configuration on a handful of episodes.
func tinyConfig() experiment.Config {
	return experiment.Config{
		Train: pmlm.TrainOptions{CrossFitFolds: 2, MaxEpisodes: 6, MaxValidation: 4, BatchSize: 3, K: 4, Steps: 3, Workers: 1},
		Seeds: []uint64{1, 2}, Ks: []int{2, 4}, Ns: []int{0, 2, 3},
		Predictors: []string{"minirocket", "cnn"}, PredictorEpochs: 2, Positions: 30, Workers: 2,
		BayesReferences: 2,
	}
}

// results runs every experiment once for the tests of this file.
var results = sync.OnceValues(func() (*experiment.Results, error) {
	c, err := smallCohort()
	if err != nil {
		return nil, err
	}
	r, err := experiment.NewRunner(c, tinyConfig())
	if err != nil {
		return nil, err
	}
	return r.Run(context.Background(), "all")
})

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	return recs
}

func TestRunWritesEveryTableAndFigure(t *testing.T) {
	res, err := results()
	require.NoError(t, err)
	dir := t.TempDir()
	paths, err := res.WriteFiles(dir)
	require.NoError(t, err)
	for _, name := range []string{"table1.md", "table1.csv", "table3.csv", "tableA1.csv", "fig6.png", "fig6.csv",
		"fig7_k.png", "fig7_n.png", "fig7_k.csv", "fig7_n.csv"} {
		assert.Contains(t, paths, filepath.Join(dir, name))
	}

	t1 := readCSV(t, filepath.Join(dir, "table1.csv"))
	var prompts []string
	for _, rec := range t1[1:] {
		assert.Equal(t, experiment.CaseResponderName, rec[0])
		prompts = append(prompts, rec[1])
	}
	assert.Equal(t, []string{"task only", "general", "coarse", "refined", "control: random deletions", "control: refined, x̂ = 0",
		"refined (Bayes)", "control: refined (Bayes), prior belief", "coarse − general", "refined − coarse", "refined − random deletions", "refined − refined, x̂ = 0",
		"refined (Bayes) − coarse", "refined (Bayes) − refined", "refined (Bayes) − refined (Bayes), prior belief"}, prompts)
	assert.Equal(t, []string{"responder", "prompt", "BLEU-4_mean", "BLEU-4_std", "BLEU-4_ci_low", "BLEU-4_ci_high", "BLEU-4_seeds_positive"}, t1[0][:7])
	assert.Len(t, t1[0], 2+5*7+1)
	assert.Equal(t, "2", t1[1][len(t1[1])-1], "two seeds")
	row := func(prompt string) []float64 {
		i := slices.Index(prompts, prompt)
		require.GreaterOrEqual(t, i, 0, prompt)
		var out []float64
		for c := 2; c < len(t1[0])-1; c += 5 { // mean columns
			x, err := strconv.ParseFloat(t1[i+1][c], 64)
			require.NoError(t, err)
			out = append(out, x)
		}
		return out
	}
	for _, d := range [][3]string{{"coarse − general", "coarse", "general"}, {"refined − coarse", "refined", "coarse"},
		{"refined − random deletions", "refined", "control: random deletions"}, {"refined − refined, x̂ = 0", "refined", "control: refined, x̂ = 0"}} {
		diff, a, b := row(d[0]), row(d[1]), row(d[2])
		for c := range diff {
			assert.InDelta(t, a[c]-b[c], diff[c], 2e-4, "the mean difference is the difference of the means (%s, %s)", d[0], t1[0][2+5*c])
		}
		rec := t1[slices.Index(prompts, d[0])+1]
		for c := 2; c < len(rec)-1; c += 5 {
			lo, err := strconv.ParseFloat(rec[c+2], 64)
			require.NoError(t, err, "%s has an interval", d[0])
			hi, err := strconv.ParseFloat(rec[c+3], 64)
			require.NoError(t, err)
			assert.LessOrEqual(t, lo, hi)
			pos, err := strconv.Atoi(rec[c+4])
			require.NoError(t, err)
			assert.LessOrEqual(t, pos, 2)
		}
	}
	assert.Empty(t, t1[slices.Index(prompts, "coarse")+1][4], "no interval in a row of means")

	t3 := readCSV(t, filepath.Join(dir, "table3.csv"))
	require.Len(t, t3, 5)
	assert.Equal(t, []string{"w/o SP", "w/o PP", "w/o PR", "full"}, []string{t3[1][0], t3[2][0], t3[3][0], t3[4][0]})
	// w/o PR is the full method's coarse row, full its refined row.
	means := func(rec []string) []string {
		var out []string
		for c := 2; c < len(rec)-1; c += 5 {
			out = append(out, rec[c], rec[c+1])
		}
		return append(out, rec[len(rec)-1])
	}
	assert.Equal(t, means(t1[slices.Index(prompts, "coarse")+1]), t3[3][4:])
	assert.Equal(t, means(t1[slices.Index(prompts, "refined")+1]), t3[4][4:])

	k := readCSV(t, filepath.Join(dir, "fig7_k.csv"))
	assert.Equal(t, [][]string{{"2"}, {"4"}}, [][]string{k[1][:1], k[2][:1]})
	n := readCSV(t, filepath.Join(dir, "fig7_n.csv"))
	require.Len(t, n, 4)
	// BERTScore P, R, F1 (mean, std) are the last 6 value cells of table 3.
	assert.Equal(t, t3[3][12:18], n[1][1:7], "n = 0 is the coarse prompt")
	assert.Equal(t, t3[4][12:18], n[3][1:7], "n = 3 is the full method")

	a1 := readCSV(t, filepath.Join(dir, "tableA1.csv"))
	require.Len(t, a1, 4, "header, majority, minirocket, cnn")
	assert.True(t, strings.HasPrefix(a1[1][0], "majority ("))
	assert.Equal(t, []string{"minirocket", "cnn"}, []string{a1[2][0], a1[3][0]})

	for _, name := range []string{"fig6.png", "fig7_k.png", "fig7_n.png"} {
		f, err := os.Open(filepath.Join(dir, name))
		require.NoError(t, err)
		img, err := png.Decode(f)
		f.Close()
		require.NoError(t, err, name)
		assert.Greater(t, img.Bounds().Dx(), 300, name)
		assert.Greater(t, img.Bounds().Dy(), 200, name)
	}

	var md bytes.Buffer
	require.NoError(t, res.WriteReport(&md, experiment.ReportOptions{Title: "T", Command: "pmlm experiment all", Figures: "figs"}))
	assert.Contains(t, md.String(), "![Figure 6](figs/fig6.png)")
	assert.Contains(t, md.String(), "Paper, table 1")
	assert.Contains(t, md.String(), "| w/o PP | ✓ | ✗ | ✓ |")
}

func TestFig6CountsEveryDeletionOfTheTestSplit(t *testing.T) {
	c, err := smallCohort()
	require.NoError(t, err)
	cfg := tinyConfig()
	cfg.Seeds = []uint64{3}
	cfg.Positions = 8 // few positions, so that some deletions fall beyond them
	r, err := experiment.NewRunner(c, cfg)
	require.NoError(t, err)
	h, err := r.Fig6(context.Background())
	require.NoError(t, err)
	require.Len(t, h.Counts, 3, "one row per step")

	// Every test patient's refinement takes n = 3 steps when its prompt has
	// more than 3 words, and each step deletes one word.
	total := 0.0
	for _, row := range h.Counts {
		require.Len(t, row, 8)
		for _, x := range row {
			total += x
		}
	}
	assert.Equal(t, float64(r.TestPatients()*3), total+h.Beyond)
	assert.Equal(t, total+h.Beyond, h.Deletions)
	assert.Greater(t, h.Beyond, 0.0)
	for i, row := range h.Counts {
		sum := 0.0
		for _, x := range row {
			sum += x
		}
		assert.LessOrEqual(t, sum, float64(r.TestPatients()), "step %d deletes at most one word per patient", i)
	}
}

func TestNewRunnerRejectsBadConfigs(t *testing.T) {
	c, err := smallCohort()
	require.NoError(t, err)
	for name, change := range map[string]func(*experiment.Config){
		"no seeds":                  func(c *experiment.Config) { c.Seeds = nil },
		"k = 0":                     func(c *experiment.Config) { c.Ks = []int{0} },
		"n < 0":                     func(c *experiment.Config) { c.Ns = []int{-1} },
		"nameless":                  func(c *experiment.Config) { c.Responders = []experiment.Responder{{}} },
		"negative Bayes references": func(c *experiment.Config) { c.BayesReferences = -1 },
		"empty test": func(c *experiment.Config) {
			c.Train.Split = cohort.SplitBoundaries{TrainEnd: c.Train.Split.TrainEnd.AddDate(50, 0, 0), ValidationEnd: c.Train.Split.TrainEnd.AddDate(51, 0, 0)}
		},
	} {
		cfg := tinyConfig()
		cfg.Train.Split = cohort.DefaultSplit()
		change(&cfg)
		_, err := experiment.NewRunner(c, cfg)
		assert.ErrorIs(t, err, experiment.ErrConfig, name)
	}
	r, err := experiment.NewRunner(c, tinyConfig())
	require.NoError(t, err)
	_, err = r.Run(context.Background(), "table2")
	assert.ErrorIs(t, err, experiment.ErrConfig)
}

func TestStat(t *testing.T) {
	s := experiment.NewStat([]float64{1, 2, 3, 4})
	assert.InDelta(t, 2.5, s.Mean, 1e-12)
	assert.InDelta(t, 1.2909944, s.Std, 1e-6)
	assert.Equal(t, "2.50 ± 1.29", s.String())
	assert.Equal(t, "7.00", experiment.NewStat([]float64{7}).String())
	d := experiment.NewStat([]float64{0.5, -0.1, 0.3})
	d.CI, d.Positive = &experiment.Interval{Low: -0.05, High: 0.61}, 2
	assert.Equal(t, "0.23 ± 0.31 [-0.05, 0.61] 2/3", d.String())
}
