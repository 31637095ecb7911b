// Package kernels holds the CPU kernels of the fast BERT forward: a
// cache-blocked single-precision matrix product over pre-packed panels of
// the right-hand matrix, spread over goroutines, and the row-wise
// operations around it (layer normalization, softmax, GELU).
//
// The product's inner loop is a 6×16 micro-kernel: AVX2/FMA assembly on
// amd64 processors that have it (checked at start-up with
// golang.org/x/sys/cpu), a portable Go loop elsewhere. Both accumulate in
// float32.
package kernels

import (
	"fmt"
	"sync"
)

// Blocking parameters. A kc×16 panel of B (16 KiB) stays in L1 while the
// micro-kernel sweeps a packed mc×kc block of A (128 KiB), which stays in
// L2 with the mc×(16·ncPanels) block of C (256 KiB) it accumulates into.
// A is packed once per product, shared by the workers.
const (
	maxMR = 16  // most rows of a micro-kernel
	nr    = 16  // columns of the micro-kernel (one packed panel)
	kc    = 256 // depth of one block of the inner dimension
	mcMax = 128 // most rows of A per block (rounded down to a multiple of mr)

	ncPanels = 32 // panels of B (512 columns) per block of C
)

// best is the fastest micro-kernel this processor runs, chosen once at
// start-up from its CPU features.
var best = available()[0]

// Kernel names the micro-kernel Gemm uses: "avx512", "avx2-fma" or "go".
func Kernel() string { return best.name }

// Packed is the right-hand matrix B (K×N) of C = A·B, rearranged once into
// the layout the micro-kernel reads: for each block of kc rows of B, the
// N columns in panels of 16, each panel row-major and zero-padded to 16
// columns. Packing a weight matrix costs a copy and is done at model load;
// the product then reads B contiguously.
type Packed struct {
	N, K int
	data []float32
}

// panels is the number of 16-column panels.
func (p *Packed) panels() int { return (p.N + nr - 1) / nr }

// resize prepares p for a K×N matrix, reusing its storage when large
// enough.
func (p *Packed) resize(n, k int) {
	p.N, p.K = n, k
	size := p.panels() * nr * k
	if cap(p.data) < size {
		p.data = make([]float32, size)
	}
	p.data = p.data[:size]
}

// panel returns the packed rows k0..k0+klen of panel j.
func (p *Packed) panel(k0, klen, j int) []float32 {
	off := k0*p.panels()*nr + j*klen*nr
	return p.data[off : off+klen*nr]
}

// PackTransposed packs B = Wᵀ from W, an n×k row-major matrix with rows ld
// apart: the layout of a linear layer's weight (out×in), so that A·B is
// x·Wᵀ. dst's storage is reused when large enough.
func PackTransposed(dst *Packed, w []float32, n, k, ld int) {
	dst.resize(n, k)
	np := dst.panels()
	for k0 := 0; k0 < k; k0 += kc {
		klen := min(kc, k-k0)
		for j := 0; j < np; j++ {
			pn := dst.panel(k0, klen, j)
			for c := 0; c < nr; c++ {
				col := j*nr + c
				if col >= n {
					for p := 0; p < klen; p++ {
						pn[p*nr+c] = 0
					}
					continue
				}
				src := w[col*ld+k0 : col*ld+k0+klen]
				for p, v := range src {
					pn[p*nr+c] = v
				}
			}
		}
	}
}

// Pack packs B, a k×n row-major matrix with rows ld apart. dst's storage
// is reused when large enough.
func Pack(dst *Packed, b []float32, k, n, ld int) {
	dst.resize(n, k)
	np := dst.panels()
	for k0 := 0; k0 < k; k0 += kc {
		klen := min(kc, k-k0)
		for j := 0; j < np; j++ {
			pn := dst.panel(k0, klen, j)
			c0 := j * nr
			w := min(nr, n-c0)
			for p := 0; p < klen; p++ {
				row := pn[p*nr : p*nr+nr]
				copy(row, b[(k0+p)*ld+c0:(k0+p)*ld+c0+w])
				for c := w; c < nr; c++ {
					row[c] = 0
				}
			}
		}
	}
}

// Epilogue is applied by each worker to the columns n0..n1 of all m rows
// of C (rows ldc apart) once their products are complete, e.g. an
// activation. It runs concurrently on disjoint columns.
type Epilogue func(c []float32, ldc, m, n0, n1 int)

// Gemm sets C = A·B + bias for the m×K matrix A (rows lda apart) and the
// packed B, writing the m×N matrix C (rows ldc apart), then applies epi
// (if not nil). bias has N values or is nil (zero). The columns are split
// over up to workers goroutines; workers ≤ 1 runs on the caller's
// goroutine. Nothing is allocated but the goroutines.
func Gemm(c []float32, ldc int, a []float32, lda, m int, b *Packed, bias []float32, epi Epilogue, workers int) error {
	return gemm(best, c, ldc, a, lda, m, b, bias, epi, workers)
}

