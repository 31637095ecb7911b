package mlp

import (
	"bytes"
	"context"
	"encoding/gob"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/similarity"
)

var nan = math.NaN()

func TestFitStandardizer(t *testing.T) {
	patients := [][][]float64{
		{{1, 10, nan}, {3, nan, nan}},
		{{5, 30, nan}},
	}
	s, err := FitStandardizer(patients)
	require.NoError(t, err)
	// metric 0: {1,3,5}: mean 3, population std sqrt(8/3).
	assert.InDelta(t, 3, s.Mean[0], 1e-12)
	assert.InDelta(t, math.Sqrt(8.0/3), s.Std[0], 1e-12)
	// metric 1: {10,30}: missing values do not count.
	assert.InDelta(t, 20, s.Mean[1], 1e-12)
	assert.InDelta(t, 10, s.Std[1], 1e-12)
	// metric 2: never observed.
	assert.Equal(t, 0.0, s.Mean[2])
	assert.Equal(t, 1.0, s.Std[2])

	_, err = FitStandardizer([][][]float64{{{1, 2}}, {{1}}})
	require.ErrorIs(t, err, ErrInput)
	assert.Contains(t, err.Error(), "patient 1 visit 0")
	_, err = FitStandardizer([][][]float64{{{math.Inf(1)}}})
	require.ErrorIs(t, err, ErrInput)
	_, err = FitStandardizer(nil)
	require.ErrorIs(t, err, ErrInput)
}

func TestFlatten(t *testing.T) {
	s := &Standardizer{Mean: []float64{1, 0}, Std: []float64{2, 1}}
	dst := make([]float32, 3*2)
	require.NoError(t, s.Flatten(dst, [][]float64{{5, nan}, {1, 7}}, 3))
	assert.Equal(t, []float32{2, 0, 0, 7, 0, 0}, dst)

	// More visits than the maximum: the most recent are kept, first at
	// the front.
	require.NoError(t, s.Flatten(dst, [][]float64{{9, 9}, {3, 1}, {5, 2}, {7, 3}}, 3))
	assert.Equal(t, []float32{1, 1, 2, 2, 3, 3}, dst)

	err := s.Flatten(dst, [][]float64{{1, 2, 3}}, 3)
	require.ErrorIs(t, err, ErrInput)
	assert.Contains(t, err.Error(), "visit 0 has 3 metrics")
	require.ErrorIs(t, s.Flatten(dst, [][]float64{{math.Inf(-1), 0}}, 3), ErrInput)
	require.ErrorIs(t, s.Flatten(dst[:4], nil, 3), ErrInput)
}

// smallMLP is a tiny encoder over random data for fast tests.
func smallMLP(t testing.TB, seed uint64) (*MLP, [][][]float64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	patients := make([][][]float64, 12)
	for i := range patients {
		patients[i] = make([][]float64, 1+rng.IntN(7))
		for v := range patients[i] {
			row := make([]float64, 5)
			for m := range row {
				row[m] = 100 + 20*rng.NormFloat64()
				if rng.Float64() < 0.2 {
					row[m] = nan
				}
			}
			patients[i][v] = row
		}
	}
	std, err := FitStandardizer(patients)
	require.NoError(t, err)
	cfg := Config{MaxVisits: 6, Metrics: 5, Hidden: 16, Out: 8, Dropout: 0.4}
	m, err := New(cfg, std, seed)
	require.NoError(t, err)
	return m, patients
}

func values(x mat.Tensor) []float32 { return x.Value().Data().F32() }

func TestEncodeMatchesForward(t *testing.T) {
	m, patients := smallMLP(t, 1)
	assert.Equal(t, 8, m.Dim())
	for _, p := range patients[:3] {
		e, err := m.Encode(p)
		require.NoError(t, err)
		f, err := m.Forward(p, false)
		require.NoError(t, err)
		assert.Equal(t, []int{8, 1}, f.Value().Shape())
		assert.InDeltaSlice(t, e, values(f), 1e-5)
		assert.NotEqual(t, make([]float32, 8), e, "an all-zero encoding means the weights were not initialized")
	}
	// The batched graph agrees column by column with per-patient Encode.
	b, err := m.ForwardBatch(patients[:4], false)
	require.NoError(t, err)
	assert.Equal(t, []int{8, 4}, b.Value().Shape())
	for j := 0; j < 4; j++ {
		e, _ := m.Encode(patients[j])
		col := ag.ColView(b, j)
		assert.InDeltaSlice(t, e, values(col), 1e-5)
	}
}

func TestInitIsSeeded(t *testing.T) {
	a, _ := smallMLP(t, 3)
	b, _ := smallMLP(t, 3)
	c, _ := smallMLP(t, 4)
	assert.Equal(t, a.Hidden.W.Data().F32(), b.Hidden.W.Data().F32())
	assert.NotEqual(t, a.Hidden.W.Data().F32(), c.Hidden.W.Data().F32())
	// Xavier-uniform bound for the hidden layer: sqrt(6/(in+out)).
	bound := float32(math.Sqrt(6.0 / float64(30+16)))
	for _, w := range a.Hidden.W.Data().F32() {
		assert.LessOrEqual(t, float32(math.Abs(float64(w))), bound)
	}
}

