//go:build ignore

// Command ensembles is the ensemble, stack and decision-rule study of issue
// 14 (../README.md, "Ensembles, a stack and decision rules").
//
// The probs subcommand fits label predictors on the default cohort's
// training split under each seed and writes each fit's class probabilities
// on the validation and test splits as JSON (NAME-SEED.json). The name
// "stack" is gradient-boosted trees on the summary features plus
// MultiRocket's ridge scores, out-of-fold on the training split (5
// stratified folds, each refitting MultiRocket). A file that exists is
// kept, so an interrupted run resumes.
//
// The analyse subcommand reads them and prints, per split, each
// predictor's and each two-member ensemble's micro/macro-F1 (mean over
// seeds 1–5) with paired 95 % cluster-bootstrap intervals over patients
// against the first two members (2,000 resamples, each rescored, seed
// mean first); -tuned NAME: per-class weights tuned for macro-F1 on
// validation, scored on test; -oracle: each label's best threshold on the
// split itself (an optimistic bound).
//
//	go run ensembles.go probs -dir COHORT -out DIR -predictors gbdt,lstm,multirocket,minirocket,stack
//	go run ensembles.go analyse -dir DIR -members gbdt,lstm
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pmlm-go/pmlm/internal/stats"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/predict"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: go run ensembles.go probs|analyse [flags]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "probs":
		probsMain(os.Args[2:])
	case "analyse":
		analyseMain(os.Args[2:])
	default:
		fmt.Fprintf(os.Stderr, "unknown subcommand %q: want probs or analyse\n", os.Args[1])
		os.Exit(2)
	}
}

// probsMain is the probs subcommand.
func probsMain(args []string) {
	fs := flag.NewFlagSet("probs", flag.ExitOnError)
	dir := fs.String("dir", "/work/syn", "")
	outDir := fs.String("out", "/work/ens", "")
	names := fs.String("predictors", "gbdt,lstm,multirocket,minirocket,stack", "")
	seedList := fs.String("seeds", "1,2,3,4,5", "")
	fs.Parse(args)
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		panic(err)
	}
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
			if b, err := os.ReadFile(path); err == nil {
				// Resume only from a file of this cohort, predictor and seed:
				// an -out folder holding another cohort's files would mix
				// them into the study.
				var old run
				if err := json.Unmarshal(b, &old); err != nil || old.Cohort != c.Digest() || old.Name != name || old.Seed != seed {
					panic(fmt.Sprintf("%s exists but is not %s, seed %d, of this cohort (digest %s): use another -out", path, name, seed, c.Digest()))
				}
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
			o := run{Name: name, Seed: seed, Cohort: c.Digest(), FitSec: fit, Val: probs(xva), Test: probs(xte), ValY: yva, TestY: yte}
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
	o := run{Name: "stack", Seed: seed, Cohort: c.Digest(), FitSec: time.Since(t0).Seconds(), Val: probs(join(fva, dva)), Test: probs(join(fte, dte)), ValY: yva, TestY: yte}
	b, _ := json.Marshal(o)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		panic(err)
	}
	fmt.Printf("stack seed %d fit %.1fs\n", seed, o.FitSec)
}

// run is one fit's class probabilities, as the probs subcommand writes them.
type run struct {
	Name string
	Seed uint64
	// Cohort is the digest of the cohort the fit was made on.
	Cohort    string
	FitSec    float64
	Val, Test [][]float64
	ValY      []int
	TestY     []int
}

var seeds = []uint64{1, 2, 3, 4, 5}

func load(dir, name string) []run {
	var rs []run
	for _, s := range seeds {
		b, err := os.ReadFile(fmt.Sprintf("%s/%s-%d.json", dir, name, s))
		if err != nil {
			panic(err)
		}
		var r run
		if err := json.Unmarshal(b, &r); err != nil {
			panic(err)
		}
		if r.Name != name || r.Seed != s || r.Cohort == "" || (len(rs) > 0 && r.Cohort != rs[0].Cohort) {
			panic(fmt.Sprintf("%s/%s-%d.json holds %s, seed %d, cohort %q", dir, name, s, r.Name, r.Seed, r.Cohort))
		}
		rs = append(rs, r)
	}
	return rs
}

