package predict

import (
	"context"
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// DefaultAlphas returns scikit-learn's grid for MiniRocket,
// numpy.logspace(-3, 3, 10).
func DefaultAlphas() []float64 {
	a := make([]float64, 10)
	for i := range a {
		a[i] = math.Pow(10, -3+6*float64(i)/9)
	}
	return a
}

// Ridge is a fitted one-vs-all ridge classifier, as scikit-learn's
// RidgeClassifierCV: features are standardized with the training mean and
// standard deviation, each class c gets the target +1 for its examples and
// -1 otherwise, and the regularization strength Alpha is the grid value with
// the least leave-one-out squared error over all targets, computed in closed
// form from one eigendecomposition (of the n×n Gram matrix when there are
// fewer examples than features, of the p×p covariance otherwise). The
// intercept is not regularized. Fields are exported for gob encoding.
type Ridge struct {
	Alpha float64
	// LOOError[i] is the mean squared leave-one-out error at Alphas[i].
	Alphas, LOOError []float64
	// FeatureMean and FeatureScale standardize an input.
	FeatureMean, FeatureScale []float64
	// Weights is [class][feature] on standardized features.
	Weights    [][]float64
	Intercepts []float64

	// Solver names how the ridge was fitted: SolverExact (also for models
	// saved before this field existed, where it is empty) or
	// SolverIterative.
	Solver string
	// HoldOutError[i] is the mean squared error on the held-out examples at
	// Alphas[i] (SolverIterative only; LOOError is then empty).
	HoldOutError []float64
	// SearchIterations and Iterations are the conjugate-gradient iterations
	// of the alpha search and of the final fit on all examples
	// (SolverIterative only).
	SearchIterations, Iterations int
	// Residual is the largest relative residual ‖b − Aw‖/‖b‖ over the
	// classes at the end of the final fit (SolverIterative only): at most
	// RidgeConfig.Tolerance unless the iteration cap was reached.
	Residual float64
}

// Solvers recorded in Ridge.Solver.
const (
	// SolverExact is FitRidgeCV: eigendecomposition and closed-form
	// leave-one-out choice of alpha.
	SolverExact = "exact-loo"
	// SolverIterative is FitRidgeIterative: conjugate gradients and
	// held-out choice of alpha.
	SolverIterative = "cg-holdout"
)

// FitRidgeCV fits a Ridge on x ([example][feature]) and labels in
// [0, numClasses), choosing alpha from alphas (DefaultAlphas when empty).
func FitRidgeCV(ctx context.Context, x [][]float64, labels []int, numClasses int, alphas []float64) (*Ridge, error) {
	if err := checkRidgeInput(x, labels, numClasses, alphas); err != nil {
		return nil, err
	}
	if len(alphas) == 0 {
		alphas = DefaultAlphas()
	}
	n, p := len(x), len(x[0])
	r := &Ridge{Alphas: alphas, Solver: SolverExact}
	r.FeatureMean, r.FeatureScale = standardization(x, nil)
	xc := mat.NewDense(n, p, nil)
	for i, row := range x {
		for j, v := range row {
			xc.Set(i, j, (v-r.FeatureMean[j])/r.FeatureScale[j])
		}
	}
	// Centered one-vs-all targets.
	k := numClasses
	yc := mat.NewDense(n, k, nil)
	ymean := make([]float64, k)
	for i, l := range labels {
		for c := 0; c < k; c++ {
			v := -1.0
			if c == l {
				v = 1
			}
			yc.Set(i, c, v)
			ymean[c] += v / float64(n)
		}
	}
	for i := 0; i < n; i++ {
		for c := 0; c < k; c++ {
			yc.Set(i, c, yc.At(i, c)-ymean[c])
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// Spectral basis: hat(alpha) = B diag(g(alpha)) Bᵀ with B n×m.
	// Dual (n ≤ p): K = Xc Xcᵀ = Q Λ Qᵀ, B = Q, g = λ/(λ+α).
	// Primal (n > p): Xcᵀ Xc = V Λ Vᵀ, B = Xc V, g = 1/(λ+α).
	dual := n <= p
	var gram mat.SymDense
	if dual {
		gram.SymOuterK(1, xc)
	} else {
		gram.SymOuterK(1, xc.T())
	}
	var eig mat.EigenSym
	if !eig.Factorize(&gram, true) {
		return nil, errors.New("predict: ridge: eigendecomposition did not converge")
	}
	lambda := eig.Values(nil)
	for i, l := range lambda {
		lambda[i] = max(l, 0)
	}
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	var basis mat.Dense
	if dual {
		basis.CloneFrom(&vecs)
	} else {
		basis.Mul(xc, &vecs)
	}
	m := len(lambda)
	var by mat.Dense // Bᵀ Yc, m×k
	by.Mul(basis.T(), yc)
	sq := mat.NewDense(n, m, nil) // B∘B for the hat diagonal
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			v := basis.At(i, j)
			sq.Set(i, j, v*v)
		}
	}
	g := func(alpha float64) []float64 {
		out := make([]float64, m)
		for j, l := range lambda {
			if dual {
				out[j] = l / (l + alpha)
			} else {
				out[j] = 1 / (l + alpha)
			}
		}
		return out
	}
	best := math.Inf(1)
	r.LOOError = make([]float64, len(alphas))
	for ai, alpha := range alphas {
		gv := mat.NewVecDense(m, g(alpha))
		var hdiag mat.VecDense
		hdiag.MulVec(sq, gv)
		var scaled mat.Dense
		scaled.Apply(func(j, _ int, v float64) float64 { return v * gv.AtVec(j) }, &by)
		var fit mat.Dense
		fit.Mul(&basis, &scaled)
		loo := 0.0
		for i := 0; i < n; i++ {
			den := 1 - 1/float64(n) - hdiag.AtVec(i)
			if den < 1e-12 {
				den = 1e-12
			}
			for c := 0; c < k; c++ {
				e := (yc.At(i, c) - fit.At(i, c)) / den
				loo += e * e
			}
		}
		loo /= float64(n * k)
		r.LOOError[ai] = loo
		if loo < best {
			best, r.Alpha = loo, alpha
		}
	}

	// Weights: W = Xcᵀ Q diag(1/(λ+α)) Qᵀ Yc (dual) or V diag(1/(λ+α)) Bᵀ Yc.
	inv := make([]float64, m)
	for j, l := range lambda {
		inv[j] = 1 / (l + r.Alpha)
	}
	var scaled mat.Dense
	scaled.Apply(func(j, _ int, v float64) float64 { return v * inv[j] }, &by)
	var w mat.Dense // p×k
	if dual {
		var dualCoef mat.Dense
		dualCoef.Mul(&vecs, &scaled)
		w.Mul(xc.T(), &dualCoef)
	} else {
		w.Mul(&vecs, &scaled)
	}
	r.Weights = make([][]float64, k)
	for c := range r.Weights {
		r.Weights[c] = mat.Col(nil, c, &w)
	}
	r.Intercepts = ymean // features are centered, so the intercept is the target mean
	return r, nil
}

// Decision returns the decision score of each class for one example.
func (r *Ridge) Decision(x []float64) []float64 {
	out := make([]float64, len(r.Weights))
	for c, w := range r.Weights {
		s := r.Intercepts[c]
		for j, v := range x {
			s += w[j] * (v - r.FeatureMean[j]) / r.FeatureScale[j]
		}
		out[c] = s
	}
	return out
}

// checkRidgeInput checks the arguments shared by FitRidgeCV and
// FitRidgeIterative.
func checkRidgeInput(x [][]float64, labels []int, numClasses int, alphas []float64) error {
	n := len(x)
	if n < 2 {
		return errors.New("predict: ridge: need at least 2 examples")
	}
	if len(labels) != n {
		return fmt.Errorf("predict: ridge: %d labels for %d examples", len(labels), n)
	}
	if numClasses < 2 {
		return fmt.Errorf("predict: ridge: %d classes, need at least 2", numClasses)
	}
	p := len(x[0])
	if p == 0 {
		return errors.New("predict: ridge: examples have no features")
	}
	for i, row := range x {
		if len(row) != p {
			return fmt.Errorf("predict: ridge: ragged feature matrix (example 0 has %d features, example %d has %d)", p, i, len(row))
		}
	}
	for i, l := range labels {
		if l < 0 || l >= numClasses {
			return fmt.Errorf("predict: ridge: label %d of example %d outside [0,%d)", l, i, numClasses)
		}
	}
	for _, a := range alphas {
		if !(a > 0) || math.IsInf(a, 1) {
			return fmt.Errorf("predict: ridge: alpha %v is not positive and finite", a)
		}
	}
	return nil
}

// standardization returns the mean and the standard deviation (1 where it
// is below 1e-12) of each feature over the rows of x listed in rows (all
// rows when rows is nil).
func standardization(x [][]float64, rows []int) (mean, scale []float64) {
	p := len(x[0])
	mean, scale = make([]float64, p), make([]float64, p)
	n := len(x)
	if rows != nil {
		n = len(rows)
	}
	row := func(i int) []float64 {
		if rows == nil {
			return x[i]
		}
		return x[rows[i]]
	}
	for i := 0; i < n; i++ {
		for j, v := range row(i) {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	for i := 0; i < n; i++ {
		for j, v := range row(i) {
			d := v - mean[j]
			scale[j] += d * d
		}
	}
	for j, s := range scale {
		scale[j] = 1
		if sd := math.Sqrt(s / float64(n)); sd > 1e-12 {
			scale[j] = sd
		}
	}
	return mean, scale
}
