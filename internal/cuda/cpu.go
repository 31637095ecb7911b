package cuda

import (
	"fmt"
	"runtime"
	"sync"
)

// CPU is the pure-Go twin of the CUDA multiplier: a cache-blocked kernel that
// spreads the rows of every product over GOMAXPROCS goroutines.
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
func (m *CPU) Name() string { return fmt.Sprintf("cpu (%d goroutines)", m.workers) }

// Close implements Multiplier; the CPU twin holds nothing.
func (m *CPU) Close() error { return nil }

// rowBlock is the number of output rows one task computes; kBlock the slice
// of the inner dimension kept hot in cache.
const (
	rowBlock = 16
	kBlock   = 256
)

// MatMul implements Multiplier.
func (m *CPU) MatMul(b Batch, a, bm, c []float32) error {
	if err := b.Validate(a, bm, c); err != nil {
		return err
	}
	if b.Count == 0 || b.M == 0 || b.N == 0 {
		return nil
	}
	tasksPerMat := (b.M + rowBlock - 1) / rowBlock
	total := b.Count * tasksPerMat
	workers := min(m.workers, total)
	var wg sync.WaitGroup
	var next sync.Mutex
	task := 0
	var tbuf []float32 // B transposed per matrix, shared read-only
	if b.TransB {
		tbuf = make([]float32, len(bm))
		for i := 0; i < b.Count; i++ {
			transpose(tbuf[i*b.K*b.N:(i+1)*b.K*b.N], bm[i*b.K*b.N:(i+1)*b.K*b.N], b.N, b.K)
		}
		bm = tbuf
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				t := task
				task++
				next.Unlock()
				if t >= total {
					return
				}
				i, r0 := t/tasksPerMat, (t%tasksPerMat)*rowBlock
				r1 := min(r0+rowBlock, b.M)
				am := a[i*b.M*b.K : (i+1)*b.M*b.K]
				bmat := bm[i*b.K*b.N : (i+1)*b.K*b.N]
				cm := c[i*b.M*b.N : (i+1)*b.M*b.N]
				gemmRows(am, bmat, cm, r0, r1, b.N, b.K)
			}
		}()
	}
	wg.Wait()
	return nil
}

// gemmRows computes rows [r0, r1) of C = A·B with B row-major K×N, in k
// blocks so that a block of B stays in cache across the rows.
func gemmRows(a, b, c []float32, r0, r1, n, k int) {
	for r := r0; r < r1; r++ {
		row := c[r*n : (r+1)*n]
		for j := range row {
			row[j] = 0
		}
	}
	for k0 := 0; k0 < k; k0 += kBlock {
		k1 := min(k0+kBlock, k)
		for r := r0; r < r1; r++ {
			row := c[r*n : (r+1)*n]
			arow := a[r*k : (r+1)*k]
			for p := k0; p < k1; p++ {
				axpy(arow[p], b[p*n:(p+1)*n], row)
			}
		}
	}
}

// axpy adds alpha·x to y, unrolled by four.
func axpy(alpha float32, x, y []float32) {
	y = y[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		y[i] += alpha * x[i]
		y[i+1] += alpha * x[i+1]
		y[i+2] += alpha * x[i+2]
		y[i+3] += alpha * x[i+3]
	}
	for ; i < len(x); i++ {
		y[i] += alpha * x[i]
	}
}

// transpose writes the cols×rows transpose of the rows×cols matrix src.
func transpose(dst, src []float32, rows, cols int) {
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			dst[c*rows+r] = src[r*cols+c]
		}
	}
}