// GemmTA is Gemm with A given transposed: at is the K×m matrix Aᵀ (rows
// ldat apart, ldat ≥ m), as a backward pass holds it (the weight gradient
// dYᵀ·X reads dY column by column). Packing A reads at's rows
// contiguously, so no transposed copy is made.
func GemmTA(c []float32, ldc int, at []float32, ldat, m int, b *Packed, bias []float32, epi Epilogue, workers int) error {
	if m == 0 || b.N == 0 {
		return nil
	}
	if ldat < m || len(at) < (b.K-1)*ldat+m {
		return fmt.Errorf("kernels: Aᵀ has %d values with ldat=%d, want %d×%d", len(at), ldat, b.K, m)
	}
	return gemmPacked(best, c, ldc, m, b, bias, epi, workers, func(ap []float32, mr, t0, t1 int) {
		packTilesT(ap, at, ldat, m, b.K, mr, t0, t1)
	})
}

func gemm(kern microKernel, c []float32, ldc int, a []float32, lda, m int, b *Packed, bias []float32, epi Epilogue, workers int) error {
	if m == 0 || b.N == 0 {
		return nil
	}
	if lda < b.K {
		return fmt.Errorf("kernels: leading dimension lda=%d for K=%d", lda, b.K)
	}
	if len(a) < (m-1)*lda+b.K {
		return fmt.Errorf("kernels: A has %d values, want %d×%d (lda %d)", len(a), m, b.K, lda)
	}
	return gemmPacked(kern, c, ldc, m, b, bias, epi, workers, func(ap []float32, mr, t0, t1 int) {
		packTiles(ap, a, lda, m, b.K, mr, t0, t1)
	})
}

// gemmPacked checks C and the bias, packs A with pack (tiles t0..t1 of mr
// rows) and runs the product.
func gemmPacked(kern microKernel, c []float32, ldc, m int, b *Packed, bias []float32, epi Epilogue, workers int,
	pack func(ap []float32, mr, t0, t1 int)) error {
	if ldc < b.N {
		return fmt.Errorf("kernels: leading dimension ldc=%d for N=%d", ldc, b.N)
	}
	if len(c) < (m-1)*ldc+b.N {
		return fmt.Errorf("kernels: C has %d values, want %d×%d (ldc %d)", len(c), m, b.N, ldc)
	}
	if bias != nil && len(bias) < b.N {
		return fmt.Errorf("kernels: bias has %d values, want %d", len(bias), b.N)
	}
	np := b.panels()
	workers = max(1, min(workers, np))
	// A is packed once, shared by the workers: tile t (mr rows) occupies
	// K·mr values, k-major, so each kc block of it is contiguous.
	mr := kern.mr
	tiles := (m + mr - 1) / mr
	buf := getPackBuf(tiles * mr * b.K)
	defer packPool.Put(buf)
	ap := buf.a[:tiles*mr*b.K]
	if workers == 1 {
		pack(ap, mr, 0, tiles)
		gemmPanels(kern, c, ldc, ap, m, b, bias, epi, 0, np)
		return nil
	}
	Parallel(tiles, workers, func(_, t0, t1 int) { pack(ap, mr, t0, t1) })
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		j0, j1 := w*np/workers, (w+1)*np/workers
		wg.Go(func() { gemmPanels(kern, c, ldc, ap, m, b, bias, epi, j0, j1) })
	}
	gemmPanels(kern, c, ldc, ap, m, b, bias, epi, 0, np/workers)
	wg.Wait()
	return nil
}

// packBuf is the scratch of one product: the packed A. Pooled, so that
// repeated products of the same size allocate nothing.
type packBuf struct {
	a []float32
}

var packPool = sync.Pool{New: func() any { return new(packBuf) }}

func getPackBuf(n int) *packBuf {
	buf := packPool.Get().(*packBuf)
	if cap(buf.a) < n {
		buf.a = make([]float32, n)
	}
	return buf
}