// combo: weights over members, mode "arith" or "geo"; temperature on each member's log-probs.
type spec struct {
	label   string
	members []string
	weights []float64
	geo     bool
}

func predictions(runs map[string][]run, sp spec, test bool) [][]int {
	var out [][]int
	for s := range seeds {
		var probs [][][]float64
		for _, m := range sp.members {
			r := runs[m][s]
			if test {
				probs = append(probs, r.Test)
			} else {
				probs = append(probs, r.Val)
			}
		}
		n := len(probs[0])
		k := len(probs[0][0])
		p := make([]int, n)
		for i := 0; i < n; i++ {
			acc := make([]float64, k)
			for mi, pm := range probs {
				for j := 0; j < k; j++ {
					if sp.geo {
						acc[j] += sp.weights[mi] * math.Log(math.Max(pm[i][j], 1e-12))
					} else {
						acc[j] += sp.weights[mi] * pm[i][j]
					}
				}
			}
			p[i] = stats.Argmax(acc)
		}
		out = append(out, p)
	}
	return out
}

func score(pred [][]int, truth, counts []int, k int) (mi, ma float64) {
	for s := range pred {
		sc, err := predict.WeightedScore(pred[s], truth, counts, k)
		if err != nil {
			panic(err)
		}
		mi += 100 * sc.MicroF1 / float64(len(pred))
		ma += 100 * sc.MacroF1 / float64(len(pred))
	}
	return
}

