package predict

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"sync"

	"github.com/pmlm-go/pmlm/internal/stats"
)

// GBDTConfig configures gradient-boosted decision trees (FitGBDT). The zero
// value means the defaults given on each field.
//
// The trainer is written here rather than taken from a library: no
// maintained pure-Go module trains gradient-boosted trees (golearn has
// random forests and ID3 but no boosting and has not been released since
// 2022; leaves only predicts models trained by LightGBM or XGBoost).
//
// The defaults are strongly regularized (small trees, large leaves, a slow
// rate) because lab labels are noisy: on the default synthetic cohort's
// validation split they were ahead of LightGBM-like defaults (15 leaves,
// 10 examples a leaf, rate 0.05), which stopped after about 25 rounds; see
// docs/experiments/predictors.
type GBDTConfig struct {
	// Rounds is the maximum number of boosting rounds; each round adds one
	// tree per class. Zero means 500.
	Rounds int
	// LearningRate shrinks every tree's output. Zero means 0.03.
	LearningRate float64
	// Leaves is the maximum number of leaves of a tree, grown best-first
	// (leaf-wise, as LightGBM). Zero means 7.
	Leaves int
	// MaxDepth bounds the depth of a tree. Zero means 6.
	MaxDepth int
	// MinLeaf is the least number of training examples in a leaf. Zero
	// means 30.
	MinLeaf int
	// Lambda is the L2 penalty on leaf values. Zero means 5.
	Lambda float64
	// Bins is the largest number of histogram bins of a feature besides the
	// bin of missing values (at most 255). Zero means 63.
	Bins int
	// FeatureFraction is the share of features a tree may split on, drawn
	// anew for every tree. Zero means 0.8.
	FeatureFraction float64
	// ValidationShare is the share of the training examples, drawn per
	// class, held out to stop early: boosting stops when the held-out
	// multi-class log-loss has not improved for Patience rounds, and the
	// model is then refitted on all examples with the best number of
	// rounds. Zero means 0.2; a negative value turns early stopping off
	// (all Rounds are used).
	ValidationShare float64
	// Patience is the number of rounds without improvement that stops
	// boosting. Zero means 50.
	Patience int
	// BalanceClasses weights every example by n/(k·n_class), so that each
	// class carries the same total weight in the loss, which favours
	// macro-F1 over micro-F1.
	BalanceClasses bool
	// Seed seeds the held-out draw and the feature draws.
	Seed uint64
	// Workers is the number of goroutines (the trees of the classes in a
	// round grow in parallel). Zero means runtime.GOMAXPROCS(0).
	Workers int
}

