package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/pmlm-go/pmlm/pmlm/experiment"
	"github.com/pmlm-go/pmlm/pmlm/predict"
	"github.com/pmlm-go/pmlm/pmlm/synth"
)

func predictStudyCommand() command {
	return command{
		name:  "predict-study",
		usage: "predict-study DIR [--predictors LIST] [--seed N] [--seeds N] [--baseline NAME] [--epochs N] [--validation] [--per-label] [--reference TWIN] [--json]",
		summary: "compare the label predictors on a cohort (the paper's table A1)\n\n" +
			"Each predictor is fitted on the training split of the time-based split once\n" +
			"per seed and scored on the test split: micro-F1 and macro-F1 in percent, mean\n" +
			"± std over the seeds. Reference rows: the majority label of the training split\n" +
			"and, on a cohort with the synthetic generator's labels, the learnable-share\n" +
			"ceiling (perfect on the labels with a lab signature, the majority label on\n" +
			"those without). Each predictor is compared with the majority answer and with\n" +
			"--baseline: the difference in points, mean ± std over seeds, and the 95%\n" +
			"paired bootstrap interval over test patients. --json prints one object per\n" +
			"row of the test split (validation scores beside) instead of the tables.\n" +
			"--validation also prints the same fits' scores on the validation split, on\n" +
			"which to choose a predictor without looking at the test split.\n" +
			"--reference TWIN fits the same predictors on TWIN, a twin of DIR (the same\n" +
			"patients and labels, other values: pmlm synth --noise-free with DIR's seed),\n" +
			"and adds the best of them on the validation split as the reference row\n" +
			"\"noise-free learner\": every predictor is compared with it patient by patient\n" +
			"and reported as a fraction of it. A TWIN with other patients is refused.",
		flags: func(fs *flag.FlagSet) func(ctx context.Context, env *env, args []string) error {
			names := fs.String("predictors", strings.Join(predict.PredictorNames(), ","), "comma-separated predictors to compare")
			seed := fs.Uint64("seed", 1, "first random seed of the predictors")
			seeds := fs.Int("seeds", 1, "number of seeds (seed, seed+1, ...)")
			baseline := fs.String("baseline", "minirocket", "predictor the others are compared with (when it is among them)")
			epochs := fs.Int("epochs", 0, "maximum training epochs of the neural baselines (0: their default)")
			perLabel := fs.Bool("per-label", false, "print each label's F1")
			asJSON := fs.Bool("json", false, "print JSON")
			onVal := fs.Bool("validation", false, "also print the scores on the validation split")
			twin := fs.String("reference", "", "twin cohort directory (pmlm synth --noise-free): adds the noise-free learner reference")
			data := addDataFlags(fs)
			return func(ctx context.Context, e *env, args []string) error {
				if err := wantArgs(args, 1); err != nil {
					return err
				}
				if *seeds < 1 {
					return fmt.Errorf("%w: --seeds %d, want at least 1", errUsage, *seeds)
				}
				var list []string
				var factories []experiment.PredictorFactory
				for _, n := range strings.Split(*names, ",") {
					n = strings.TrimSpace(n)
					if _, err := predict.New(n, 0); err != nil {
						return fmt.Errorf("%w: %w", errUsage, err)
					}
					list = append(list, n)
					factories = append(factories, func(seed uint64) (predict.Predictor, error) {
						p, err := predict.New(n, seed)
						if nc, ok := p.(*predict.NeuralClassifier); ok && *epochs > 0 {
							nc.Config.Epochs = *epochs
						}
						return p, err
					})
				}
				var ss []uint64
				for i := range *seeds {
					ss = append(ss, *seed+uint64(i))
				}
				return predictStudy(ctx, e, args[0], list, factories, studyPrint{data: data, seeds: ss, onValidation: *onVal, baseline: *baseline, perLabel: *perLabel, json: *asJSON, twin: *twin})
			}
		},
	}
}

type studyPrint struct {
	data           *dataFlags
	seeds          []uint64
	onValidation   bool
	baseline       string
	perLabel, json bool
	// twin is the directory of a twin cohort for the noise-free learner
	// reference (empty: none).
	twin string
}

// referenceName is the prefix of the noise-free learner's row.
const referenceName = "noise-free learner"

// studyJSON is the JSON form of one row of the study: scores on the test
// split, and on the validation split under validation_*.
type studyJSON struct {
	Name              string               `json:"name"`
	Reference         bool                 `json:"reference,omitempty"`
	Seeds             int                  `json:"seeds"`
	MicroF1           float64              `json:"micro_f1"`
	MacroF1           float64              `json:"macro_f1"`
	MicroF1Std        float64              `json:"micro_f1_std"`
	MacroF1Std        float64              `json:"macro_f1_std"`
	FitSeconds        float64              `json:"fit_seconds"`
	PerLabelF1        map[string]float64   `json:"per_label_f1"`
	VsMajority        *studyDifferenceJSON `json:"vs_majority,omitempty"`
	VsBaseline        *studyDifferenceJSON `json:"vs_baseline,omitempty"`
	Baseline          string               `json:"baseline,omitempty"`
	VsReference       *studyDifferenceJSON `json:"vs_noise_free_learner,omitempty"`
	OfReference       *studyFractionJSON   `json:"fraction_of_noise_free_learner,omitempty"`
	ValidationMicroF1 *float64             `json:"validation_micro_f1,omitempty"`
	ValidationMacroF1 *float64             `json:"validation_macro_f1,omitempty"`
}

