package pmlm

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/policy"
)

// benchCohort is a random cohort of the obstetric shape (package synth
// cannot be imported here: it imports pmlm). Values are uniform inside each
// metric's range, replies are a few sentences that name the label: enough
// for timing, not for quality.
func benchCohort(n int, seed uint64) *cohort.Cohort {
	rng := rand.New(rand.NewPCG(seed, 1))
	c := cohort.NewObstetricCohort()
	advice := []string{
		"Rest well, eat a balanced diet and keep the perineum clean.",
		"Come back at once for fever, heavy bleeding or severe abdominal pain.",
		"Attend the 42-day postpartum check with a blood count and urinalysis.",
		"Your haemoglobin fell during the stay; take oral iron and recheck it.",
		"Breastfeeding is encouraged; use reliable contraception.",
	}
	for i := range n {
		label := c.Labels[rng.IntN(len(c.Labels))]
		idx := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.IntN(360))
		p := cohort.Patient{ID: fmt.Sprintf("b%04d", i), IndexDate: idx, Label: label,
			Response: "Discharge diagnosis: " + label + "."}
		for range 4 {
			p.Response += " " + advice[rng.IntN(len(advice))]
		}
		for v := range 1 + rng.IntN(30) {
			vals := make([]float64, len(c.Metrics))
			for m, mt := range c.Metrics {
				vals[m] = mt.Min + rng.Float64()*(mt.Max-mt.Min)
			}
			p.Visits = append(p.Visits, cohort.Visit{Date: idx.AddDate(0, 0, -7*(30-v)), Values: vals})
		}
		c.Patients = append(c.Patients, p)
	}
	return c
}

var benchPipeline = sync.OnceValues(func() (*Pipeline, error) {
	return Train(context.Background(), benchCohort(240, 1), TrainOptions{
		CrossFitFolds: 1, MaxEpisodes: 8, Seed: 1, Workers: 1,
	})
})

func pipelineOrSkip(b *testing.B) (*Pipeline, *cohort.Cohort) {
	b.Helper()
	p, err := benchPipeline()
	if err != nil {
		b.Fatal(err)
	}
	return p, benchCohort(240, 1)
}

func reportMS(b *testing.B, d time.Duration, unit string) {
	b.ReportMetric(float64(d.Microseconds())/1000/float64(b.N), unit)
}

// BenchmarkPipelineEpisode is one training episode of the default pipeline
// (embedded word vectors, case responder, BERTScore reward), broken down
// into its parts.
func BenchmarkPipelineEpisode(b *testing.B) {
	p, c := pipelineOrSkip(b)
	ctx := context.Background()
	pt := &c.Patients[0]
	visits, s0 := pt.Matrix(), p.cases[0].Prompt
	rng := rand.New(rand.NewPCG(2, 3))
	var enc, text, pol, resp, rew time.Duration
	b.ResetTimer()
	for b.Loop() {
		t := time.Now()
		x, err := p.patient.Forward(visits, true)
		if err != nil {
			b.Fatal(err)
		}
		enc += time.Since(t)
		ep, err := policy.Run(ctx, p.policy, p.text, s0, x, policy.Options{Steps: p.steps, Train: true}, rng)
		if err != nil {
			b.Fatal(err)
		}
		text += ep.EncodeTime
		pol += ep.PolicyTime
		t = time.Now()
		r, err := p.respond(ctx, ep.Final, []string{pt.ID})
		if err != nil {
			b.Fatal(err)
		}
		answer := r.Text
		resp += time.Since(t)
		t = time.Now()
		if _, err := p.scorer.Score(ctx, []string{answer}, [][]string{{pt.Response}}); err != nil {
			b.Fatal(err)
		}
		rew += time.Since(t)
	}
	reportMS(b, enc, "patient-encoder-ms")
	reportMS(b, text, "text-encoder-ms")
	reportMS(b, pol, "policy-ms")
	reportMS(b, resp, "responder-ms")
	reportMS(b, rew, "reward-ms")
}

