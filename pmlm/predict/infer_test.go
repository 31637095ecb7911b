package predict

import (
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInferEqualsGraph checks each network's graph-free inference against
// its spago graph, for examples of every length alone and together in one
// batch, with every weight and bias random: the same logits to 1e-9.
func TestInferEqualsGraph(t *testing.T) {
	const channels, hidden, classes, maxLen = 4, 8, 3, 7
	for _, arch := range []Arch{ArchLSTM, ArchCNN, ArchTransformer} {
		t.Run(string(arch), func(t *testing.T) {
			net, err := newNetwork(arch, channels, hidden, classes, maxLen, 5)
			require.NoError(t, err)
			rng := rand.New(rand.NewPCG(5, uint64(len(arch))))
			nn.ForEachParam(net, func(p *nn.Param) {
				v := p.Value().Data().F64()
				for i := range v {
					v[i] = 0.5 * rng.NormFloat64()
				}
			})
			var batch []padded
			for l := 1; l <= maxLen; l++ {
				x := make([]float64, channels*maxLen)
				for ch := 0; ch < channels; ch++ {
					for tt := 0; tt < l; tt++ { // zero beyond the real length, as pad leaves it
						x[ch*maxLen+tt] = rng.NormFloat64()
					}
				}
				batch = append(batch, padded{x: x, len: l})
			}
			together := net.logits(batch, &uses{})
			for i, p := range batch {
				got := net.infer(p)
				alone := net.logits([]padded{p}, &uses{})[0].Value().Data().F64()
				assert.InDeltaSlice(t, alone, got, 1e-9, "length %d alone", p.len)
				assert.InDeltaSlice(t, together[i].Value().Data().F64(), got, 1e-9, "length %d in the batch", p.len)
			}
		})
	}
}

// BenchmarkNeuralPredict scores one 45-visit, 35-channel example with each
// network (hidden 32, 12 classes, as the defaults build them) through its
// spago graph and graph-free (Predict's path), side by side.
func BenchmarkNeuralPredict(b *testing.B) {
	const channels, hidden, classes, maxLen = 35, 32, 12, 45
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float64, channels*maxLen)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	p := padded{x: x, len: 40}
	for _, arch := range []Arch{ArchLSTM, ArchCNN, ArchTransformer} {
		net, err := newNetwork(arch, channels, hidden, classes, maxLen, 1)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(string(arch)+"/graph", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				net.logits([]padded{p}, &uses{})[0].Value()
			}
		})
		b.Run(string(arch)+"/graph-free", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				net.infer(p)
			}
		})
	}
}
