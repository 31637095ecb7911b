package bert

import (
	"encoding/gob"
	"fmt"
	"math"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/nn/activation"
)

// activationFor maps a HuggingFace hidden_act to the module placed in the
// feed-forward block. spago's GELU is the tanh approximation, which is
// HuggingFace's "gelu_new"/"gelu_pytorch_tanh"; HuggingFace's "gelu" is the
// exact erf form, supplied here by ErfGELU.
func activationFor(hiddenAct string) (nn.StandardModel, error) {
	switch hiddenAct {
	case "gelu":
		return &ErfGELU{}, nil
	case "gelu_new", "gelu_pytorch_tanh":
		return activation.New(activation.GELU), nil
	case "relu":
		return activation.New(activation.ReLU), nil
	default:
		return nil, fmt.Errorf("%w: hidden_act %q (supported: gelu, gelu_new, gelu_pytorch_tanh, relu)", ErrUnsupported, hiddenAct)
	}
}

// ErfGELU is the exact Gaussian error linear unit, x·Φ(x) =
// x/2·(1+erf(x/√2)), as torch.nn.functional.gelu computes it by default.
// It is a spago module with a correct backward pass.
type ErfGELU struct {
	nn.Module
}

func init() {
	gob.Register(&ErfGELU{})
}

// Forward applies the activation to each input.
func (m *ErfGELU) Forward(xs ...mat.Tensor) []mat.Tensor {
	out := make([]mat.Tensor, len(xs))
	for i, x := range xs {
		out[i] = ag.NewOperator(&erfGELUFn{x: x}).Run()
	}
	return out
}

type erfGELUFn struct {
	x mat.Tensor
}

func (f *erfGELUFn) Operands() []mat.Tensor { return []mat.Tensor{f.x} }

func (f *erfGELUFn) Forward() (mat.Tensor, error) {
	return f.x.Value().(mat.Matrix).Apply(func(_, _ int, v float64) float64 {
		return 0.5 * v * (1 + math.Erf(v/math.Sqrt2))
	}), nil
}

func (f *erfGELUFn) Backward(gy mat.Tensor) error {
	if !f.x.RequiresGrad() {
		return nil
	}
	// d/dx x·Φ(x) = Φ(x) + x·φ(x).
	gx := f.x.Value().(mat.Matrix).Apply(func(_, _ int, v float64) float64 {
		return 0.5*(1+math.Erf(v/math.Sqrt2)) + v*math.Exp(-0.5*v*v)/math.Sqrt(2*math.Pi)
	})
	gx.ProdInPlace(gy.(mat.Matrix))
	f.x.AccGrad(gx)
	return nil
}
