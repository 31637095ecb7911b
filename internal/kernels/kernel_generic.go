package kernels

// microKernel adds the product of a packed k×mr tile of A (row i of the
// tile at a[p*mr+i]) and a packed k×16 panel of B to mr rows of C (ldc
// apart).
type microKernel struct {
	name string
	mr   int
	id   kernelID
}

type kernelID int

const (
	kernGo kernelID = iota
	kernFMA
	kernAVX512
)

// genericKernel is the portable micro-kernel.
var genericKernel = microKernel{name: "go", mr: 4, id: kernGo}

// kernelGo is the portable micro-kernel over rows rows: the same contract
// as the assembly ones, with the sixteen columns of a row held in locals
// so the compiler keeps them in registers.
func kernelGo(rows, k int, a, b, c []float32, ldc int) {
	a, b = a[:k*rows], b[:k*nr]
	for i := 0; i < rows; i++ {
		var s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15 float32
		for p := 0; p < k; p++ {
			av := a[p*rows+i]
			bp := b[p*nr : p*nr+nr : p*nr+nr]
			s0 += av * bp[0]
			s1 += av * bp[1]
			s2 += av * bp[2]
			s3 += av * bp[3]
			s4 += av * bp[4]
			s5 += av * bp[5]
			s6 += av * bp[6]
			s7 += av * bp[7]
			s8 += av * bp[8]
			s9 += av * bp[9]
			s10 += av * bp[10]
			s11 += av * bp[11]
			s12 += av * bp[12]
			s13 += av * bp[13]
			s14 += av * bp[14]
			s15 += av * bp[15]
		}
		cr := c[i*ldc : i*ldc+nr : i*ldc+nr]
		cr[0] += s0
		cr[1] += s1
		cr[2] += s2
		cr[3] += s3
		cr[4] += s4
		cr[5] += s5
		cr[6] += s6
		cr[7] += s7
		cr[8] += s8
		cr[9] += s9
		cr[10] += s10
		cr[11] += s11
		cr[12] += s12
		cr[13] += s13
		cr[14] += s14
		cr[15] += s15
	}
}
