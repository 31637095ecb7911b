package kernels

// MatVec sets y[i] = a[i·lda : i·lda+len(x)] · x for every i < len(y): a
// row-major matrix times a vector, the one-token step of a decoder (a
// layer's weights times the token's activations, the keys times a query).
// On amd64 with AVX2 and FMA it takes four rows per pass with 8-wide fused
// multiply-adds; elsewhere, and for the columns past a multiple of 8, it
// is plain Go. The result is deterministic (a fixed summation order), but
// not bitwise equal to a sequential dot product.
func MatVec(y, a []float32, lda int, x []float32) {
	rows, n := len(y), len(x)
	if rows == 0 {
		return
	}
	if lda < n {
		panic("kernels: MatVec: lda smaller than len(x)")
	}
	_ = a[(rows-1)*lda+n-1] // one bounds check for every row
	vec := matVecVec(y, a, lda, x)
	for i := range rows {
		start := 0
		if i < vec {
			start = n &^ 7
		} else {
			y[i] = 0
		}
		row := a[i*lda+start : i*lda+n]
		s := y[i]
		for j, v := range row {
			s += v * x[start+j]
		}
		y[i] = s
	}
}
