package kernels

//go:noescape
func dot4AVX2(a *float32, lda int, x *float32, n int, y *float32)

// matVecVec sets y[i] to the dot product of the first n&^7 columns of row
// i with x for the longest prefix of rows that is a multiple of 4, and
// returns the number of rows it did.
func matVecVec(y, a []float32, lda int, x []float32) int {
	n := len(x) &^ 7
	rows := len(y) &^ 3
	if !vectorOps || n == 0 || rows == 0 {
		return 0
	}
	for i := 0; i < rows; i += 4 {
		dot4AVX2(&a[i*lda], lda, &x[0], n, &y[i])
	}
	return rows
}
