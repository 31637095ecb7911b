package predict

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"

	"gonum.org/v1/gonum/floats"

	"github.com/pmlm-go/pmlm/internal/kernels"
)

// DefaultIterativeAbove is the number of examples above which FitRidge
// leaves the exact solver (FitRidgeCV, whose cost grows with the cube of
// min(examples, features)) for the iterative one (FitRidgeIterative, whose
// cost per iteration grows linearly with the examples). At 2,500 MiniRocket
// examples the exact fit still takes well under a minute of CPU; at 5,000
// it takes several (BENCHMARKS.md, BenchmarkRocketFitPatients).
const DefaultIterativeAbove = 3000

// RidgeConfig configures FitRidge and FitRidgeIterative. The zero value is
// the default configuration.
type RidgeConfig struct {
	// IterativeAbove is the number of examples above which FitRidge uses
	// FitRidgeIterative; at or below it FitRidge uses FitRidgeCV. Zero
	// means DefaultIterativeAbove; negative means always FitRidgeCV.
	IterativeAbove int
	// HoldOut is the fraction of the examples of each class held out to
	// choose alpha, in (0, 0.5]. Zero means 0.2.
	HoldOut float64
	// Tolerance stops conjugate gradients when, for every class, the
	// residual of the normal equations is at most Tolerance times the norm
	// of their right-hand side. Zero means 1e-4.
	Tolerance float64
	// MaxIterations caps the conjugate-gradient iterations of each of the
	// two solves (alpha search, final fit). Zero means 500.
	MaxIterations int
	// Seed seeds the held-out split. The ROCKET classifiers set it from
	// their transform's seed.
	Seed uint64
	// Workers is the number of goroutines of a pass over the examples.
	// Zero means runtime.GOMAXPROCS(0). The result does not depend on it.
	Workers int
}

func (c RidgeConfig) withDefaults() RidgeConfig {
	if c.IterativeAbove == 0 {
		c.IterativeAbove = DefaultIterativeAbove
	}
	if c.HoldOut == 0 {
		c.HoldOut = 0.2
	}
	if c.Tolerance == 0 {
		c.Tolerance = 1e-4
	}
	if c.MaxIterations == 0 {
		c.MaxIterations = 500
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	return c
}

func (c RidgeConfig) withSeed(seed uint64) RidgeConfig {
	c.Seed = seed
	return c
}

func (c RidgeConfig) check() error {
	switch {
	case !(c.HoldOut > 0 && c.HoldOut <= 0.5):
		return fmt.Errorf("predict: ridge: hold-out fraction %v outside (0, 0.5]", c.HoldOut)
	case !(c.Tolerance > 0 && c.Tolerance < 1):
		return fmt.Errorf("predict: ridge: tolerance %v outside (0, 1)", c.Tolerance)
	case c.MaxIterations < 1:
		return fmt.Errorf("predict: ridge: %d iterations, need at least 1", c.MaxIterations)
	}
	return nil
}

// FitRidge fits a Ridge with FitRidgeCV when x has at most
// cfg.IterativeAbove examples and with FitRidgeIterative otherwise.
func FitRidge(ctx context.Context, x [][]float64, labels []int, numClasses int, alphas []float64, cfg RidgeConfig) (*Ridge, error) {
	cfg = cfg.withDefaults()
	if cfg.IterativeAbove < 0 || len(x) <= cfg.IterativeAbove {
		return FitRidgeCV(ctx, x, labels, numClasses, alphas)
	}
	return FitRidgeIterative(ctx, x, labels, numClasses, alphas, cfg)
}

// FitRidgeIterative fits the Ridge of FitRidgeCV (same standardization,
// one-vs-all ±1 targets, unregularized intercept) at a cost per iteration
// that grows linearly with the number of examples: the normal equations
// (XᵀX + αI)w = Xᵀy of all classes are solved by conjugate gradients, each
// iteration one pass over the examples that standardizes each on the fly
// and computes both X·v and Xᵀ(X·v), so no standardized copy of x and no
// Gram matrix is ever formed. The number of iterations depends on the
// conditioning of XᵀX + αI (on MiniRocket features it grows as the
// examples approach the features in number) and is capped by
// cfg.MaxIterations.
//
// Alpha is chosen from alphas (DefaultAlphas when empty) on a stratified,
// seeded held-out part of the examples (cfg.HoldOut of each class): the
// ridge is fitted on the rest for every alpha at once by multi-shift
// conjugate gradients (the Krylov space of the smallest alpha serves all
// of them, Jegerlehner 1996), and the alpha with the least mean squared
// error of the ±1 targets on the held-out part wins, first in alphas order
// on ties. Squared error is the criterion of FitRidgeCV's leave-one-out
// choice, and unlike accuracy it is smooth and rarely tied on a held-out
// part of a few hundred examples. The final fit uses all examples at that
// alpha, warm-started from the held-out fit.
//
// The solves stop at cfg.Tolerance or cfg.MaxIterations; the Ridge records
// the iterations and the final relative residual. ctx is checked at every
// iteration.
func FitRidgeIterative(ctx context.Context, x [][]float64, labels []int, numClasses int, alphas []float64, cfg RidgeConfig) (*Ridge, error) {
	if err := checkRidgeInput(x, labels, numClasses, alphas); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if len(alphas) == 0 {
		alphas = DefaultAlphas()
	}
	train, held := stratifiedHoldOut(labels, numClasses, cfg.HoldOut, cfg.Seed)
	if len(held) == 0 || len(train) < 2 {
		return nil, fmt.Errorf("predict: ridge: %d examples are too few to hold out %v of a class", len(x), cfg.HoldOut)
	}
	// Shifts in ascending order: the smallest alpha is the base system.
	order := make([]int, len(alphas))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(alphas[a], alphas[b]) })
	shifts := make([]float64, len(order))
	for s, i := range order {
		shifts[s] = alphas[i]
	}

	sub := newRidgeSystem(x, labels, numClasses, train, cfg.Workers)
	ws, searchIters, _, err := sub.solve(ctx, shifts, nil, cfg.Tolerance, cfg.MaxIterations)
	if err != nil {
		return nil, err
	}
	heldErr := sub.meanSquaredError(held, ws)
	r := &Ridge{Alphas: alphas, Solver: SolverIterative, HoldOutError: make([]float64, len(alphas)), SearchIterations: searchIters}
	for s, i := range order {
		r.HoldOutError[i] = heldErr[s]
	}
	best := 0
	for i, e := range r.HoldOutError {
		if e < r.HoldOutError[best] {
			best = i
		}
	}
	r.Alpha = alphas[best]
	warm := ws[slices.Index(order, best)]

	full := newRidgeSystem(x, labels, numClasses, nil, cfg.Workers)
	wf, iters, residual, err := full.solve(ctx, []float64{r.Alpha}, warm, cfg.Tolerance, cfg.MaxIterations)
	if err != nil {
		return nil, err
	}
	r.Weights, r.Iterations, r.Residual = wf[0], iters, residual
	r.FeatureMean, r.FeatureScale, r.Intercepts = full.mean, full.scale, full.ymean
	return r, nil
}

