package kernels_test

import (
	"fmt"
	"log"

	"github.com/pmlm-go/pmlm/internal/kernels"
)

// A linear layer y = x·Wᵀ + b over a batch of rows, with the weight packed
// once and reused for every call.
func ExampleGemm() {
	x := []float32{ // 2 rows, 3 inputs
		1, 2, 3,
		4, 5, 6,
	}
	w := []float32{ // 2 outputs × 3 inputs, as a linear layer stores it
		1, 0, 1,
		0, 1, 0,
	}
	b := []float32{0.5, -1}
	var packed kernels.Packed
	kernels.PackTransposed(&packed, w, 2, 3, 3)
	y := make([]float32, 4)
	if err := kernels.Gemm(y, 2, x, 3, 2, &packed, b, nil, 2); err != nil {
		log.Fatal(err)
	}
	fmt.Println(y)
	// Output: [4.5 1 10.5 4]
}