// analyseMain is the analyse subcommand.
func analyseMain(args []string) {
	fs := flag.NewFlagSet("analyse", flag.ExitOnError)
	dir := fs.String("dir", "/work/ens", "")
	names := fs.String("members", "gbdt,lstm", "")
	tuned := fs.String("tuned", "", "predictor whose per-class weights are tuned for macro-F1 on validation")
	oracle := fs.Bool("oracle", false, "per-label F1 with the best threshold on each split itself")
	fs.Parse(args)
	if *tuned != "" {
		tunedStudy(load(*dir, *tuned), *tuned)
		return
	}
	if *oracle {
		for _, n := range strings.Split(*names, ",") {
			oracleBound(load(*dir, n), n)
		}
		return
	}
	runs := map[string][]run{}
	for _, n := range strings.Split(*names, ",") {
		runs[n] = load(*dir, n)
	}
	first := runs[strings.Split(*names, ",")[0]][0]
	for n, rs := range runs {
		if rs[0].Cohort != first.Cohort {
			panic(fmt.Sprintf("%s was fitted on cohort %s, %s on %s: an ensemble needs the same patients", n, rs[0].Cohort, first.Name, first.Cohort))
		}
	}
	k := len(first.Val[0])
	var specs []spec
	for _, n := range strings.Split(*names, ",") {
		specs = append(specs, spec{n, []string{n}, []float64{1}, false})
	}
	if len(runs) >= 2 {
		ms := strings.Split(*names, ",")
		a, b := ms[0], ms[1]
		for _, w := range []float64{0.25, 0.5, 0.75} {
			specs = append(specs, spec{fmt.Sprintf("%.2f %s + %.2f %s (arith)", w, a, 1-w, b), []string{a, b}, []float64{w, 1 - w}, false})
			specs = append(specs, spec{fmt.Sprintf("%.2f %s + %.2f %s (geo)", w, a, 1-w, b), []string{a, b}, []float64{w, 1 - w}, true})
		}
		if len(ms) >= 3 {
			eq := make([]float64, len(ms))
			for i := range eq {
				eq[i] = 1 / float64(len(ms))
			}
			specs = append(specs, spec{"all equal (arith)", ms, eq, false}, spec{"all equal (geo)", ms, eq, true})
		}
	}
	baselines := strings.Split(*names, ",")[:min(2, len(runs))]
	for _, split := range []string{"val", "test"} {
		truth := first.ValY
		if split == "test" {
			truth = first.TestY
		}
		n := len(truth)
		preds := make([][][]int, len(specs))
		for i, sp := range specs {
			preds[i] = predictions(runs, sp, split == "test")
		}
		fmt.Printf("== %s (%d patients)\n", split, n)
		rng := rand.New(rand.NewPCG(7, 0))
		B := 2000
		boot := make([][2][]float64, len(specs))
		counts := make([]int, n)
		for b := 0; b < B; b++ {
			clear(counts)
			for i := 0; i < n; i++ {
				counts[rng.IntN(n)]++
			}
			for i := range specs {
				mi, ma := score(preds[i], truth, counts, k)
				boot[i][0] = append(boot[i][0], mi)
				boot[i][1] = append(boot[i][1], ma)
			}
		}
		for i, sp := range specs {
			mi, ma := score(preds[i], truth, nil, k)
			line := fmt.Sprintf("%-40s %6.2f / %6.2f", sp.label, mi, ma)
			for j := range baselines {
				if j == i {
					continue
				}
				// Each seed's difference, for the spread over seeds.
				var smi, sma []float64
				for s := range preds[i] {
					a1, a2 := score(preds[i][s:s+1], truth, nil, k)
					b1, b2 := score(preds[j][s:s+1], truth, nil, k)
					smi, sma = append(smi, a1-b1), append(sma, a2-b2)
				}
				bmi, bma := score(preds[j], truth, nil, k)
				var dmi, dma []float64
				for b := 0; b < B; b++ {
					dmi = append(dmi, boot[i][0][b]-boot[j][0][b])
					dma = append(dma, boot[i][1][b]-boot[j][1][b])
				}
				sort.Float64s(dmi)
				sort.Float64s(dma)
				line += fmt.Sprintf(" | −%s micro %+.2f ± %.2f [%+.2f, %+.2f] %d/%d, macro %+.2f ± %.2f [%+.2f, %+.2f] %d/%d", specs[j].label,
					mi-bmi, stdDev(smi), dmi[50], dmi[1949], positive(smi), len(smi), ma-bma, stdDev(sma), dma[50], dma[1949], positive(sma), len(sma))
			}
			fmt.Println(line)
		}
	}
}

// oracleBound prints, per split, the macro-F1 of one-vs-rest decisions that
// threshold each label's probability at the threshold best for that label on
// the split itself (an optimistic bound for decision rules on these scores).
func oracleBound(rs []run, name string) {
	for _, split := range []string{"val", "test"} {
		var macro float64
		k := len(rs[0].Val[0])
		per := make([]float64, k)
		for _, r := range rs {
			probs, truth := r.Val, r.ValY
			if split == "test" {
				probs, truth = r.Test, r.TestY
			}
			sum, nl := 0.0, 0
			for c := 0; c < k; c++ {
				pos := 0
				for _, y := range truth {
					if y == c {
						pos++
					}
				}
				if pos == 0 {
					continue
				}
				idx := make([]int, len(truth))
				for i := range idx {
					idx[i] = i
				}
				sort.SliceStable(idx, func(a, b int) bool { return probs[idx[a]][c] > probs[idx[b]][c] })
				best, tp := 0.0, 0
				for j, i := range idx {
					if truth[i] == c {
						tp++
					}
					// predicted positive: the first j+1 (ties broken by order: optimistic within ties)
					f := 2 * float64(tp) / float64(j+1+pos)
					if f > best {
						best = f
					}
				}
				per[c] += 100 * best / float64(len(rs))
				sum += best
				nl++
			}
			macro += 100 * sum / float64(nl) / float64(len(rs))
		}
		fmt.Printf("%-12s %-5s oracle per-label-threshold macro-F1 %.2f; per label:", name, split, macro)
		for c := range per {
			fmt.Printf(" %.1f", per[c])
		}
		fmt.Println()
	}
}