type studyDifferenceJSON struct {
	Micro experiment.Stat `json:"micro_f1"`
	Macro experiment.Stat `json:"macro_f1"`
}

// studyFractionJSON is a predictor's mean score over the reference's.
type studyFractionJSON struct {
	Micro float64 `json:"micro_f1"`
	Macro float64 `json:"macro_f1"`
}

// studyDiffs compares every fitted row of st with the majority row, with
// the baseline row and with the noise-free learner's row when st has one.
func studyDiffs(st *experiment.PredictorStudy, baseline string) (vsMajority, vsBaseline, vsReference []*studyDifferenceJSON, err error) {
	base, ref := -1, referenceRow(st)
	for i, r := range st.Rows {
		if !r.Reference && r.Name == baseline {
			base = i
		}
	}
	vsMajority = make([]*studyDifferenceJSON, len(st.Rows))
	vsBaseline = make([]*studyDifferenceJSON, len(st.Rows))
	vsReference = make([]*studyDifferenceJSON, len(st.Rows))
	bo := experiment.BootstrapOptions{Seed: 1}
	for i, r := range st.Rows {
		if r.Reference {
			continue
		}
		for _, against := range []struct {
			row int
			out []*studyDifferenceJSON
		}{{0, vsMajority}, {base, vsBaseline}, {ref, vsReference}} {
			if against.row < 0 || against.row == i {
				continue
			}
			mi, ma, err := st.PairedF1(i, against.row, bo)
			if err != nil {
				return nil, nil, nil, err
			}
			against.out[i] = &studyDifferenceJSON{Micro: mi, Macro: ma}
		}
	}
	return vsMajority, vsBaseline, vsReference, nil
}

// referenceRow returns the index of st's noise-free learner row, or -1.
func referenceRow(st *experiment.PredictorStudy) int {
	for i, r := range st.Rows {
		if r.Reference && strings.HasPrefix(r.Name, referenceName) {
			return i
		}
	}
	return -1
}

// addTwinReference fits the predictors on the twin cohort in dir and adds
// the best of them on the validation split (on the test split when there
// is no validation split) to val and test as the noise-free learner.
func addTwinReference(ctx context.Context, e *env, dir string, names []string, factories []experiment.PredictorFactory,
	opts experiment.StudyOptions, pr studyPrint, val, test *experiment.PredictorStudy) error {
	c, err := pr.data.read(e, dir)
	if err != nil {
		return err
	}
	tval, ttest, err := experiment.ComparePredictors(ctx, c, pr.data.split, names, factories, opts)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	choose := tval
	if choose == nil {
		choose = ttest
	}
	best := -1
	for i, r := range choose.Rows {
		if !r.Reference && (best < 0 || r.MicroF1.Mean > choose.Rows[best].MicroF1.Mean) {
			best = i
		}
	}
	name := fmt.Sprintf("%s (%s on %s)", referenceName, choose.Rows[best].Name, dir)
	if err := test.AddTwinReference(ttest, best, name); err != nil {
		return fmt.Errorf("--reference %s: %w", dir, err)
	}
	if val != nil {
		if err := val.AddTwinReference(tval, best, name); err != nil {
			return fmt.Errorf("--reference %s: %w", dir, err)
		}
	}
	return nil
}

