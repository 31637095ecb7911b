package predict

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
)

// MiniRocket kernel geometry (Dempster, Schmidt & Webb, "MINIROCKET: A Very
// Fast (Almost) Deterministic Transform for Time Series Classification",
// KDD 2021): 84 kernels of length 9 whose weights are -1 except for three
// positions weighted 2, one kernel for each choice of those three positions.
const (
	kernelLength = 9
	numKernels   = 84
)

// kernelIndices lists, for each of the 84 kernels, the three positions
// weighted 2, in the reference's order (itertools.combinations(range(9), 3)).
var kernelIndices = func() (k [numKernels][3]int) {
	n := 0
	for a := 0; a < kernelLength; a++ {
		for b := a + 1; b < kernelLength; b++ {
			for c := b + 1; c < kernelLength; c++ {
				k[n] = [3]int{a, b, c}
				n++
			}
		}
	}
	return k
}()

// MiniRocketConfig configures the MiniRocket transform.
type MiniRocketConfig struct {
	// NumFeatures is the requested number of features; the transform
	// produces the largest multiple of 84 not above it (9,996 for the
	// default 10,000). Zero means 10,000.
	NumFeatures int
	// MaxDilationsPerKernel bounds the number of dilations. Zero means 32.
	MaxDilationsPerKernel int
	// Seed seeds the random choices of the fit: the channel combinations
	// and the training examples the biases are drawn from.
	Seed uint64
	// Workers is the number of goroutines of Transform (over series).
	// Zero means runtime.GOMAXPROCS(0).
	Workers int
}

func (c MiniRocketConfig) withDefaults() MiniRocketConfig {
	if c.NumFeatures <= 0 {
		c.NumFeatures = 10_000
	}
	if c.MaxDilationsPerKernel <= 0 {
		c.MaxDilationsPerKernel = 32
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	return c
}

// MiniRocket is a fitted multivariate, variable-length MiniRocket transform,
// the algorithm of sktime's MiniRocketMultivariateVariable: for every
// dilation d and kernel k it convolves the sum of a random combination of
// channels with k dilated by d (zero padding, output as long as the input)
// and returns, for each of several biases b, the proportion of positive
// values PPV = mean(C > b). Biases are quantiles, at a low-discrepancy
// sequence of levels, of the same convolution of a random training example.
// Following the reference, half of the (kernel, dilation) pairs take the PPV
// over the whole output and the other half only over the positions whose
// receptive field lies inside the series (when that range is empty, over
// the whole output).
//
// Input series are [timesteps][channels], complete (no NaN), at least 9
// long; see Scaler for standardization, imputation and padding. The fields
// are exported for gob encoding; treat them as read-only.
type MiniRocket struct {
	NumChannels int
	// Dilations are the dilations, ascending; FeaturesPerDilation[i] is the
	// number of biases (features) per kernel at Dilations[i].
	Dilations           []int
	FeaturesPerDilation []int
	// ChannelsPerCombination[i] is the number of channels of the i-th
	// (dilation, kernel) pair, whose channels are the next that many
	// entries of ChannelIndices.
	ChannelsPerCombination []int
	ChannelIndices         []int
	// Biases has one bias per feature.
	Biases []float64
	// Workers is the number of goroutines of Transform.
	Workers int
}

// NumFeatures returns the length of a transformed series.
func (m *MiniRocket) NumFeatures() int { return len(m.Biases) }

// fitDilations is the reference's _fit_dilations.
func fitDilations(referenceLength, numFeatures, maxDilationsPerKernel int) (dilations, featuresPerDilation []int) {
	perKernel := numFeatures / numKernels
	trueMax := min(perKernel, maxDilationsPerKernel)
	multiplier := float64(perKernel) / float64(trueMax)
	maxExponent := math.Log2(float64(referenceLength-1) / float64(kernelLength-1))
	counts := map[int]int{}
	for i := 0; i < trueMax; i++ {
		e := 0.0
		if trueMax > 1 {
			e = maxExponent * float64(i) / float64(trueMax-1)
		}
		counts[int(math.Pow(2, e))]++
	}
	for d := range counts {
		dilations = append(dilations, d)
	}
	slices.Sort(dilations)
	sum := 0
	for _, d := range dilations {
		n := int(float64(counts[d]) * multiplier)
		featuresPerDilation = append(featuresPerDilation, n)
		sum += n
	}
	for i := 0; sum < perKernel; i = (i + 1) % len(dilations) {
		featuresPerDilation[i]++
		sum++
	}
	return dilations, featuresPerDilation
}

// quantileLevels is the reference's _quantiles: fractional parts of the
// multiples of the golden ratio.
func quantileLevels(n int) []float64 {
	phi := (math.Sqrt(5) + 1) / 2
	q := make([]float64, n)
	for i := range q {
		_, q[i] = math.Modf(float64(i+1) * phi)
	}
	return q
}

// ErrTooShort is returned for a series shorter than the kernel.
var ErrTooShort = errors.New("predict: series shorter than 9 timesteps")

// FitMiniRocket fits the transform on training series ([series][timesteps]
// [channels], complete, each at least 9 long). The reference length of the
// dilations is the longest training series, as in sktime's
// MiniRocketMultivariateVariable.
func FitMiniRocket(ctx context.Context, series [][][]float64, cfg MiniRocketConfig) (*MiniRocket, error) {
	cfg = cfg.withDefaults()
	if len(series) == 0 {
		return nil, errors.New("predict: minirocket: no training series")
	}
	if cfg.NumFeatures < numKernels {
		return nil, fmt.Errorf("predict: minirocket: NumFeatures %d below %d", cfg.NumFeatures, numKernels)
	}
	cs, err := channelMajor(series, -1)
	if err != nil {
		return nil, wrap("minirocket", err)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x6d696e69726f636b)) // "minirock"
	return fitKernels(ctx, cs, cfg, rng)
}