// BenchmarkPipelineTrainStep is one REINFORCE step: a mini-batch of 8
// episodes on 2 workers, back-propagation and the Adam update.
func BenchmarkPipelineTrainStep(b *testing.B) {
	p, c := pipelineOrSkip(b)
	ctx := context.Background()
	train, _, _ := c.Split(cohort.DefaultSplit())
	series := make([][][]float64, len(train))
	for i, pt := range train {
		series[i] = pt.Matrix()
	}
	cases := &trainingCases{p: p, rows: subset(len(train), 8, 1), series: series}
	var mu sync.Mutex
	var resp, score time.Duration
	rewardFn := func(ctx context.Context, i int, final string) (float64, error) {
		row := cases.rows[i]
		t := time.Now()
		r, err := p.respond(ctx, final, []string{p.cases[row].ID})
		if err != nil {
			return 0, err
		}
		answer := r.Text
		t1 := time.Now()
		s, err := p.scorer.Score(ctx, []string{answer}, [][]string{{p.cases[row].Reply}})
		if err != nil {
			return 0, err
		}
		mu.Lock()
		resp += t1.Sub(t)
		score += time.Since(t1)
		mu.Unlock()
		// A fixed r̂0 score stands in for the cached one: only the cost counts.
		return s.Pairs[0].F - 0.85, nil
	}
	var total policy.Timing
	b.ResetTimer()
	for b.Loop() {
		tr, err := policy.NewTrainer(policy.TrainerConfig{
			Policy: p.policy, Text: p.text, Cases: cases, Reward: rewardFn,
			EncoderParams: policy.ParamsOf(p.patient), BatchSize: 8, Workers: 2, Steps: p.steps,
			OnBatch: func(pr policy.Progress) { total.Add(pr.Timing) },
		})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tr.Train(ctx); err != nil {
			b.Fatal(err)
		}
	}
	reportMS(b, total.Patient, "patient-encoder-ms")
	reportMS(b, total.Encode, "text-encoder-ms")
	reportMS(b, total.Policy, "policy-ms")
	reportMS(b, resp, "responder-ms")
	reportMS(b, score, "reward-ms")
	reportMS(b, total.Backward, "backward-ms")
	reportMS(b, total.Update, "adam-ms")
}

// BenchmarkPipelineRespond is one inference (Pipeline.Respond without the
// coarse answer), broken down into its parts.
func BenchmarkPipelineRespond(b *testing.B) {
	p, c := pipelineOrSkip(b)
	ctx := context.Background()
	visits := c.Patients[len(c.Patients)-1].Matrix()
	var pred, prm, pol, resp time.Duration
	b.ResetTimer()
	for b.Loop() {
		t := time.Now()
		pr, err := p.builder.predictor.Predict(ctx, visits)
		if err != nil {
			b.Fatal(err)
		}
		pred += time.Since(t)
		t = time.Now()
		s0, err := p.builder.BuildWithLabel(ctx, visits, p.builder.labels[max(pr.Label, 0)], nil)
		if err != nil {
			b.Fatal(err)
		}
		xp, err := p.patientNode(visits)
		if err != nil {
			b.Fatal(err)
		}
		prm += time.Since(t)
		t = time.Now()
		res, err := policy.Refine(ctx, p.policy, p.text, s0.Prompt, xp, p.steps)
		if err != nil {
			b.Fatal(err)
		}
		pol += time.Since(t)
		t = time.Now()
		if _, err := p.responder.Respond(ctx, res.Final); err != nil {
			b.Fatal(err)
		}
		resp += time.Since(t)
	}
	reportMS(b, pred, "predictor-ms")
	reportMS(b, prm, "encoder+recommender+prompt-ms")
	reportMS(b, pol, "policy-ms")
	reportMS(b, resp, "responder-ms")
}