func (c GBDTConfig) withDefaults() (GBDTConfig, error) {
	if c.Rounds == 0 {
		c.Rounds = 500
	}
	if c.LearningRate == 0 {
		c.LearningRate = 0.03
	}
	if c.Leaves == 0 {
		c.Leaves = 7
	}
	if c.MaxDepth == 0 {
		c.MaxDepth = 6
	}
	if c.MinLeaf == 0 {
		c.MinLeaf = 30
	}
	if c.Lambda == 0 {
		c.Lambda = 5
	}
	if c.Bins == 0 {
		c.Bins = 63
	}
	if c.FeatureFraction == 0 {
		c.FeatureFraction = 0.8
	}
	if c.ValidationShare == 0 {
		c.ValidationShare = 0.2
	}
	if c.Patience == 0 {
		c.Patience = 50
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	switch {
	case c.Rounds < 1:
		return c, fmt.Errorf("%d rounds", c.Rounds)
	case !(c.LearningRate > 0):
		return c, fmt.Errorf("learning rate %v", c.LearningRate)
	case c.Leaves < 2:
		return c, fmt.Errorf("%d leaves, need at least 2", c.Leaves)
	case c.MaxDepth < 1:
		return c, fmt.Errorf("max depth %d", c.MaxDepth)
	case c.MinLeaf < 1:
		return c, fmt.Errorf("min leaf %d", c.MinLeaf)
	case !(c.Lambda >= 0):
		return c, fmt.Errorf("lambda %v", c.Lambda)
	case c.Bins < 2 || c.Bins > 255:
		return c, fmt.Errorf("%d bins, want 2 to 255", c.Bins)
	case !(c.FeatureFraction > 0 && c.FeatureFraction <= 1):
		return c, fmt.Errorf("feature fraction %v outside (0,1]", c.FeatureFraction)
	case c.ValidationShare >= 1:
		return c, fmt.Errorf("validation share %v", c.ValidationShare)
	case c.Patience < 1:
		return c, fmt.Errorf("patience %d", c.Patience)
	}
	return c, nil
}

// GBDT is a fitted multi-class gradient-boosted tree ensemble: the score of
// class c is Base[c] plus the outputs of Trees[r][c] over all rounds r, and
// the class probabilities are the softmax of the scores. Fields are
// exported for gob encoding.
type GBDT struct {
	// Base is the initial score of each class (log of its weighted share).
	Base []float64
	// Trees is [round][class].
	Trees [][]Tree
	// NumFeatures is the length of an input vector.
	NumFeatures int
	// Gain[j] is the total loss reduction of the splits on feature j.
	Gain []float64
	// ValidLoss is the held-out log-loss after each round of the early
	// stopping fit (empty when early stopping was off); BestRounds is the
	// number of rounds kept.
	ValidLoss  []float64
	BestRounds int
}

// Tree is a regression tree in flat form: node i is a leaf when Feature[i]
// is -1 (its output is Value[i]); otherwise an input x goes to Left[i] when
// x[Feature[i]] ≤ Threshold[i], or when it is NaN and MissingLeft[i], and
// to Right[i] otherwise. Node 0 is the root.
type Tree struct {
	Feature     []int32
	Threshold   []float64
	MissingLeft []bool
	Left, Right []int32
	Value       []float64
}

// output returns the tree's value for x.
func (t *Tree) output(x []float64) float64 {
	i := int32(0)
	for t.Feature[i] >= 0 {
		v := x[t.Feature[i]]
		if (math.IsNaN(v) && t.MissingLeft[i]) || v <= t.Threshold[i] {
			i = t.Left[i]
		} else {
			i = t.Right[i]
		}
	}
	return t.Value[i]
}

// Decision returns the raw score of each class for x (NaN marks a missing
// feature).
func (g *GBDT) Decision(x []float64) []float64 {
	out := slices.Clone(g.Base)
	for _, round := range g.Trees {
		for c := range round {
			out[c] += round[c].output(x)
		}
	}
	return out
}

// Importances returns the share of the total split gain of each feature
// (summing to 1, or all 0 when no tree split).
func (g *GBDT) Importances() []float64 {
	out := slices.Clone(g.Gain)
	total := 0.0
	for _, v := range out {
		total += v
	}
	if total > 0 {
		for j := range out {
			out[j] /= total
		}
	}
	return out
}

// check verifies that a decoded model is consistent, so that a corrupt file
// gives an error rather than a panic at Decision.
func (g *GBDT) check() error {
	k := len(g.Base)
	if k < 2 || g.NumFeatures < 1 || len(g.Gain) != g.NumFeatures {
		return errors.New("inconsistent ensemble")
	}
	for r, round := range g.Trees {
		if len(round) != k {
			return fmt.Errorf("round %d has %d trees for %d classes", r, len(round), k)
		}
		for c := range round {
			t := &round[c]
			n := len(t.Feature)
			if n == 0 || len(t.Threshold) != n || len(t.MissingLeft) != n || len(t.Left) != n || len(t.Right) != n || len(t.Value) != n {
				return fmt.Errorf("round %d, class %d: inconsistent tree", r, c)
			}
			for i := range n {
				if f := t.Feature[i]; f >= 0 {
					// Children come after their parent, so every path ends.
					if int(f) >= g.NumFeatures || t.Left[i] <= int32(i) || t.Right[i] <= int32(i) ||
						int(t.Left[i]) >= n || int(t.Right[i]) >= n {
						return fmt.Errorf("round %d, class %d, node %d: bad split", r, c, i)
					}
				} else if f != -1 {
					return fmt.Errorf("round %d, class %d, node %d: bad feature", r, c, i)
				}
			}
		}
	}
	return nil
}

// binned is the training matrix in histogram form: bins[j][i] is the bin of
// feature j for example i; bin 0 holds missing values and bin b ≥ 1 the
// values in (edges[j][b-2], edges[j][b-1]].
type binned struct {
	bins  [][]uint8
	edges [][]float64
}

// binFeatures quantizes x ([example][feature]) into at most maxBins bins
// per feature at quantiles of the observed values.
func binFeatures(x [][]float64, maxBins int) *binned {
	n, p := len(x), len(x[0])
	b := &binned{bins: make([][]uint8, p), edges: make([][]float64, p)}
	vals := make([]float64, 0, n)
	for j := range p {
		vals = vals[:0]
		for _, row := range x {
			if v := row[j]; !math.IsNaN(v) {
				vals = append(vals, v)
			}
		}
		slices.Sort(vals)
		distinct := slices.Compact(slices.Clone(vals))
		var edges []float64
		if len(distinct) <= maxBins {
			for i := 0; i+1 < len(distinct); i++ {
				edges = append(edges, distinct[i]+(distinct[i+1]-distinct[i])/2)
			}
		} else {
			for q := 1; q < maxBins; q++ {
				e := vals[q*len(vals)/maxBins]
				if len(edges) == 0 || e > edges[len(edges)-1] {
					edges = append(edges, e)
				}
			}
		}
		b.edges[j] = edges
		col := make([]uint8, n)
		for i, row := range x {
			if v := row[j]; !math.IsNaN(v) {
				col[i] = uint8(1 + sort.SearchFloat64s(edges, v))
			}
		}
		b.bins[j] = col
	}
	return b
}

// FitGBDT fits gradient-boosted trees with the multi-class softmax loss on
// x ([example][feature], NaN marks a missing value) and labels in
// [0, numClasses). Trees are grown on histograms of quantile bins, as
// LightGBM and XGBoost's hist method do; a split sends missing values to
// the side that gains more.
func FitGBDT(ctx context.Context, x [][]float64, labels []int, numClasses int, cfg GBDTConfig) (*GBDT, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("predict: gbdt: config: %w", err)
	}
	n := len(x)
	if n < 2 {
		return nil, errors.New("predict: gbdt: need at least 2 examples")
	}
	if len(labels) != n {
		return nil, fmt.Errorf("predict: gbdt: %d labels for %d examples", len(labels), n)
	}
	if numClasses < 2 {
		return nil, fmt.Errorf("predict: gbdt: %d classes, need at least 2", numClasses)
	}
	p := len(x[0])
	if p == 0 {
		return nil, errors.New("predict: gbdt: no features")
	}
	for i, row := range x {
		if len(row) != p {
			return nil, fmt.Errorf("predict: gbdt: example %d has %d features, want %d", i, len(row), p)
		}
		for j, v := range row {
			if math.IsInf(v, 0) {
				return nil, fmt.Errorf("predict: gbdt: example %d, feature %d: infinite value", i, j)
			}
		}
		if l := labels[i]; l < 0 || l >= numClasses {
			return nil, fmt.Errorf("predict: gbdt: label %d of example %d outside [0,%d)", l, i, numClasses)
		}
	}
	bins := binFeatures(x, cfg.Bins)
	weights := exampleWeights(labels, numClasses, cfg.BalanceClasses)
	all := make([]int32, n)
	for i := range all {
		all[i] = int32(i)
	}
	rounds := cfg.Rounds
	var validLoss []float64
	if cfg.ValidationShare > 0 {
		fitIdx, validIdx := stratifiedHoldout(labels, numClasses, cfg.ValidationShare, cfg.Seed)
		if len(validIdx) > 0 && len(fitIdx) >= 2 {
			m, err := boost(ctx, x, bins, labels, weights, numClasses, fitIdx, validIdx, cfg, cfg.Rounds)
			if err != nil {
				return nil, err
			}
			rounds, validLoss = m.BestRounds, m.ValidLoss
		}
	}
	m, err := boost(ctx, x, bins, labels, weights, numClasses, all, nil, cfg, rounds)
	if err != nil {
		return nil, err
	}
	m.ValidLoss, m.BestRounds = validLoss, rounds
	return m, nil
}

