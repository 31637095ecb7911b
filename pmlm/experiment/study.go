package experiment

import (
	"context"
	"fmt"
	"time"

	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/predict"
)

// PredictorScore is one predictor's result on the test split, in percent.
type PredictorScore struct {
	// Name is the predictor's name, or "majority (LABEL)" for the
	// reference that always answers the training split's majority label.
	Name             string
	MicroF1, MacroF1 float64
	// Fit is the fitting time (0 for the majority reference).
	Fit time.Duration
}

// StudyPredictors fits each predictor on the cohort's training split and
// scores it on the test split (the paper's table A1). The first result is
// the majority-label reference.
func StudyPredictors(ctx context.Context, c *cohort.Cohort, split cohort.SplitBoundaries, ps []predict.Predictor) ([]PredictorScore, error) {
	train, _, test := c.Split(split)
	if len(train) < 2 || len(test) == 0 {
		return nil, fmt.Errorf("%w: the split leaves %d training and %d test patients; need at least 2 and 1",
			ErrConfig, len(train), len(test))
	}
	trainX, trainY, err := seriesOf(c, train)
	if err != nil {
		return nil, err
	}
	testX, testY, err := seriesOf(c, test)
	if err != nil {
		return nil, err
	}
	majority := majorityLabel(trainY, len(c.Labels))
	constant := make([]int, len(testY))
	for i := range constant {
		constant[i] = majority
	}
	sc, err := predict.Score(constant, testY, len(c.Labels))
	if err != nil {
		return nil, err
	}
	out := []PredictorScore{{Name: "majority (" + c.Labels[majority] + ")", MicroF1: 100 * sc.MicroF1, MacroF1: 100 * sc.MacroF1}}
	for _, p := range ps {
		start := time.Now()
		if err := p.Fit(ctx, trainX, trainY, len(c.Labels)); err != nil {
			return nil, fmt.Errorf("%s: %w", p.Name(), err)
		}
		fit := time.Since(start)
		pred, err := predict.PredictAll(ctx, p, testX)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.Name(), err)
		}
		sc, err := predict.Score(pred, testY, len(c.Labels))
		if err != nil {
			return nil, err
		}
		out = append(out, PredictorScore{Name: p.Name(), MicroF1: 100 * sc.MicroF1, MacroF1: 100 * sc.MacroF1, Fit: fit})
	}
	return out, nil
}

// seriesOf returns the patients' visits as series and their labels as
// indices into c.Labels.
func seriesOf(c *cohort.Cohort, patients []*cohort.Patient) ([][][]float64, []int, error) {
	series := make([][][]float64, len(patients))
	labels := make([]int, len(patients))
	for i, p := range patients {
		series[i] = p.Matrix()
		labels[i] = c.LabelIndex(p.Label)
		if labels[i] < 0 {
			return nil, nil, fmt.Errorf("patient %s: label %q is not in the label set", p.ID, p.Label)
		}
	}
	return series, labels, nil
}

func studyRun(seed uint64) string { return fmt.Sprintf("predictor study, seed %d", seed) }

// study runs the predictor study of one seed, once, and saves it in
// Config.RunsDir.
func (r *Runner) study(ctx context.Context, seed uint64) ([]PredictorScore, error) {
	r.mu.Lock()
	if res := r.studies[seed]; res != nil {
		r.mu.Unlock()
		return res, nil
	}
	r.done++
	nth, planned := r.done, max(r.planned, r.done)
	r.mu.Unlock()
	var ps []predict.Predictor
	for _, name := range r.cfg.Predictors {
		p, err := predict.New(name, seed)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		if nc, ok := p.(*predict.NeuralClassifier); ok && r.cfg.PredictorEpochs > 0 {
			nc.Config.Epochs = r.cfg.PredictorEpochs
		}
		ps = append(ps, p)
	}
	r.logf("[%d/%d] %s: %v", nth, planned, studyRun(seed), r.cfg.Predictors)
	start := time.Now()
	res, err := StudyPredictors(ctx, r.cohort, r.cfg.Train.Split, ps)
	if err != nil {
		return nil, err
	}
	if err := r.store.save(&savedRun{Settings: r.studySetting, Run: studyRun(seed), Study: res}); err != nil {
		return nil, fmt.Errorf("experiment: saving %s: %w", studyRun(seed), err)
	}
	took := time.Since(start)
	left := r.finish(took, func() { r.studies[seed] = res })
	r.logf("[%d/%d] done in %s%s", nth, planned, took.Round(time.Second), left)
	return res, nil
}

// TableA1 runs StudyPredictors for every seed and averages micro-F1 and
// macro-F1.
func (r *Runner) TableA1(ctx context.Context) (*Table, error) {
	t := &Table{Name: "tableA1", Title: "Table A1: predictor study (test split)",
		LabelColumns: []string{"predictor"}, ValueColumns: []string{"micro-F1", "macro-F1", "fit time (s)"}}
	var runs [][]PredictorScore
	for _, s := range r.cfg.Seeds {
		res, err := r.study(ctx, s)
		if err != nil {
			return nil, err
		}
		runs = append(runs, res)
	}
	for i := range runs[0] {
		var micro, macro, fit []float64
		for _, res := range runs {
			micro = append(micro, res[i].MicroF1)
			macro = append(macro, res[i].MacroF1)
			fit = append(fit, res[i].Fit.Seconds())
		}
		t.Rows = append(t.Rows, Row{Labels: []string{runs[0][i].Name}, Values: []Stat{NewStat(micro), NewStat(macro), NewStat(fit)}})
	}
	epochs := "their default epochs"
	if r.cfg.PredictorEpochs > 0 {
		epochs = fmt.Sprintf("at most %d epochs", r.cfg.PredictorEpochs)
	}
	t.Notes = []string{r.note(), "Neural predictors trained with " + epochs + "; fit time on this machine."}
	return t, nil
}