func weightedPred(probs [][]float64, w []float64) []int {
	p := make([]int, len(probs))
	for i, q := range probs {
		b := 0
		for j := range q {
			if w[j]*q[j] > w[b]*q[b] {
				b = j
			}
		}
		p[i] = b
	}
	return p
}

// tunedStudy chooses per-class weights w (answer argmax w_c·p_c) that
// maximize validation macro-F1 by coordinate search, per seed, and scores
// them on test against the plain argmax.
func tunedStudy(rs []run, name string) {
	k := len(rs[0].Val[0])
	grid := []float64{}
	for g := -12; g <= 12; g++ {
		grid = append(grid, math.Exp(float64(g)/4))
	}
	var plainT, tunedT [][]int
	var plainV, tunedV [][]int
	for _, r := range rs {
		w := make([]float64, k)
		for i := range w {
			w[i] = 1
		}
		macro := func(w []float64) float64 {
			s, _ := predict.Score(weightedPred(r.Val, w), r.ValY, k)
			return s.MacroF1
		}
		best := macro(w)
		for sweep := 0; sweep < 4; sweep++ {
			for c := 0; c < k; c++ {
				keep := w[c]
				for _, g := range grid {
					w[c] = g
					if m := macro(w); m > best+1e-12 {
						best, keep = m, g
					}
				}
				w[c] = keep
			}
		}
		one := make([]float64, k)
		for i := range one {
			one[i] = 1
		}
		plainT = append(plainT, weightedPred(r.Test, one))
		tunedT = append(tunedT, weightedPred(r.Test, w))
		plainV = append(plainV, weightedPred(r.Val, one))
		tunedV = append(tunedV, weightedPred(r.Val, w))
		fmt.Printf("seed %d weights", r.Seed)
		for _, x := range w {
			fmt.Printf(" %.2f", x)
		}
		fmt.Println()
	}
	for _, sp := range []struct {
		name  string
		a, b  [][]int
		truth []int
	}{{"val (in-sample)", plainV, tunedV, rs[0].ValY}, {"test", plainT, tunedT, rs[0].TestY}} {
		ami, ama := score(sp.a, sp.truth, nil, k)
		bmi, bma := score(sp.b, sp.truth, nil, k)
		rng := rand.New(rand.NewPCG(7, 0))
		n := len(sp.truth)
		counts := make([]int, n)
		var dmi, dma []float64
		for b := 0; b < 2000; b++ {
			clear(counts)
			for i := 0; i < n; i++ {
				counts[rng.IntN(n)]++
			}
			a1, a2 := score(sp.a, sp.truth, counts, k)
			b1, b2 := score(sp.b, sp.truth, counts, k)
			dmi, dma = append(dmi, b1-a1), append(dma, b2-a2)
		}
		sort.Float64s(dmi)
		sort.Float64s(dma)
		fmt.Printf("%s %s: plain %.2f / %.2f, macro-tuned %.2f / %.2f; tuned − plain micro %+.2f [%+.2f, %+.2f] macro %+.2f [%+.2f, %+.2f]\n",
			name, sp.name, ami, ama, bmi, bma, bmi-ami, dmi[50], dmi[1949], bma-ama, dma[50], dma[1949])
	}
}

// stdDev is the sample standard deviation of x (0 for fewer than two).
func stdDev(x []float64) float64 {
	if len(x) < 2 {
		return 0
	}
	var m, q float64
	for _, v := range x {
		m += v / float64(len(x))
	}
	for _, v := range x {
		q += (v - m) * (v - m)
	}
	return math.Sqrt(q / float64(len(x)-1))
}

// positive counts the values above zero.
func positive(x []float64) int {
	n := 0
	for _, v := range x {
		if v > 0 {
			n++
		}
	}
	return n
}
