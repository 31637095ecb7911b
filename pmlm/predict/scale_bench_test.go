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
			b.ResetTimer()
			cpu0, cpuOK := cputime.Process()
			for b.Loop() {
				m := &predict.GBDTClassifier{Config: predict.GBDTConfig{Seed: 1}}
				if err := m.Fit(context.Background(), series, labels, len(c.Labels)); err != nil {
					b.Fatal(err)
				}
			}
			if cpu1, _ := cputime.Process(); cpuOK {
				b.ReportMetric((cpu1-cpu0).Seconds()/float64(b.N), "cpu-s/op")
			}
		})
	}
}