func TestGradientsReachEncoderParams(t *testing.T) {
	m, patients := smallMLP(t, 5)
	x, err := m.Forward(patients[0], true)
	require.NoError(t, err)
	loss := ag.ReduceSum(ag.Square(x))
	require.NoError(t, ag.Backward(loss))
	n := 0
	nn.ForEachParam(m, func(p *nn.Param) {
		n++
		require.True(t, p.HasGrad(), "param %v has no gradient", p.Shape())
		nonzero := false
		for _, g := range p.Grad().Data().F64() {
			if g != 0 {
				nonzero = true
			}
		}
		assert.True(t, nonzero, "param %v has an all-zero gradient", p.Shape())
	})
	assert.Equal(t, 4, n, "two weight matrices and two biases")
	nn.ZeroGrad(m)

	// Check one weight's gradient against a finite difference on the
	// loss without dropout.
	f := func() float64 {
		y, err := m.Forward(patients[0], false)
		require.NoError(t, err)
		return ag.ReduceSum(ag.Square(y)).Value().Item().F64()
	}
	y, _ := m.Forward(patients[0], false)
	require.NoError(t, ag.Backward(ag.ReduceSum(ag.Square(y))))
	g := m.Output.W.Grad().Data().F64()[3]
	w := m.Output.W.Data().F32()
	const h = 1e-2
	orig := w[3]
	w3 := func(v float32) { m.Output.W.SetScalar(float.Interface(v), 0, 3) }
	w3(orig + h)
	up := f()
	w3(orig - h)
	down := f()
	w3(orig)
	assert.InDelta(t, (up-down)/(2*h), g, 1e-2*math.Max(1, math.Abs(g)))
	nn.ZeroGrad(m)
}

func TestDropoutOnlyWhileTraining(t *testing.T) {
	m, patients := smallMLP(t, 6)
	ag.ManualSeed(1)
	eval, _ := m.Encode(patients[0])
	differs := 0
	for i := 0; i < 5; i++ {
		tr, err := m.Forward(patients[0], true)
		require.NoError(t, err)
		if !assert.ObjectsAreEqual(eval, values(tr)) {
			differs++
		}
	}
	assert.Equal(t, 5, differs, "a training pass keeps each hidden unit with probability 0.6 and rescales it by 1/0.6, so it should never reproduce the eval output")
}

func TestSaveLoad(t *testing.T) {
	m, patients := smallMLP(t, 8)
	path := filepath.Join(t.TempDir(), "enc.gob")
	require.NoError(t, m.SaveFile(path))
	l, err := LoadFile(path)
	require.NoError(t, err)
	assert.Equal(t, m.Config, l.Config)
	assert.Equal(t, m.Standardizer, l.Standardizer)
	for _, p := range patients {
		a, _ := m.Encode(p)
		b, err := l.Encode(p)
		require.NoError(t, err)
		assert.Equal(t, a, b)
	}

	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	_, err = Load(bytes.NewReader(raw[:len(raw)/2]))
	require.ErrorIs(t, err, ErrCorrupt)
	_, err = Load(bytes.NewReader([]byte("not a model")))
	require.ErrorIs(t, err, ErrCorrupt)

	// A gob of something else is rejected by the format tag.
	var buf bytes.Buffer
	require.NoError(t, gob.NewEncoder(&buf).Encode(savedMLP{Format: "other/1"}))
	_, err = Load(&buf)
	require.ErrorIs(t, err, ErrCorrupt)
	assert.Contains(t, err.Error(), "other/1")

	// Inconsistent shapes are caught.
	bad := *m
	bad.Config.Hidden = 17
	buf.Reset()
	require.NoError(t, bad.Save(&buf))
	_, err = Load(&buf)
	require.ErrorIs(t, err, ErrCorrupt)

	_, err = LoadFile(filepath.Join(t.TempDir(), "missing.gob"))
	require.Error(t, err)
}

// TestSpagoGobRoundTrip checks that the model also survives spago's own
// gob dump (what a trainer checkpoint that embeds the encoder uses).
func TestSpagoGobRoundTrip(t *testing.T) {
	m, patients := smallMLP(t, 10)
	var buf bytes.Buffer
	require.NoError(t, nn.Dump(m, &buf))
	l, err := nn.Load[*MLP](&buf)
	require.NoError(t, err)
	a, _ := m.Encode(patients[0])
	b, err := l.Encode(patients[0])
	require.NoError(t, err)
	assert.Equal(t, a, b)
}

func TestNewMLPRejectsBadConfig(t *testing.T) {
	std := &Standardizer{Mean: []float64{0}, Std: []float64{1}}
	_, err := New(Config{MaxVisits: 2, Metrics: 1, Hidden: 4, Out: 2, Dropout: 1}, std, 1)
	require.Error(t, err)
	_, err = New(Config{MaxVisits: 2, Metrics: 2, Hidden: 4, Out: 2}, std, 1)
	require.Error(t, err)
	_, err = New(Config{MaxVisits: 0, Metrics: 1, Hidden: 4, Out: 2}, std, 1)
	require.Error(t, err)
}