// fitKernels fits the parameters of the transform (dilations, channel
// combinations, biases) on cs ([series][channel][time], complete, each at
// least 9 long), drawing its random choices from rng. MiniRocket fits one
// such set on the series; MultiRocket fits a second on their first
// difference.
func fitKernels(ctx context.Context, cs [][][]float64, cfg MiniRocketConfig, rng *rand.Rand) (*MiniRocket, error) {
	numChannels := len(cs[0])
	refLen := 0
	for _, s := range cs {
		refLen = max(refLen, len(s[0]))
	}
	m := &MiniRocket{NumChannels: numChannels, Workers: cfg.Workers}
	m.Dilations, m.FeaturesPerDilation = fitDilations(refLen, cfg.NumFeatures, cfg.MaxDilationsPerKernel)

	numCombinations := numKernels * len(m.Dilations)
	maxChannels := min(numChannels, 9)
	maxExp := math.Log2(float64(maxChannels + 1))
	m.ChannelsPerCombination = make([]int, numCombinations)
	for i := range m.ChannelsPerCombination {
		n := int(math.Pow(2, rng.Float64()*maxExp))
		m.ChannelsPerCombination[i] = min(max(n, 1), maxChannels)
		m.ChannelIndices = append(m.ChannelIndices, rng.Perm(numChannels)[:m.ChannelsPerCombination[i]]...)
	}

	perKernel := 0
	for _, n := range m.FeaturesPerDilation {
		perKernel += n
	}
	levels := quantileLevels(numKernels * perKernel)
	m.Biases = make([]float64, 0, len(levels))
	var conv convBuffers
	comb, chanStart := 0, 0
	for di, d := range m.Dilations {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		nf := m.FeaturesPerDilation[di]
		for k := 0; k < numKernels; k++ {
			chans := m.ChannelIndices[chanStart : chanStart+m.ChannelsPerCombination[comb]]
			ex := cs[rng.IntN(len(cs))]
			c := conv.convolve(ex, chans, d, k)
			slices.Sort(c)
			for _, q := range levels[len(m.Biases) : len(m.Biases)+nf] {
				m.Biases = append(m.Biases, quantileSorted(c, q))
			}
			chanStart += m.ChannelsPerCombination[comb]
			comb++
		}
	}
	return m, nil
}

// quantileSorted is numpy's default (linear) quantile of sorted data.
func quantileSorted(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	if lo >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	frac := pos - float64(lo)
	return sorted[lo] + frac*(sorted[lo+1]-sorted[lo])
}

// channelMajor checks series and converts them to [series][channel][time].
// numChannels < 0 takes the channel count of the first series.
func channelMajor(series [][][]float64, numChannels int) ([][][]float64, error) {
	return channelMajorMin(series, numChannels, kernelLength, ErrTooShort)
}

