package pmlm

import (
	"context"
	"fmt"

	"github.com/pmlm-go/pmlm/reward"
)

// BLEUStats are the statistics sacrebleu's corpus BLEU sums over
// sentences: clipped n-gram matches and hypothesis n-grams per order
// (BLEU-4: four of each) and the hypothesis and reference lengths. The
// corpus BLEU of any set of responses is computed from their sums
// (AggregateScores), which is what a bootstrap over patients needs.
type BLEUStats struct {
	Counts []int `json:"c"`
	Totals []int `json:"t"`
	SysLen int   `json:"s"`
	RefLen int   `json:"r"`
}

// Add adds times × o to s (a patient drawn times times by a bootstrap).
func (s *BLEUStats) Add(o BLEUStats, times int) {
	if s.Counts == nil {
		s.Counts, s.Totals = make([]int, len(o.Counts)), make([]int, len(o.Totals))
	}
	for i := range o.Counts {
		s.Counts[i] += times * o.Counts[i]
		s.Totals[i] += times * o.Totals[i]
	}
	s.SysLen += times * o.SysLen
	s.RefLen += times * o.RefLen
}

// BLEU returns the corpus BLEU-4 (0–100) of the summed statistics with
// the evaluation's settings (sacrebleu defaults: 13a, exponential
// smoothing).
func (s BLEUStats) BLEU() float64 {
	if len(s.Counts) == 0 {
		return 0
	}
	return reward.ComputeBLEU(s.Counts, s.Totals, s.SysLen, s.RefLen, reward.SmoothExp, 0, false).Score
}

// PatientScore is one response's scores against the doctor's reply, on a
// 0–100 scale: ROUGE F-measures and BERTScore of the sentence, and the
// BLEU statistics the corpus BLEU of a set of responses is summed from.
type PatientScore struct {
	ROUGE1, ROUGE2, ROUGEL             float64
	BERTScoreP, BERTScoreR, BERTScoreF float64
	BLEU                               BLEUStats
}

// AggregateScores returns the evaluation's scores of a set of responses
// from their per-patient scores: corpus BLEU-4 over the summed
// statistics, the mean of every other score.
func AggregateScores(each []PatientScore) Scores {
	var m Scores
	if len(each) == 0 {
		return m
	}
	var bleu BLEUStats
	for _, s := range each {
		bleu.Add(s.BLEU, 1)
		m.ROUGE1 += s.ROUGE1
		m.ROUGE2 += s.ROUGE2
		m.ROUGEL += s.ROUGEL
		m.BERTScoreP += s.BERTScoreP
		m.BERTScoreR += s.BERTScoreR
		m.BERTScoreF += s.BERTScoreF
	}
	n := float64(len(each))
	m.BLEU4 = bleu.BLEU()
	m.ROUGE1, m.ROUGE2, m.ROUGEL = m.ROUGE1/n, m.ROUGE2/n, m.ROUGEL/n
	m.BERTScoreP, m.BERTScoreR, m.BERTScoreF = m.BERTScoreP/n, m.BERTScoreR/n, m.BERTScoreF/n
	return m
}

// ScoreEach scores every response cands[i] against the doctor's reply
// refs[i] with the evaluation's measures (Evaluate's), BERTScore over the
// pipeline's text encoder.
func (p *Pipeline) ScoreEach(ctx context.Context, cands, refs []string) ([]PatientScore, error) {
	if len(cands) != len(refs) {
		return nil, fmt.Errorf("%w: %d responses for %d references", ErrOptions, len(cands), len(refs))
	}
	bleu, err := reward.NewBLEU(reward.BLEUOptions{})
	if err != nil {
		return nil, err
	}
	rouge, err := reward.NewROUGE([]string{reward.ROUGE1, reward.ROUGE2, reward.ROUGEL}, false)
	if err != nil {
		return nil, err
	}
	out := make([]PatientScore, len(cands))
	rr := make([][]string, len(refs))
	for i := range cands {
		b, err := bleu.Sentence(cands[i], []string{refs[i]})
		if err != nil {
			return nil, fmt.Errorf("pmlm: BLEU of response %d: %w", i, err)
		}
		out[i].BLEU = BLEUStats{Counts: b.Counts, Totals: b.Totals, SysLen: b.SysLen, RefLen: b.RefLen}
		s := rouge.Score(refs[i], cands[i])
		out[i].ROUGE1 = 100 * s[reward.ROUGE1].FMeasure
		out[i].ROUGE2 = 100 * s[reward.ROUGE2].FMeasure
		out[i].ROUGEL = 100 * s[reward.ROUGEL].FMeasure
		rr[i] = []string{refs[i]}
	}
	if len(cands) == 0 {
		return out, nil
	}
	bs, err := p.scorer.Score(ctx, cands, rr)
	if err != nil {
		return nil, fmt.Errorf("pmlm: BERTScore: %w", err)
	}
	for i, s := range bs.Pairs {
		out[i].BERTScoreP, out[i].BERTScoreR, out[i].BERTScoreF = 100*s.P, 100*s.R, 100*s.F
	}
	return out, nil
}