// exampleWeights returns 1 for every example, or n/(k·n_class) when
// balance is set.
func exampleWeights(labels []int, numClasses int, balance bool) []float64 {
	w := make([]float64, len(labels))
	counts := make([]int, numClasses)
	present := 0
	for _, l := range labels {
		if counts[l] == 0 {
			present++
		}
		counts[l]++
	}
	for i, l := range labels {
		w[i] = 1
		if balance {
			w[i] = float64(len(labels)) / float64(present*counts[l])
		}
	}
	return w
}

// stratifiedHoldout draws share of each class's examples (rounded, and
// none from a class with fewer than 2) for validation.
func stratifiedHoldout(labels []int, numClasses int, share float64, seed uint64) (fit, valid []int32) {
	rng := rand.New(rand.NewPCG(seed, 0x9bd7))
	byClass := make([][]int32, numClasses)
	for i, l := range labels {
		byClass[l] = append(byClass[l], int32(i))
	}
	for _, idx := range byClass {
		rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		nv := 0
		if len(idx) >= 2 {
			nv = min(int(math.Round(share*float64(len(idx)))), len(idx)-1)
		}
		valid = append(valid, idx[:nv]...)
		fit = append(fit, idx[nv:]...)
	}
	slices.Sort(fit)
	slices.Sort(valid)
	return fit, valid
}