func predictStudy(ctx context.Context, e *env, dir string, names []string, factories []experiment.PredictorFactory, pr studyPrint) error {
	c, err := pr.data.read(e, dir)
	if err != nil {
		return err
	}
	if err := pr.data.checkSplit(c); err != nil {
		return err
	}
	opts := experiment.StudyOptions{Seeds: pr.seeds}
	unlearnable := synth.UnlearnableLabels()
	if !slices.ContainsFunc(unlearnable, func(l string) bool { return c.LabelIndex(l) < 0 }) {
		opts.Unlearnable = unlearnable
	}
	val, test, err := experiment.ComparePredictors(ctx, c, pr.data.split, names, factories, opts)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	if pr.twin != "" {
		if err := addTwinReference(ctx, e, pr.twin, names, factories, opts, pr, val, test); err != nil {
			return err
		}
	}
	if pr.json {
		vsMajority, vsBaseline, vsReference, err := studyDiffs(test, pr.baseline)
		if err != nil {
			return err
		}
		ref := referenceRow(test)
		out := make([]studyJSON, len(test.Rows))
		for i, r := range test.Rows {
			out[i] = studyJSON{Name: r.Name, Reference: r.Reference, Seeds: len(test.Seeds), MicroF1: r.MicroF1.Mean, MacroF1: r.MacroF1.Mean,
				MicroF1Std: r.MicroF1.Std, MacroF1Std: r.MacroF1.Std, FitSeconds: r.FitSeconds, PerLabelF1: map[string]float64{},
				VsMajority: vsMajority[i], VsBaseline: vsBaseline[i], VsReference: vsReference[i]}
			if vsBaseline[i] != nil {
				out[i].Baseline = pr.baseline
			}
			if vsReference[i] != nil {
				out[i].OfReference = fractionOf(r, test.Rows[ref])
			}
			for l, f := range r.PerLabelF1 {
				out[i].PerLabelF1[test.Labels[l]] = f
			}
			if val != nil {
				out[i].ValidationMicroF1, out[i].ValidationMacroF1 = &val.Rows[i].MicroF1.Mean, &val.Rows[i].MacroF1.Mean
			}
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	train, valP, testP := c.Split(pr.data.split)
	fmt.Fprintf(e.stdout, "cohort %s: %d metrics, %d labels; patients: %d train, %d validation, %d test; %d seed(s)\n",
		dir, len(c.Metrics), len(c.Labels), len(train), len(valP), len(testP), len(test.Seeds))
	studies := []*experiment.PredictorStudy{test}
	if pr.onValidation && val != nil {
		studies = []*experiment.PredictorStudy{val, test}
	}
	for _, st := range studies {
		if err := printStudy(e, st, pr); err != nil {
			return err
		}
	}
	return nil
}

// printStudy prints the scores of one split, the differences and, with
// --per-label, each label's F1.
func printStudy(e *env, st *experiment.PredictorStudy, pr studyPrint) error {
	vsMajority, vsBaseline, vsReference, err := studyDiffs(st, pr.baseline)
	if err != nil {
		return err
	}
	ref := referenceRow(st)
	fmt.Fprintf(e.stdout, "\n%s split (%d patients)\n", st.Split, len(st.Truth))
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "predictor\tmicro-F1 (%)\tmacro-F1 (%)\tfit (s)\t")
	for _, r := range st.Rows {
		fit := fmt.Sprintf("%.1f", r.FitSeconds)
		if r.Reference {
			fit = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", r.Name, pm(r.MicroF1), pm(r.MacroF1), fit)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "differences in points: mean ± std over seeds [95% paired bootstrap interval over patients]")
	tw = tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "predictor\tagainst\tmicro-F1\tmacro-F1\t")
	for i, r := range st.Rows {
		for _, d := range []struct {
			name string
			v    *studyDifferenceJSON
		}{{st.Rows[0].Name, vsMajority[i]}, {pr.baseline, vsBaseline[i]}, {referenceName, vsReference[i]}} {
			if d.v != nil {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", r.Name, d.name, pmCI(d.v.Micro), pmCI(d.v.Macro))
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if ref >= 0 {
		fmt.Fprintf(e.stdout, "as a fraction of the %s (%s)\n", referenceName, st.Rows[ref].Name)
		for _, r := range st.Rows {
			if f := fractionOf(r, st.Rows[ref]); !r.Reference && f != nil {
				fmt.Fprintf(e.stdout, "  %s: micro-F1 %.3f, macro-F1 %.3f\n", r.Name, f.Micro, f.Macro)
			}
		}
	}
	if !pr.perLabel {
		return nil
	}
	fmt.Fprintln(e.stdout, "per-label F1 (%), mean over seeds; support = patients with the label")
	tw = tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	support := make([]int, len(st.Labels))
	for _, y := range st.Truth {
		support[y]++
	}
	fmt.Fprint(tw, "label\tsupport\t")
	for _, r := range st.Rows {
		fmt.Fprintf(tw, "%s\t", r.Name)
	}
	fmt.Fprintln(tw)
	for l, name := range st.Labels {
		fmt.Fprintf(tw, "%s\t%d\t", name, support[l])
		for _, r := range st.Rows {
			fmt.Fprintf(tw, "%.1f\t", r.PerLabelF1[l])
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func pm(s experiment.Stat) string {
	if s.N < 2 {
		return fmt.Sprintf("%.2f", s.Mean)
	}
	return fmt.Sprintf("%.2f ± %.2f", s.Mean, s.Std)
}

func pmCI(s experiment.Stat) string {
	out := fmt.Sprintf("%+.2f", s.Mean)
	if s.N > 1 {
		out += fmt.Sprintf(" ± %.2f", s.Std)
	}
	if s.CI != nil {
		out += fmt.Sprintf(" [%+.2f, %+.2f]", s.CI.Low, s.CI.High)
	}
	return out
}

// fractionOf is r's mean scores over the reference row's; nil when the
// reference scores 0, where no fraction exists.
func fractionOf(r, ref experiment.PredictorRow) *studyFractionJSON {
	if ref.MicroF1.Mean == 0 || ref.MacroF1.Mean == 0 {
		return nil
	}
	return &studyFractionJSON{Micro: r.MicroF1.Mean / ref.MicroF1.Mean, Macro: r.MacroF1.Mean / ref.MacroF1.Mean}
}
