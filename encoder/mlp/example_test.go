package mlp_test

import (
	"fmt"
	"math"

	"github.com/pmlm-go/pmlm/encoder/mlp"
)

func ExampleMLP() {
	// Two training patients, 3 metrics per visit, NaN = not measured.
	train := [][][]float64{
		{{110, 5.1, math.NaN()}, {115, 5.3, 1.0}},
		{{130, 4.2, 0.8}},
	}
	std, err := mlp.FitStandardizer(train)
	if err != nil {
		panic(err)
	}
	cfg := mlp.DefaultConfig(3) // 45 visits × 3 metrics → 256 → 128
	enc, err := mlp.New(cfg, std, 42)
	if err != nil {
		panic(err)
	}
	x, err := enc.Encode(train[0])
	if err != nil {
		panic(err)
	}
	fmt.Println(cfg.Inputs(), len(x))
	// Output: 135 128
}