// boost runs up to rounds rounds on the examples fitIdx. With validIdx it
// records the held-out loss, stops after cfg.Patience rounds without
// improvement and keeps the best rounds.
func boost(ctx context.Context, x [][]float64, bins *binned, labels []int, weights []float64, k int,
	fitIdx, validIdx []int32, cfg GBDTConfig, rounds int) (*GBDT, error) {
	p := len(bins.bins)
	m := &GBDT{Base: make([]float64, k), NumFeatures: p, Gain: make([]float64, p)}
	// Base scores: log of the weighted class shares, floored so that an
	// absent class does not start at -Inf.
	wsum := 0.0
	for _, i := range fitIdx {
		m.Base[labels[i]] += weights[i]
		wsum += weights[i]
	}
	for c := range m.Base {
		m.Base[c] = math.Log(max(m.Base[c]/wsum, 1e-6))
	}
	n := len(x)
	score := make([][]float64, n) // current scores of the fit and held-out examples
	for _, i := range append(slices.Clone(fitIdx), validIdx...) {
		score[i] = slices.Clone(m.Base)
	}
	grad := make([][]float64, k)
	hess := make([][]float64, k)
	for c := range grad {
		grad[c] = make([]float64, n)
		hess[c] = make([]float64, n)
	}
	best, sinceBest := math.Inf(1), 0
	gains := make([][]float64, k)
	for r := range rounds {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for _, i := range fitIdx {
			pr := stats.Softmax(score[i])
			for c := range k {
				y := 0.0
				if labels[i] == c {
					y = 1
				}
				grad[c][i] = weights[i] * (pr[c] - y)
				hess[c][i] = weights[i] * max(pr[c]*(1-pr[c]), 1e-6)
			}
		}
		round := make([]Tree, k)
		var wg sync.WaitGroup
		sem := make(chan struct{}, cfg.Workers)
		for c := range k {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				rng := rand.New(rand.NewPCG(cfg.Seed, uint64(r*k+c)+1))
				gains[c] = make([]float64, p)
				round[c] = growTree(bins, grad[c], hess[c], fitIdx, cfg, rng, gains[c])
			}()
		}
		wg.Wait()
		m.Trees = append(m.Trees, round)
		for c := range k {
			for j, g := range gains[c] {
				m.Gain[j] += g
			}
		}
		for _, i := range append(slices.Clone(fitIdx), validIdx...) {
			for c := range k {
				score[i][c] += round[c].output(x[i])
			}
		}
		if len(validIdx) == 0 {
			continue
		}
		loss := 0.0
		for _, i := range validIdx {
			pr := stats.Softmax(score[i])
			loss -= weights[i] * math.Log(max(pr[labels[i]], 1e-15))
		}
		loss /= float64(len(validIdx))
		m.ValidLoss = append(m.ValidLoss, loss)
		if loss < best-1e-9 {
			best, sinceBest, m.BestRounds = loss, 0, r+1
		} else if sinceBest++; sinceBest >= cfg.Patience {
			break
		}
	}
	if len(validIdx) == 0 {
		m.BestRounds = len(m.Trees)
	}
	return m, nil
}

// histBin accumulates the gradient, hessian and count of one bin.
type histBin struct {
	g, h float64
	n    int32
}

// leafState is a leaf being grown: its examples, histograms and best split.
type leafState struct {
	node  int32
	idx   []int32
	depth int
	hist  [][]histBin // [feature][bin]; nil for features not drawn
	g, h  float64
	split split
}

type split struct {
	gain        float64
	feature     int
	bin         int // left takes bins 1..bin
	missingLeft bool
}

