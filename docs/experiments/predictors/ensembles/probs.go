//go:build ignore

// Command probs fits label predictors on the default cohort's training
// split under seeds 1–5 and writes each fit's class probabilities on the
// validation and test splits as JSON (NAME-SEED.json), for the ensemble,
// stack and decision-rule study of issue 14 (../README.md, "Ensembles, a stack and decision rules"). The
// name "stack" is gradient-boosted trees on the summary features plus
// MultiRocket's ridge scores, out-of-fold on the training split (5
// stratified folds, each refitting MultiRocket). A file that exists is
// kept, so an interrupted run resumes.
//
//	go run probs.go -dir COHORT -out DIR -predictors gbdt,lstm,multirocket,minirocket,stack
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pmlm-go/pmlm/internal/stats"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/predict"
)

type out struct {
	Name      string
	Seed      uint64
	FitSec    float64
	Val, Test [][]float64
	ValY      []int
	TestY     []int
}

func main() {
	dir := flag.String("dir", "/work/syn", "")
	outDir := flag.String("out", "/work/ens", "")
	names := flag.String("predictors", "gbdt,lstm,multirocket,minirocket,stack", "")
	seedList := flag.String("seeds", "1,2,3,4,5", "")
	flag.Parse()
	var seeds []uint64
	for _, f := range strings.Split(*seedList, ",") {
		s, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			panic(err)
		}
		seeds = append(seeds, s)
	}
	c, _, err := cohort.ReadDir(*dir, cohort.ReadOptions{})
	if err != nil {
		panic(err)
	}
	tr, va, te := c.Split(cohort.DefaultSplit())
	ser := func(ps []*cohort.Patient) ([][][]float64, []int) {
		var x [][][]float64
		var y []int
		for _, p := range ps {
			x = append(x, p.Matrix())
			y = append(y, c.LabelIndex(p.Label))
		}
		return x, y
	}
	xtr, ytr := ser(tr)
	xva, yva := ser(va)
	xte, yte := ser(te)
	ctx := context.Background()
	for _, seed := range seeds {
		for _, name := range strings.Split(*names, ",") {
			path := filepath.Join(*outDir, fmt.Sprintf("%s-%d.json", name, seed))
			if _, err := os.Stat(path); err == nil {
				continue
			}
			if name == "stack" {
				writeStack(ctx, c, seed, path, xtr, xva, xte, ytr, yva, yte)
				continue
			}
			p, err := predict.New(name, seed)
			if err != nil {
				panic(err)
			}
			t0 := time.Now()
			if err := p.Fit(ctx, xtr, ytr, len(c.Labels)); err != nil {
				panic(err)
			}
			fit := time.Since(t0).Seconds()
			probs := func(x [][][]float64) [][]float64 {
				var r [][]float64
				if b, ok := p.(predict.BatchPredictor); ok {
					ps, err := b.PredictBatch(ctx, x)
					if err != nil {
						panic(err)
					}
					for _, q := range ps {
						r = append(r, q.Probs)
					}
					return r
				}
				for _, s := range x {
					q, err := p.Predict(ctx, s)
					if err != nil {
						panic(err)
					}
					r = append(r, q.Probs)
				}
				return r
			}
			o := out{Name: name, Seed: seed, FitSec: fit, Val: probs(xva), Test: probs(xte), ValY: yva, TestY: yte}
			b, _ := json.Marshal(o)
			if err := os.WriteFile(path, b, 0o644); err != nil {
				panic(err)
			}
			fmt.Printf("%s seed %d fit %.1fs\n", name, seed, fit)
		}
	}
}

// writeStack fits the stack for one seed and writes its probabilities.
func writeStack(ctx context.Context, c *cohort.Cohort, seed uint64, path string, xtr, xva, xte [][][]float64, ytr, yva, yte []int) {
	const folds = 5
	nc, k := len(c.Metrics), len(c.Labels)
	summary := func(x [][][]float64) [][]float64 {
		out := make([][]float64, len(x))
		for i, s := range x {
			f, err := predict.SummaryFeatures(s, nc, predict.DefaultSummaryStats())
			if err != nil {
				panic(err)
			}
			out[i] = f
		}
		return out
	}
	ftr, fva, fte := summary(xtr), summary(xva), summary(xte)
	type decider interface {
		predict.Predictor
		Decision(context.Context, [][][]float64) ([][]float64, error)
	}
	fitRocket := func(seed uint64, x [][][]float64, y []int) decider {
		p, err := predict.New("multirocket", seed)
		if err != nil {
			panic(err)
		}
		if err := p.Fit(ctx, x, y, k); err != nil {
			panic(err)
		}
		return p.(decider)
	}
	t0 := time.Now()
	// Out-of-fold scores on the training split, stratified folds.
	fold := make([]int, len(ytr))
	rng := rand.New(rand.NewPCG(seed, 99))
	byClass := map[int][]int{}
	for i, y := range ytr {
		byClass[y] = append(byClass[y], i)
	}
	for cl := 0; cl < k; cl++ {
		idx := byClass[cl]
		rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		for j, i := range idx {
			fold[i] = j % folds
		}
	}
	oof := make([][]float64, len(ytr))
	for f := 0; f < folds; f++ {
		var xa [][][]float64
		var ya []int
		var xb [][][]float64
		var ib []int
		for i := range ytr {
			if fold[i] == f {
				xb, ib = append(xb, xtr[i]), append(ib, i)
			} else {
				xa, ya = append(xa, xtr[i]), append(ya, ytr[i])
			}
		}
		m := fitRocket(seed, xa, ya)
		d, err := m.Decision(ctx, xb)
		if err != nil {
			panic(err)
		}
		for j, i := range ib {
			oof[i] = d[j]
		}
	}
	full := fitRocket(seed, xtr, ytr)
	dva, err := full.Decision(ctx, xva)
	if err != nil {
		panic(err)
	}
	dte, err := full.Decision(ctx, xte)
	if err != nil {
		panic(err)
	}
	join := func(a, b [][]float64) [][]float64 {
		r := make([][]float64, len(a))
		for i := range a {
			r[i] = append(append([]float64(nil), a[i]...), b[i]...)
		}
		return r
	}
	g, err := predict.FitGBDT(ctx, join(ftr, oof), ytr, k, predict.GBDTConfig{Seed: seed})
	if err != nil {
		panic(err)
	}
	probs := func(x [][]float64) [][]float64 {
		var r [][]float64
		for _, row := range x {
			r = append(r, stats.Softmax(g.Decision(row)))
		}
		return r
	}
	o := out{Name: "stack", Seed: seed, FitSec: time.Since(t0).Seconds(), Val: probs(join(fva, dva)), Test: probs(join(fte, dte)), ValY: yva, TestY: yte}
	b, _ := json.Marshal(o)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		panic(err)
	}
	fmt.Printf("stack seed %d fit %.1fs\n", seed, o.FitSec)
}
