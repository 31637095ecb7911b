package kernels

import "golang.org/x/sys/cpu"

// vectorOps reports whether the AVX2/FMA versions of GELU, exp and ReLU run on
// this processor (decided once at start-up).
var vectorOps = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func geluErfAVX2(x *float32, n int)

//go:noescape
func reluAVX2(x *float32, n int)

//go:noescape
func expScaledSumAVX2(x *float32, n int, scale, shift float32) float32

// geluErfVec applies the erf GELU to the longest prefix of v that is a
// multiple of 8 and returns its length.
func geluErfVec(v []float32) int {
	n := len(v) &^ 7
	if !vectorOps || n == 0 {
		return 0
	}
	geluErfAVX2(&v[0], n)
	return n
}

// reluVec applies ReLU to the longest prefix of v that is a multiple of 8
// and returns its length.
func reluVec(v []float32) int {
	n := len(v) &^ 7
	if !vectorOps || n == 0 {
		return 0
	}
	reluAVX2(&v[0], n)
	return n
}

// expScaledSumVec sets v[i] = e^(v[i]·scale + shift) (arguments ≤ 88) on
// the longest prefix of v that is a multiple of 8 and returns its length
// and the sum of the results.
func expScaledSumVec(v []float32, scale, shift float32) (int, float32) {
	n := len(v) &^ 7
	if !vectorOps || n == 0 {
		return 0, 0
	}
	return n, expScaledSumAVX2(&v[0], n, scale, shift)
}