// stratifiedHoldOut splits the example indices into a training and a
// held-out part, each ascending: of each class with m examples,
// round(frac·m) drawn at random are held out, but never all of them.
func stratifiedHoldOut(labels []int, numClasses int, frac float64, seed uint64) (train, held []int) {
	byClass := make([][]int, numClasses)
	for i, l := range labels {
		byClass[l] = append(byClass[l], i)
	}
	rng := rand.New(rand.NewPCG(seed, 0x6a09e667f3bcc908))
	for _, idx := range byClass {
		rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		h := min(int(math.Round(frac*float64(len(idx)))), len(idx)-1)
		h = max(h, 0)
		held = append(held, idx[:h]...)
		train = append(train, idx[h:]...)
	}
	slices.Sort(train)
	slices.Sort(held)
	return train, held
}

// ridgeChunks is the number of parts a pass over the examples is split
// into, each with its own accumulator. It is fixed, not the number of
// workers, so that the sums, and with them the fit, do not depend on the
// number of workers.
const ridgeChunks = 8

// ridgeSystem is the ridge problem on the rows of x listed in rows (all
// when nil), standardized with their own mean and scale, with centered
// one-vs-all targets.
type ridgeSystem struct {
	x            [][]float64
	labels       []int
	rows         []int
	n, p, k      int
	mean, scale  []float64
	inv, ymean   []float64
	workers      int
	acc, scratch [][]float64 // per chunk: k·p accumulator, p standardized row
}

func newRidgeSystem(x [][]float64, labels []int, k int, rows []int, workers int) *ridgeSystem {
	s := &ridgeSystem{x: x, labels: labels, rows: rows, n: len(x), p: len(x[0]), k: k, workers: workers}
	if rows != nil {
		s.n = len(rows)
	}
	s.mean, s.scale = standardization(x, rows)
	s.inv = make([]float64, s.p)
	for j, sc := range s.scale {
		s.inv[j] = 1 / sc
	}
	s.ymean = make([]float64, k)
	for i := 0; i < s.n; i++ {
		l := labels[s.index(i)]
		for c := range s.ymean {
			if c == l {
				s.ymean[c]++
			} else {
				s.ymean[c]--
			}
		}
	}
	for c := range s.ymean {
		s.ymean[c] /= float64(s.n)
	}
	s.acc = make([][]float64, ridgeChunks)
	s.scratch = make([][]float64, ridgeChunks)
	for ch := range s.acc {
		s.acc[ch] = make([]float64, k*s.p)
		s.scratch[ch] = make([]float64, s.p)
	}
	return s
}

