package similarity

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

// benchN and benchDim are the size of the reference set of the top-k
// benchmark: 1e6 patients × 128 float32 = 512 MB scanned per query.
const (
	benchN   = 1_000_000
	benchDim = 128
)

var benchOnce struct {
	sync.Once
	r *Exact
	q []float32
}

func benchRecommender(b *testing.B) (*Exact, []float32) {
	benchOnce.Do(func() {
		rng := rand.New(rand.NewPCG(5, 6))
		// Build the normalized matrix directly: NewExact would need a
		// second 512 MB copy.
		e := &Exact{dim: benchDim, data: make([]float32, benchN*benchDim),
			labels: make([]string, benchN), workers: runtime.GOMAXPROCS(0)}
		for i := range e.data {
			e.data[i] = float32(rng.NormFloat64())
		}
		for i := 0; i < benchN; i++ {
			row := e.data[i*benchDim : (i+1)*benchDim]
			_ = normalize(row, row)
		}
		benchOnce.r = e
		benchOnce.q = randomVectors(rng, 1, benchDim)[0]
	})
	return benchOnce.r, benchOnce.q
}

// BenchmarkTopK measures one k=10 query over 1e6×128 vectors; the MB/s
// column is the rate at which the reference matrix is scanned.
func BenchmarkTopK(b *testing.B) {
	r, q := benchRecommender(b)
	b.SetBytes(int64(benchN * benchDim * 4))
	b.ResetTimer()
	for b.Loop() {
		if _, err := r.TopK(q, 10, 3); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTopKOneWorker is the same query on one goroutine.
func BenchmarkTopKOneWorker(b *testing.B) {
	r, q := benchRecommender(b)
	one := *r
	one.workers = 1
	b.SetBytes(int64(benchN * benchDim * 4))
	b.ResetTimer()
	for b.Loop() {
		if _, err := one.TopK(q, 10, 3); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemoryBandwidth sums the same 512 MB matrix with the same
// goroutine split and the same unrolling as TopK, doing no other work: its
// MB/s is the memory-bandwidth bound of a TopK query on this machine, and
// 512 MB divided by it the least time a query can take.
func BenchmarkMemoryBandwidth(b *testing.B) {
	r, _ := benchRecommender(b)
	data := r.data
	workers := runtime.GOMAXPROCS(0)
	sums := make([]float32, workers)
	b.SetBytes(int64(len(data) * 4))
	b.ResetTimer()
	for b.Loop() {
		chunk := (len(data) + workers - 1) / workers
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() { sums[w] = sum(data[w*chunk : min((w+1)*chunk, len(data))]) })
		}
		wg.Wait()
	}
	sink = sums[0]
}

var sink float32

func sum(a []float32) float32 {
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= len(a); i += 8 {
		s0 += a[i]
		s1 += a[i+1]
		s2 += a[i+2]
		s3 += a[i+3]
		s4 += a[i+4]
		s5 += a[i+5]
		s6 += a[i+6]
		s7 += a[i+7]
	}
	for ; i < len(a); i++ {
		s0 += a[i]
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

// dotLoop is the portable alternative to dot: a Go loop unrolled by 8
// with independent accumulators so that the additions pipeline.
func dotLoop(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= len(a); i += 8 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
		s4 += a[i+4] * b[i+4]
		s5 += a[i+5] * b[i+5]
		s6 += a[i+6] * b[i+6]
		s7 += a[i+7] * b[i+7]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

// BenchmarkDot compares the blas32 dot with the Go loop on 1024 rows of
// 128 (512 KiB: in cache, so this is compute, not memory).
func BenchmarkDot(b *testing.B) {
	q, rows := make([]float32, benchDim), make([]float32, benchDim*1024)
	for i := range rows {
		rows[i] = float32(i%7) - 3
	}
	for i := range q {
		q[i] = float32(i%5) - 2
	}
	for _, impl := range []struct {
		name string
		f    func(a, b []float32) float32
	}{{"blas32", dot}, {"goloop", dotLoop}} {
		b.Run(impl.name, func(b *testing.B) {
			b.SetBytes(int64(len(rows) * 4))
			for b.Loop() {
				var s float32
				for r := 0; r < 1024; r++ {
					s += impl.f(q, rows[r*benchDim:(r+1)*benchDim])
				}
				sink = s
			}
		})
	}
}

func TestDotLoopAgreesWithDot(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{1, 7, 8, 9, 128, 131} {
		a, c := randomVectors(rng, 1, n)[0], randomVectors(rng, 1, n)[0]
		assert.InDelta(t, dot(a, c), dotLoop(a, c), 1e-4)
	}
}