// gemmPanels computes the columns of panels j0..j1 of C from the packed A.
func gemmPanels(kern microKernel, c []float32, ldc int, ap []float32, m int, b *Packed, bias []float32, epi Epilogue, j0, j1 int) {
	n0, n1 := j0*nr, min(j1*nr, b.N)
	if n0 >= n1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc+n0 : i*ldc+n1]
		if bias != nil {
			copy(row, bias[n0:n1])
		} else {
			clear(row)
		}
	}
	var edge [maxMR * nr]float32 // a partial tile of C
	mr, k := kern.mr, b.K
	mc := mcMax - mcMax%mr
	// Rows outermost: an mc×nc block of C stays in L2 while every kc
	// block of A and B passes over it, so large batches cost per row what
	// one sentence does.
	for i0 := 0; i0 < m; i0 += mc {
		i1 := min(i0+mc, m)
		t0, t1 := i0/mr, (i1+mr-1)/mr
		for jc := j0; jc < j1; jc += ncPanels {
			jcEnd := min(jc+ncPanels, j1)
			for k0 := 0; k0 < k; k0 += kc {
				klen := min(kc, k-k0)
				for j := jc; j < jcEnd; j++ {
					pn := b.panel(k0, klen, j)
					col := j * nr
					w := min(nr, b.N-col)
					for t := t0; t < t1; t++ {
						at := ap[t*mr*k+k0*mr : t*mr*k+(k0+klen)*mr]
						r0 := t * mr
						if w == nr && r0+mr <= i1 {
							kern.run(klen, at, pn, c[r0*ldc+col:], ldc)
							continue
						}
						// A partial tile: compute into scratch, add the
						// valid part.
						e := edge[:mr*nr]
						clear(e)
						kern.run(klen, at, pn, e, nr)
						for r := r0; r < min(r0+mr, i1); r++ {
							addTo(c[r*ldc+col:r*ldc+col+w], e[(r-r0)*nr:])
						}
					}
				}
			}
		}
	}
	if epi != nil {
		epi(c, ldc, m, n0, n1)
	}
}

// packTiles packs tiles t0..t1 of the m×k matrix A (rows lda apart): tile
// t holds rows t·mr.. t·mr+mr, k-major (row i, depth p at
// dst[t·mr·k + p·mr + i]), the rows past m zero.
func packTiles(dst, a []float32, lda, m, k, mr, t0, t1 int) {
	for t := t0; t < t1; t++ {
		tile := dst[t*mr*k : (t+1)*mr*k]
		r0 := t * mr
		if mr == 16 && r0+16 <= m {
			packTile16(tile, a, lda, r0, k)
			continue
		}
		for i := 0; i < mr; i++ {
			r := r0 + i
			if r >= m {
				for p := 0; p < k; p++ {
					tile[p*mr+i] = 0
				}
				continue
			}
			for p, v := range a[r*lda : r*lda+k] {
				tile[p*mr+i] = v
			}
		}
	}
}

// packTilesT is packTiles for A given as Aᵀ (k×m, rows ldat apart): tile
// t's depth p is the mr values at[p·ldat + t·mr …], read contiguously.
func packTilesT(dst, at []float32, ldat, m, k, mr, t0, t1 int) {
	for t := t0; t < t1; t++ {
		tile := dst[t*mr*k : (t+1)*mr*k]
		r0 := t * mr
		w := min(mr, m-r0)
		for p := 0; p < k; p++ {
			d := tile[p*mr : p*mr+mr]
			copy(d, at[p*ldat+r0:p*ldat+r0+w])
			clear(d[w:])
		}
	}
}

// packTile16 is packTiles' full 16-row tile, written sequentially from
// sixteen row streams (two thirds of the time of the strided loop).
func packTile16(tile, a []float32, lda, r0, k int) {
	var rows [16][]float32
	for i := range rows {
		o := (r0 + i) * lda
		rows[i] = a[o : o+k : o+k]
	}
	tile = tile[:16*k]
	for p := 0; p < k; p++ {
		d := tile[p*16 : p*16+16 : p*16+16]
		d[0], d[1], d[2], d[3] = rows[0][p], rows[1][p], rows[2][p], rows[3][p]
		d[4], d[5], d[6], d[7] = rows[4][p], rows[5][p], rows[6][p], rows[7][p]
		d[8], d[9], d[10], d[11] = rows[8][p], rows[9][p], rows[10][p], rows[11][p]
		d[12], d[13], d[14], d[15] = rows[12][p], rows[13][p], rows[14][p], rows[15][p]
	}
}

// addTo adds src[:len(dst)] to dst.
func addTo(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] += v
	}
}

// Parallel splits 0..n into up to workers contiguous ranges and runs
// fn(w, lo, hi) on each, w being the range's index (for per-worker
// scratch), one goroutine per range beyond the first, which runs on the
// caller's goroutine. It returns when all are done.
func Parallel(n, workers int, fn func(w, lo, hi int)) {
	workers = max(1, min(workers, n))
	if workers == 1 {
		if n > 0 {
			fn(0, 0, n)
		}
		return
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		lo, hi := w*n/workers, (w+1)*n/workers
		wg.Go(func() { fn(w, lo, hi) })
	}
	fn(0, 0, n/workers)
	wg.Wait()
}