func (s *ridgeSystem) index(i int) int {
	if s.rows == nil {
		return i
	}
	return s.rows[i]
}

// target returns the centered target of class c for row position i.
func (s *ridgeSystem) target(i, c int) float64 {
	if s.labels[s.index(i)] == c {
		return 1 - s.ymean[c]
	}
	return -1 - s.ymean[c]
}

// pass calls fn(chunk, z, i) for every listed row i of x (positions
// 0..len(rows)−1, or 0..n−1 of s's own rows when rows is nil), z being the
// row standardized with s's mean and scale, in ridgeChunks chunks run by
// s.workers goroutines.
func (s *ridgeSystem) pass(rows []int, fn func(ch int, z []float64, i int)) {
	n, at := s.n, s.index
	if rows != nil {
		n, at = len(rows), func(i int) int { return rows[i] }
	}
	chunks := min(ridgeChunks, n)
	kernels.Parallel(chunks, s.workers, func(_, lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			z := s.scratch[ch]
			for i := ch * n / chunks; i < (ch+1)*n/chunks; i++ {
				floats.SubTo(z, s.x[at(i)], s.mean)
				floats.Mul(z, s.inv)
				fn(ch, z, i)
			}
		}
	})
}

// sum writes the sum over chunks of the accumulators of the classes in
// active into out, plus shift·v.
func (s *ridgeSystem) sum(active []int, out, v [][]float64, shift float64) {
	for _, c := range active {
		o := out[c]
		clear(o)
		for ch := range s.acc {
			floats.Add(o, s.acc[ch][c*s.p:(c+1)*s.p])
		}
		if v != nil {
			floats.AddScaled(o, shift, v[c])
		}
	}
}

func (s *ridgeSystem) clearAcc(active []int) {
	for ch := range s.acc {
		for _, c := range active {
			clear(s.acc[ch][c*s.p : (c+1)*s.p])
		}
	}
}

// rhs returns Xᵀy of each class.
func (s *ridgeSystem) rhs() [][]float64 {
	all := make([]int, s.k)
	for c := range all {
		all[c] = c
	}
	s.clearAcc(all)
	s.pass(nil, func(ch int, z []float64, i int) {
		for c := 0; c < s.k; c++ {
			floats.AddScaled(s.acc[ch][c*s.p:(c+1)*s.p], s.target(i, c), z)
		}
	})
	b := newMatrix(s.k, s.p)
	s.sum(all, b, nil, 0)
	return b
}

// apply writes (XᵀX + shift·I)v[c] into out[c] for each class c in active,
// in one pass over the rows.
func (s *ridgeSystem) apply(active []int, v, out [][]float64, shift float64) {
	s.clearAcc(active)
	s.pass(nil, func(ch int, z []float64, _ int) {
		acc := s.acc[ch]
		for _, c := range active {
			floats.AddScaled(acc[c*s.p:(c+1)*s.p], floats.Dot(z, v[c]), z)
		}
	})
	s.sum(active, out, v, shift)
}