// channelMajorMin is channelMajor for series of at least minLen timesteps;
// shorter ones give tooShort.
func channelMajorMin(series [][][]float64, numChannels, minLen int, tooShort error) ([][][]float64, error) {
	out := make([][][]float64, len(series))
	for i, s := range series {
		if len(s) < minLen {
			return nil, fmt.Errorf("series %d: %d timesteps: %w", i, len(s), tooShort)
		}
		if numChannels < 0 {
			numChannels = len(s[0])
			if numChannels == 0 {
				return nil, fmt.Errorf("series %d: no channels", i)
			}
		}
		c := make([][]float64, numChannels)
		for ch := range c {
			c[ch] = make([]float64, len(s))
		}
		for t, row := range s {
			if len(row) != numChannels {
				return nil, fmt.Errorf("series %d, timestep %d: %d channels, want %d", i, t, len(row), numChannels)
			}
			for ch, v := range row {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return nil, fmt.Errorf("series %d, timestep %d, channel %d: value %v (impute first)", i, t, ch, v)
				}
				c[ch][t] = v
			}
		}
		out[i] = c
	}
	return out, nil
}

// convBuffers holds the scratch space of one goroutine.
type convBuffers struct {
	sum, out []float64
}

// convolve returns the output of kernel k dilated by d over the sum of the
// given channels of x ([channel][time]), with zero padding. By linearity
// this equals the reference's sum over channels of per-channel outputs.
// The returned slice is reused by the next call.
func (b *convBuffers) convolve(x [][]float64, chans []int, d, k int) []float64 {
	n := len(x[0])
	b.sum = resize(b.sum, n)
	b.out = resize(b.out, n)
	clear(b.sum)
	for _, ch := range chans {
		for t, v := range x[ch] {
			b.sum[t] += v
		}
	}
	clear(b.out)
	big := kernelIndices[k]
	for j := 0; j < kernelLength; j++ {
		w := -1.0
		if j == big[0] || j == big[1] || j == big[2] {
			w = 2
		}
		off := (j - kernelLength/2) * d
		lo, hi := max(0, -off), min(n, n-off) // output positions with t+off inside
		for t := lo; t < hi; t++ {
			b.out[t] += w * b.sum[t+off]
		}
	}
	return b.out
}

func resize(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}

// Transform returns the MiniRocket features of each series, [series]
// [NumFeatures()], computing series in parallel on m.Workers goroutines.
func (m *MiniRocket) Transform(ctx context.Context, series [][][]float64) ([][]float64, error) {
	cs, err := channelMajor(series, m.NumChannels)
	if err != nil {
		return nil, wrap("minirocket", err)
	}
	return transformParallel(ctx, cs, m.Workers, m.transformOne)
}

// transformParallel returns one(cs[i]) for every series of cs, computed on
// workers goroutines (GOMAXPROCS when workers ≤ 0), each with its own
// scratch buffers.
func transformParallel(ctx context.Context, cs [][][]float64, workers int, one func(x [][]float64, buf *convBuffers) []float64) ([][]float64, error) {
	out := make([][]float64, len(cs))
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, len(cs)))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf convBuffers
			for i := range next {
				out[i] = one(cs[i], &buf)
			}
		}()
	}
feed:
	for i := range cs {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// forEachOutput calls pool once per (dilation, kernel) pair, in feature
// order, with the convolution output of x ([channel][time]) over the pair's
// channels — cropped to the positions whose receptive field lies inside the
// series for every other pair, as the reference does — and the biases of the
// pair's features. c is reused by the next call.
func (m *MiniRocket) forEachOutput(x [][]float64, buf *convBuffers, pool func(c, biases []float64)) {
	n := len(x[0])
	comb, chanStart, feature := 0, 0, 0
	for di, d := range m.Dilations {
		padding := (kernelLength - 1) * d / 2
		nf := m.FeaturesPerDilation[di]
		for k := 0; k < numKernels; k++ {
			chans := m.ChannelIndices[chanStart : chanStart+m.ChannelsPerCombination[comb]]
			c := buf.convolve(x, chans, d, k)
			if (di+k)%2 == 1 && n > 2*padding {
				c = c[padding : n-padding]
			}
			pool(c, m.Biases[feature:feature+nf])
			feature += nf
			chanStart += m.ChannelsPerCombination[comb]
			comb++
		}
	}
}

// transformOne computes the features of one [channel][time] series: the
// proportion of positive values (PPV) of each output at each bias.
func (m *MiniRocket) transformOne(x [][]float64, buf *convBuffers) []float64 {
	features := make([]float64, 0, len(m.Biases))
	m.forEachOutput(x, buf, func(c, biases []float64) {
		for _, bias := range biases {
			pos := 0
			for _, v := range c {
				if v > bias {
					pos++
				}
			}
			features = append(features, float64(pos)/float64(len(c)))
		}
	})
	return features
}
