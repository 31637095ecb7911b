package predict_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/pmlm-go/pmlm/internal/stats"
	"github.com/pmlm-go/pmlm/pmlm/predict"
)

// Fit MiniRocket + ridge on series read from the .ts format and predict.
func Example() {
	// Two classes: rising and falling series of two channels, 10-14 steps,
	// with a missing value here and there.
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	b.WriteString("@problemName Slopes\n@missing true\n@dimensions 2\n@classLabel true up down\n@data\n")
	for i := 0; i < 40; i++ {
		label, sign := "up", 1.0
		if i%2 == 1 {
			label, sign = "down", -1
		}
		n := 10 + rng.IntN(5)
		for d := 0; d < 2; d++ {
			for t := 0; t < n; t++ {
				if t > 0 {
					b.WriteString(",")
				}
				if rng.Float64() < 0.05 {
					b.WriteString("?")
					continue
				}
				fmt.Fprintf(&b, "%.3f", sign*float64(t)+rng.NormFloat64())
			}
			b.WriteString(":")
		}
		b.WriteString(label + "\n")
	}
	data, err := predict.ReadTS(strings.NewReader(b.String()), "slopes.ts")
	if err != nil {
		fmt.Println(err)
		return
	}
	m := &predict.MiniRocketClassifier{Config: predict.MiniRocketConfig{NumFeatures: 840, Seed: 1}}
	if err := m.Fit(context.Background(), data.Series[:30], data.LabelIndices()[:30], len(data.Classes)); err != nil {
		fmt.Println(err)
		return
	}
	p, err := m.Predict(context.Background(), data.Series[31])
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("true:", data.Labels[31], "predicted:", data.Classes[p.Label])
	fmt.Println("probabilities sum to 1:", math.Abs(p.Probs[0]+p.Probs[1]-1) < 1e-9)
	// Output:
	// true: down predicted: down
	// probabilities sum to 1: true
}

// ParseLabel reads the label out of a language model's free-text answer.
func ExampleParseLabel() {
	classes := []string{"normal", "gestational diabetes", "gestational hypertension"}
	for _, answer := range []string{"Gestational diabetes.", "Option 3", "normal or gestational diabetes"} {
		i, err := predict.ParseLabel(answer, classes)
		if err != nil {
			fmt.Printf("%q: %v\n", answer, err)
			continue
		}
		fmt.Printf("%q: %s\n", answer, classes[i])
	}
	// Output:
	// "Gestational diabetes.": gestational diabetes
	// "Option 3": gestational hypertension
	// "normal or gestational diabetes": predict: the answer names no single label: several options named
}

// Fit gradient-boosted trees on per-patient summaries of the visits and
// ask which lab carried the label. Here the label is whether the second lab
// runs high; the first is noise, and values go missing now and then.
func ExampleGBDTClassifier() {
	rng := rand.New(rand.NewPCG(1, 2))
	var series [][][]float64
	var labels []int
	for i := range 200 {
		label := i % 2
		visits := make([][]float64, 3+rng.IntN(8))
		for t := range visits {
			visits[t] = []float64{rng.NormFloat64(), 100 + 10*float64(label) + 3*rng.NormFloat64()}
			if rng.IntN(5) == 0 {
				visits[t][0] = math.NaN() // missing
			}
		}
		series = append(series, visits)
		labels = append(labels, label)
	}
	m := &predict.GBDTClassifier{Config: predict.GBDTConfig{Seed: 1}, Channels: []string{"noise", "HGB"}}
	if err := m.Fit(context.Background(), series[:150], labels[:150], 2); err != nil {
		fmt.Println(err)
		return
	}
	pred, err := predict.PredictAll(context.Background(), m, series[150:])
	if err != nil {
		fmt.Println(err)
		return
	}
	sc, err := predict.Score(pred, labels[150:], 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("accuracy above 0.9:", sc.Accuracy > 0.9)
	fmt.Println("most important feature is a summary of HGB:", strings.HasPrefix(m.FeatureImportances()[0].Feature, "HGB."))
	// Output:
	// accuracy above 0.9: true
	// most important feature is a summary of HGB: true
}

// Fit a ridge classifier by conjugate gradients, with alpha chosen on a
// held-out fifth of each class; FitRidge does this by itself above
// RidgeConfig.IterativeAbove examples.
func ExampleFitRidgeIterative() {
	// Two classes told apart by the sign of the first feature.
	rng := rand.New(rand.NewPCG(3, 4))
	var x [][]float64
	var labels []int
	for i := 0; i < 200; i++ {
		l := i % 2
		row := []float64{float64(2*l-1) + 0.5*rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
		x, labels = append(x, row), append(labels, l)
	}
	r, err := predict.FitRidgeIterative(context.Background(), x, labels, 2, []float64{0.1, 10, 1000}, predict.RidgeConfig{Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	d := r.Decision([]float64{1.2, 0, 0})
	fmt.Println(r.Solver, "held out:", len(r.HoldOutError) == len(r.Alphas), "class of (1.2, 0, 0):", stats.Argmax(d))
	// Output: cg-holdout held out: true class of (1.2, 0, 0): 1
}
