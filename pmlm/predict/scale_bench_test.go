package predict_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/pmlm-go/pmlm/internal/cputime"
	"github.com/pmlm-go/pmlm/pmlm/predict"
	"github.com/pmlm-go/pmlm/pmlm/synth"
)

// BenchmarkGBDTFitPatients fits the GBDT predictor (default configuration,
// early stopping included) on synthetic cohorts of growing size, to show
// how the fit grows with the number of patients, with the process CPU time
// beside the wall time. Without PMLM_BENCH_SCALE=1 only a 200-patient
// cohort runs, so that CI's one-iteration smoke stays short; with it 2,500,
// 5,000, 10,000 and 20,000 patients run (generating the cohorts takes
// minutes of its own, outside the timer).
func BenchmarkGBDTFitPatients(b *testing.B) {
	sizes := []int{200}
	if os.Getenv("PMLM_BENCH_SCALE") == "1" {
		sizes = []int{2500, 5000, 10000, 20000}
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("patients=%d", n), func(b *testing.B) {
			series, labels, numLabels := benchCohort(b, n)
			b.ResetTimer()
			cpu0, cpuOK := cputime.Process()
			for b.Loop() {
				m := &predict.GBDTClassifier{Config: predict.GBDTConfig{Seed: 1}}
				if err := m.Fit(context.Background(), series, labels, numLabels); err != nil {
					b.Fatal(err)
				}
			}
			if cpu1, _ := cputime.Process(); cpuOK {
				b.ReportMetric((cpu1-cpu0).Seconds()/float64(b.N), "cpu-s/op")
			}
		})
	}
}

// BenchmarkRocketFitPatients fits the MiniRocket predictor (default
// configuration: 9,996 features, 12 labels) on synthetic cohorts of growing
// size with each ridge solver: "exact" is FitRidgeCV (eigendecomposition,
// leave-one-out alpha), "cg" is FitRidgeIterative (conjugate gradients,
// held-out alpha), whatever the default threshold. It reports the process
// CPU time and the conjugate-gradient iterations of the alpha search and
// of the final fit beside the wall time. Without PMLM_BENCH_SCALE=1 only a 200-patient
// cohort runs, so that CI's one-iteration smoke stays short; with it 2,500,
// 5,000, 10,000 and 20,000 patients run, the exact solver only up to 5,000
// (it is cubic: hours beyond).
func BenchmarkRocketFitPatients(b *testing.B) {
	sizes := []int{200}
	if os.Getenv("PMLM_BENCH_SCALE") == "1" {
		sizes = []int{2500, 5000, 10000, 20000}
	}
	for _, n := range sizes {
		var series [][][]float64
		var labels []int
		var numLabels int
		for _, solver := range []string{"exact", "cg"} {
			if solver == "exact" && n > 5000 {
				continue
			}
			b.Run(fmt.Sprintf("patients=%d/solver=%s", n, solver), func(b *testing.B) {
				if series == nil {
					series, labels, numLabels = benchCohort(b, n)
				}
				rc := predict.RidgeConfig{IterativeAbove: -1}
				if solver == "cg" {
					rc.IterativeAbove = 1
				}
				b.ResetTimer()
				cpu0, cpuOK := cputime.Process()
				var ridge *predict.Ridge
				for b.Loop() {
					m := &predict.MiniRocketClassifier{Config: predict.MiniRocketConfig{Seed: 1}, RidgeSolver: rc}
					if err := m.Fit(context.Background(), series, labels, numLabels); err != nil {
						b.Fatal(err)
					}
					ridge = m.Ridge()
				}
				if cpu1, _ := cputime.Process(); cpuOK {
					b.ReportMetric((cpu1-cpu0).Seconds()/float64(b.N), "cpu-s/op")
				}
				b.ReportMetric(float64(ridge.SearchIterations), "search-iters")
				b.ReportMetric(float64(ridge.Iterations), "final-iters")
			})
		}
	}
}

// benchCohort generates the default synthetic cohort with n patients and
// returns its series, label indices and label count.
func benchCohort(b *testing.B, n int) ([][][]float64, []int, int) {
	b.Helper()
	opts := synth.DefaultOptions()
	opts.Patients, opts.Visits = n, 0
	c, err := synth.Generate(opts)
	if err != nil {
		b.Fatal(err)
	}
	series := make([][][]float64, len(c.Patients))
	labels := make([]int, len(c.Patients))
	for i := range c.Patients {
		series[i] = c.Patients[i].Matrix()
		labels[i] = c.LabelIndex(c.Patients[i].Label)
	}
	return series, labels, len(c.Labels)
}