func TestConcurrentEncode(t *testing.T) {
	m, patients := smallMLP(t, 9)
	want := make([][]float32, len(patients))
	for i, p := range patients {
		want[i], _ = m.Encode(p)
	}
	var wg sync.WaitGroup
	got := make([][]float32, len(patients))
	for i, p := range patients {
		wg.Go(func() { got[i], _ = m.Encode(p) })
	}
	wg.Wait()
	assert.Equal(t, want, got)
}

// labelledCohort makes patients of 3 classes whose label shows only in two
// of 8 metrics (shifted by ±1.2 standard deviations); the other metrics
// are noise, and visits vary in number.
func labelledCohort(rng *rand.Rand, n int) ([][][]float64, []int, []string) {
	names := []string{"a", "b", "c"}
	shift := [][2]float64{{1.2, 0}, {-1.2, 0}, {0, 1.2}}
	patients := make([][][]float64, n)
	labels := make([]int, n)
	strs := make([]string, n)
	for i := range patients {
		y := rng.IntN(3)
		labels[i], strs[i] = y, names[y]
		visits := make([][]float64, 2+rng.IntN(5))
		for v := range visits {
			row := make([]float64, 8)
			for m := range row {
				row[m] = 50 + 10*rng.NormFloat64()
			}
			row[2] += 10 * shift[y][0]
			row[5] += 10 * shift[y][1]
			if rng.Float64() < 0.1 {
				row[rng.IntN(8)] = nan
			}
			visits[v] = row
		}
		patients[i] = visits
	}
	return patients, labels, strs
}

func precision(t *testing.T, m *MLP, train, val [][][]float64, trainLabels, valLabels []string, k int) float64 {
	enc := func(ps [][][]float64) [][]float32 {
		out := make([][]float32, len(ps))
		for i, p := range ps {
			var err error
			out[i], err = m.Encode(p)
			require.NoError(t, err)
		}
		return out
	}
	r, err := similarity.NewExact(enc(train), trainLabels)
	require.NoError(t, err)
	p, err := similarity.PrecisionAtK(context.Background(), r, enc(val), valLabels, k)
	require.NoError(t, err)
	return p
}

func TestWarmStartRaisesPrecisionAtK(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	train, trainY, trainL := labelledCohort(rng, 300)
	val, _, valL := labelledCohort(rng, 120)
	std, err := FitStandardizer(train)
	require.NoError(t, err)
	m, err := New(Config{MaxVisits: 6, Metrics: 8, Hidden: 32, Out: 16, Dropout: 0.4}, std, 13)
	require.NoError(t, err)

	before := precision(t, m, train, val, trainL, valL, 5)
	ag.ManualSeed(14)
	rep, err := m.WarmStart(context.Background(), train, trainY, 3,
		WarmStartOptions{Epochs: 30, BatchSize: 16, LearningRate: 3e-3, Seed: 15})
	require.NoError(t, err)
	require.Len(t, rep.EpochLoss, 30)
	assert.Less(t, rep.EpochLoss[29], rep.EpochLoss[0])
	after := precision(t, m, train, val, trainL, valL, 5)
	t.Logf("precision@5 on validation: untrained %.3f, warm-started %.3f (loss %.3f → %.3f)",
		before, after, rep.EpochLoss[0], rep.EpochLoss[29])
	// Chance agreement with 3 balanced classes is 1/3.
	assert.Greater(t, after, before+0.15)
	nn.ForEachParam(m, func(p *nn.Param) { assert.Nil(t, p.State, "Adam state must not be saved") })
}

func TestWarmStartBadInputs(t *testing.T) {
	m, patients := smallMLP(t, 16)
	ctx := context.Background()
	opt := DefaultWarmStartOptions()
	_, err := m.WarmStart(ctx, patients, []int{0}, 2, opt)
	require.ErrorIs(t, err, ErrInput)
	labels := make([]int, len(patients))
	labels[3] = 2
	_, err = m.WarmStart(ctx, patients, labels, 2, opt)
	require.ErrorIs(t, err, ErrInput)
	_, err = m.WarmStart(ctx, patients, make([]int, len(patients)), 1, opt)
	require.ErrorIs(t, err, ErrInput)
	_, err = m.WarmStart(ctx, patients, make([]int, len(patients)), 2, WarmStartOptions{})
	require.Error(t, err)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = m.WarmStart(cancelled, patients, make([]int, len(patients)), 2, opt)
	require.ErrorIs(t, err, context.Canceled)
}

// TestConcurrentForwardBackward runs training passes from several
// goroutines, as the policy trainer's concurrent episodes do (meaningful
// under -race): gradients of all passes accumulate into the shared params.
func TestConcurrentForwardBackward(t *testing.T) {
	m, patients := smallMLP(t, 17)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for g := range 4 {
		wg.Go(func() {
			x, err := m.Forward(patients[g], true)
			if err != nil {
				errs[g] = err
				return
			}
			errs[g] = ag.Backward(ag.ReduceSum(ag.Square(x)))
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	assert.True(t, m.Hidden.W.HasGrad())
	nn.ZeroGrad(m)
}