// growTree grows one regression tree best-first on the gradients of the
// examples idx and adds each split's gain to gains.
func growTree(b *binned, grad, hess []float64, idx []int32, cfg GBDTConfig, rng *rand.Rand, gains []float64) Tree {
	p := len(b.bins)
	features := rng.Perm(p)[:max(1, int(math.Round(cfg.FeatureFraction*float64(p))))]
	slices.Sort(features)
	t := Tree{}
	addNode := func() int32 {
		t.Feature = append(t.Feature, -1)
		t.Threshold = append(t.Threshold, 0)
		t.MissingLeft = append(t.MissingLeft, false)
		t.Left = append(t.Left, -1)
		t.Right = append(t.Right, -1)
		t.Value = append(t.Value, 0)
		return int32(len(t.Feature) - 1)
	}
	leafValue := func(g, h float64) float64 { return -cfg.LearningRate * g / (h + cfg.Lambda) }
	root := &leafState{node: addNode(), idx: slices.Clone(idx)}
	root.hist = buildHist(b, grad, hess, root.idx, features, cfg.Bins)
	for _, i := range root.idx {
		root.g += grad[i]
		root.h += hess[i]
	}
	root.split = bestSplit(root, features, cfg)
	t.Value[root.node] = leafValue(root.g, root.h)
	leaves := []*leafState{root}
	for nLeaves := 1; nLeaves < cfg.Leaves; nLeaves++ {
		bi := -1
		for i, l := range leaves {
			if l.split.gain > 0 && (bi < 0 || l.split.gain > leaves[bi].split.gain) {
				bi = i
			}
		}
		if bi < 0 {
			break
		}
		l := leaves[bi]
		s := l.split
		gains[s.feature] += s.gain
		col := b.bins[s.feature]
		var li, ri []int32
		for _, i := range l.idx {
			bin := int(col[i])
			if (bin == 0 && s.missingLeft) || (bin != 0 && bin <= s.bin) {
				li = append(li, i)
			} else {
				ri = append(ri, i)
			}
		}
		left := &leafState{node: addNode(), idx: li, depth: l.depth + 1}
		right := &leafState{node: addNode(), idx: ri, depth: l.depth + 1}
		t.Feature[l.node] = int32(s.feature)
		t.Threshold[l.node] = b.edges[s.feature][s.bin-1]
		t.MissingLeft[l.node] = s.missingLeft
		t.Left[l.node], t.Right[l.node] = left.node, right.node
		// Histogram subtraction: scan the smaller child, derive the other.
		small, large := left, right
		if len(ri) < len(li) {
			small, large = right, left
		}
		small.hist = buildHist(b, grad, hess, small.idx, features, cfg.Bins)
		large.hist = l.hist
		for _, j := range features {
			for bin := range large.hist[j] {
				large.hist[j][bin].g -= small.hist[j][bin].g
				large.hist[j][bin].h -= small.hist[j][bin].h
				large.hist[j][bin].n -= small.hist[j][bin].n
			}
		}
		l.hist = nil
		for _, c := range []*leafState{left, right} {
			for _, i := range c.idx {
				c.g += grad[i]
				c.h += hess[i]
			}
			t.Value[c.node] = leafValue(c.g, c.h)
			if c.depth < cfg.MaxDepth {
				c.split = bestSplit(c, features, cfg)
			}
		}
		leaves[bi] = left
		leaves = append(leaves, right)
	}
	return t
}

// buildHist accumulates the histograms of the drawn features over idx.
func buildHist(b *binned, grad, hess []float64, idx []int32, features []int, maxBins int) [][]histBin {
	h := make([][]histBin, len(b.bins))
	for _, j := range features {
		hj := make([]histBin, len(b.edges[j])+2)
		col := b.bins[j]
		for _, i := range idx {
			e := &hj[col[i]]
			e.g += grad[i]
			e.h += hess[i]
			e.n++
		}
		h[j] = hj
	}
	return h
}

// bestSplit scans the leaf's histograms for the split of largest gain
// (XGBoost's structure score, without its factor 1/2), trying missing
// values on either side.
func bestSplit(l *leafState, features []int, cfg GBDTConfig) split {
	best := split{}
	n := int32(len(l.idx))
	if int(n) < 2*cfg.MinLeaf {
		return best
	}
	parent := l.g * l.g / (l.h + cfg.Lambda)
	minLeaf := int32(cfg.MinLeaf)
	for _, j := range features {
		hj := l.hist[j]
		miss := hj[0]
		for _, missingLeft := range []bool{false, true} {
			if missingLeft && miss.n == 0 {
				break
			}
			var gl, hl float64
			var nl int32
			if missingLeft {
				gl, hl, nl = miss.g, miss.h, miss.n
			}
			for bin := 1; bin < len(hj)-1; bin++ {
				gl += hj[bin].g
				hl += hj[bin].h
				nl += hj[bin].n
				nr := n - nl
				if nl < minLeaf {
					continue
				}
				if nr < minLeaf {
					break
				}
				gr, hr := l.g-gl, l.h-hl
				if hl < 1e-3 || hr < 1e-3 {
					continue
				}
				gain := gl*gl/(hl+cfg.Lambda) + gr*gr/(hr+cfg.Lambda) - parent
				if gain > best.gain+1e-12 {
					best = split{gain: gain, feature: j, bin: bin, missingLeft: missingLeft}
				}
			}
		}
	}
	return best
}
