package cuda

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/pmlm-go/pmlm/internal/kernels"
)

// CPU is the pure-Go twin of the CUDA multiplier. It runs the packed,
// cache-blocked kernels of internal/kernels (AVX-512 or AVX2/FMA assembly
// where the processor has it): one product is split over the goroutines by
// columns, a batch of products by matrices.
type CPU struct {
	workers int
}

// NewCPU returns the CPU multiplier. workers ≤ 0 means GOMAXPROCS.
func NewCPU(workers int) *CPU {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	return &CPU{workers: workers}
}

// Name implements Multiplier.
func (m *CPU) Name() string {
	return fmt.Sprintf("cpu (%d goroutines, %s kernel)", m.workers, kernels.Kernel())
}

// Close implements Multiplier; the CPU twin holds nothing.
func (m *CPU) Close() error { return nil }

// MatMul implements Multiplier.
func (m *CPU) MatMul(b Batch, a, bm, c []float32) error {
	if err := b.Validate(a, bm, c); err != nil {
		return err
	}
	if b.Count == 0 || b.M == 0 || b.N == 0 {
		return nil
	}
	one := func(i int, p *kernels.Packed, workers int) error {
		bi := bm[i*b.K*b.N : (i+1)*b.K*b.N]
		if b.TransB {
			kernels.PackTransposed(p, bi, b.N, b.K, b.K)
		} else {
			kernels.Pack(p, bi, b.K, b.N, b.N)
		}
		return kernels.Gemm(c[i*b.M*b.N:(i+1)*b.M*b.N], b.N, a[i*b.M*b.K:(i+1)*b.M*b.K], b.K, b.M, p, nil, nil, workers)
	}
	if b.K == 0 {
		clear(c)
		return nil
	}
	if b.Count == 1 {
		var p kernels.Packed
		return one(0, &p, m.workers)
	}
	var mu sync.Mutex
	var first error
	kernels.Parallel(b.Count, m.workers, func(_, lo, hi int) {
		var p kernels.Packed // reused across this worker's matrices
		for i := lo; i < hi; i++ {
			if err := one(i, &p, 1); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
				return
			}
		}
	})
	return first
}
