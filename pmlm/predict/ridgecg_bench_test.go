package predict

import (
	"testing"

	"github.com/pmlm-go/pmlm/internal/cputime"
)

// BenchmarkRidgeIteration measures one conjugate-gradient iteration of
// FitRidgeIterative (one pass over the examples computing Xᵀ(X·v) for all
// classes) on 500 examples of MiniRocket's 9,996 features and 12 classes,
// one worker: the cost of a pass grows linearly in examples × features ×
// classes.
func BenchmarkRidgeIteration(b *testing.B) {
	x, y := ridgeProblem(1, 500, 9996, 12)
	s := newRidgeSystem(x, y, 12, nil, 1)
	active := make([]int, 12)
	for c := range active {
		active[c] = c
	}
	v, out := s.rhs(), newMatrix(12, 9996)
	b.ResetTimer()
	cpu0, cpuOK := cputime.Process()
	for b.Loop() {
		s.apply(active, v, out, 1)
	}
	if cpu1, _ := cputime.Process(); cpuOK {
		b.ReportMetric((cpu1-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	}
}
