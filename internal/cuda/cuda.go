// Package cuda multiplies batches of small float32 matrices, the shape of
// work in BERTScore's token-similarity matrices (reward.BERTScoreOptions
// Batched). The policy does not use it: its word scoring runs on spago.
//
// Built with the "cuda" build tag, New loads the CUDA driver (libcuda.so.1)
// and NVRTC at run time with dlopen, compiles the batched-matmul kernel of
// kernel.cu for the device's own compute capability, and runs it on the first
// GPU. Nothing CUDA-specific is linked at build time, so
// `go build -tags cuda ./...` and `go vet -tags cuda ./...` work on machines
// without the toolkit or a GPU; New then fails with ErrNoDevice. The kernel is
// written for sm_70 (V100) and later and runs unchanged on Hopper.
//
// Without the tag, New returns the CPU twin: the same API computed by a
// cache-blocked, multi-core pure-Go kernel.
package cuda

import (
	"errors"
	"fmt"
)

// ErrNoDevice is returned by New when no usable CUDA device or library is
// present.
var ErrNoDevice = errors.New("cuda: no usable CUDA device")

// Batch describes C[i] = A[i] · op(B[i]) for i < Count, every matrix dense
// and row-major: A[i] is M×K, B[i] is K×N (or N×K when TransB), C[i] is M×N.
// The matrices of a batch lie back to back in one slice each.
type Batch struct {
	Count, M, N, K int
	// TransB multiplies by the transpose of B: B[i] is stored N×K. Cosine
	// similarity matrices of token embeddings (X · Yᵀ) have this shape.
	TransB bool
}

// Validate checks the dimensions against the slices' lengths.
func (b Batch) Validate(a, bm, c []float32) error {
	if b.Count < 0 || b.M < 0 || b.N < 0 || b.K < 0 {
		return fmt.Errorf("cuda: negative dimension in %+v", b)
	}
	if len(a) != b.Count*b.M*b.K {
		return fmt.Errorf("cuda: A has %d values, want %d×%d×%d", len(a), b.Count, b.M, b.K)
	}
	if len(bm) != b.Count*b.K*b.N {
		return fmt.Errorf("cuda: B has %d values, want %d×%d×%d", len(bm), b.Count, b.K, b.N)
	}
	if len(c) != b.Count*b.M*b.N {
		return fmt.Errorf("cuda: C has %d values, want %d×%d×%d", len(c), b.Count, b.M, b.N)
	}
	return nil
}

// FLOPs returns the floating-point operations of the batch (2·M·N·K each).
func (b Batch) FLOPs() float64 {
	return 2 * float64(b.Count) * float64(b.M) * float64(b.N) * float64(b.K)
}

// Multiplier computes batched matrix products. Implementations are safe for
// concurrent use.
type Multiplier interface {
	// MatMul writes A[i]·op(B[i]) into C[i] for every matrix of the batch.
	MatMul(b Batch, a, bm, c []float32) error
	// Name says where the products run, e.g. "cpu (2 goroutines)" or
	// "cuda: NVIDIA H100 80GB HBM3 (sm_90)".
	Name() string
	// Close releases the device resources.
	Close() error
}