// solve solves (XᵀX + σI)w = Xᵀy for every shift σ in shifts (ascending,
// positive) and every class by multi-shift conjugate gradients, starting
// from zero, or from warm ([class][feature]) when there is a single shift.
// It returns w as [shift][class][feature], the iterations run, and the
// largest relative residual of the smallest shift (the largest of all:
// a shifted system's residual is the base one's times |ζ| ≤ 1).
func (s *ridgeSystem) solve(ctx context.Context, shifts []float64, warm [][]float64, tol float64, maxIter int) ([][][]float64, int, float64, error) {
	if warm != nil && len(shifts) != 1 {
		return nil, 0, 0, errors.New("predict: ridge: a warm start needs a single shift")
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, 0, err
	}
	k, ns, base := s.k, len(shifts), shifts[0]
	b := s.rhs()
	w := make([][][]float64, ns)
	for i := range w {
		w[i] = newMatrix(k, s.p)
	}
	all := make([]int, k)
	for c := range all {
		all[c] = c
	}
	r := b
	if warm != nil {
		for c := range warm {
			copy(w[0][c], warm[c])
		}
		aw := newMatrix(k, s.p)
		s.apply(all[:k-1], w[0], aw, base) // the last class follows from the others
		r = newMatrix(k, s.p)
		for c := range r {
			floats.SubTo(r[c], b[c], aw[c])
		}
	}
	type column struct {
		bnorm, rr, alphaPrev, betaPrev float64
		zeta, zetaPrev, zetaNext       []float64
		shiftDone                      []bool
	}
	cols := make([]column, k)
	dir := newMatrix(k, s.p)        // base search directions
	dirs := make([][][]float64, ns) // shifted search directions
	for i := 1; i < ns; i++ {
		dirs[i] = newMatrix(k, s.p)
	}
	var active []int
	for c := range cols {
		col := &cols[c]
		col.bnorm = floats.Norm(b[c], 2)
		col.rr = floats.Dot(r[c], r[c])
		col.alphaPrev = 1
		col.zeta, col.zetaPrev, col.zetaNext = make([]float64, ns), make([]float64, ns), make([]float64, ns)
		col.shiftDone = make([]bool, ns)
		for i := range col.zeta {
			col.zeta[i], col.zetaPrev[i] = 1, 1
			if i > 0 {
				copy(dirs[i][c], r[c])
			}
		}
		copy(dir[c], r[c])
		if c < k-1 && math.Sqrt(col.rr) > tol*col.bnorm {
			active = append(active, c)
		}
	}
	q := newMatrix(k, s.p)
	iter := 0
	for ; len(active) > 0 && iter < maxIter; iter++ {
		if err := ctx.Err(); err != nil {
			return nil, iter, 0, err
		}
		s.apply(active, dir, q, base)
		next := active[:0:0]
		for _, c := range active {
			col := &cols[c]
			pq := floats.Dot(dir[c], q[c])
			if !(pq > 0) {
				continue // breakdown: the residual is numerically zero
			}
			a := col.rr / pq
			for i := 1; i < ns; i++ {
				if col.shiftDone[i] {
					continue
				}
				sigma := shifts[i] - base
				z, zp := col.zeta[i], col.zetaPrev[i]
				zn := z * zp * col.alphaPrev / (a*col.betaPrev*(zp-z) + zp*col.alphaPrev*(1+sigma*a))
				col.zetaNext[i] = zn
				floats.AddScaled(w[i][c], a*zn/z, dirs[i][c])
			}
			floats.AddScaled(w[0][c], a, dir[c])
			floats.AddScaled(r[c], -a, q[c])
			rrNext := floats.Dot(r[c], r[c])
			beta := rrNext / col.rr
			floats.Scale(beta, dir[c])
			floats.Add(dir[c], r[c])
			for i := 1; i < ns; i++ {
				if col.shiftDone[i] {
					continue
				}
				z, zn := col.zeta[i], col.zetaNext[i]
				floats.Scale(beta*(zn/z)*(zn/z), dirs[i][c])
				floats.AddScaled(dirs[i][c], zn, r[c])
				col.zetaPrev[i], col.zeta[i] = z, zn
				if math.Abs(zn)*math.Sqrt(rrNext) <= tol*col.bnorm || zn == 0 {
					col.shiftDone[i] = true
				}
			}
			col.alphaPrev, col.betaPrev, col.rr = a, beta, rrNext
			if math.Sqrt(rrNext) > tol*col.bnorm {
				next = append(next, c)
			}
		}
		active = next
	}
	// The centered targets of the classes sum to zero for every example
	// (each has one +1 and k−1 times −1), so the last class's weights are
	// minus the sum of the others': one solve fewer.
	residual := 0.0
	for c, col := range cols[:k-1] {
		if col.bnorm > 0 {
			residual = max(residual, math.Sqrt(col.rr)/col.bnorm)
		}
		for _, ws := range w {
			if c == 0 {
				clear(ws[k-1])
			}
			floats.Sub(ws[k-1], ws[c])
		}
	}
	return w, iter, residual, nil
}

// meanSquaredError returns, for each shift's weights in w
// ([shift][class][feature]), the mean squared error of the ±1 targets of
// the rows of s.x listed in rows, standardized with s's mean and scale.
func (s *ridgeSystem) meanSquaredError(rows []int, w [][][]float64) []float64 {
	sums := newMatrix(ridgeChunks, len(w))
	s.pass(rows, func(ch int, z []float64, i int) {
		l := s.labels[rows[i]]
		for si, ws := range w {
			for c, wc := range ws {
				y := -1.0
				if c == l {
					y = 1
				}
				e := y - s.ymean[c] - floats.Dot(z, wc)
				sums[ch][si] += e * e
			}
		}
	})
	out := make([]float64, len(w))
	for _, cs := range sums {
		floats.Add(out, cs)
	}
	floats.Scale(1/float64(len(rows)*s.k), out)
	return out
}

func newMatrix(rows, cols int) [][]float64 {
	m := make([][]float64, rows)
	for i := range m {
		m[i] = make([]float64, cols)
	}
	return m
}
