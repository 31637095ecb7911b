package experiment

import (
	"context"
	"fmt"
	"strings"

	"github.com/pmlm-go/pmlm/pmlm"
)

// Refine asks whether refinement earns its keep with the default
// responder: the coarse and refined prompts and the two controls (random
// deletions, x̂ = 0), their paired differences with intervals, and in the
// notes what the REINFORCE trainer did in each seed's epochs — the
// rewards' mean and spread, the share of episodes whose deletions changed
// the answer, the policy's entropy and the validation gain. Beside the
// policy it reports refinement by minimum Bayes risk (pmlm.BayesRefiner,
// beyond the paper) against the coarse and the refined prompts. Each of
// Config.Refinements adds its refined prompt with its differences to its
// own coarse prompt and to the full method's refined one; they share the
// seeds' predictor fits.
func (r *Runner) Refine(ctx context.Context) (*Table, error) {
	t := &Table{Name: "refine", Title: "Refinement against the coarse prompt and the controls (" + r.def + ")",
		LabelColumns: []string{"prompt"}, ValueColumns: metricColumns}
	full := func(*variant) {}
	each := map[string][][]pmlm.PatientScore{}
	for _, pr := range []string{promptCoarse, promptRefined, promptRandom, promptZero, promptBayes, promptBayesPrior} {
		e, err := r.eachSeed(ctx, full, pr)
		if err != nil {
			return nil, err
		}
		each[pr] = e
		label := pr
		if pr != promptCoarse && pr != promptRefined {
			label = controlLabel(pr)
		}
		t.Rows = append(t.Rows, meanRow([]string{label}, e))
	}
	for _, d := range [][2]string{{promptRefined, promptCoarse}, {promptRefined, promptRandom}, {promptRefined, promptZero},
		{promptBayes, promptCoarse}, {promptBayes, promptRefined}, {promptBayes, promptBayesPrior}} {
		row, err := r.diffRow([]string{d[0] + " − " + d[1]}, each[d[0]], each[d[1]])
		if err != nil {
			return nil, err
		}
		t.Rows = append(t.Rows, row)
	}
	tr := r.cfg.Train
	t.Notes = []string{r.note(), r.diffNote(),
		"Training of the full method: " + refinementSettings(tr) + ". " +
			"Per seed below: each epoch's training episodes (reward = BERTScore-F1 gain of the episode's prompt over the coarse one, on 0–1; " +
			"\"changed the answer\": a non-zero reward; entropy relative to a uniform choice) and the gain of greedy refinement on the validation patients (0–100)."}
	notes, err := r.trainingNotes(ctx, "full method", func(*variant) {})
	if err != nil {
		return nil, err
	}
	t.Notes = append(t.Notes, notes...)
	for i, f := range r.cfg.Refinements {
		of := func(v *variant) { v.refinement = i + 1 }
		coarse, err := r.eachSeed(ctx, of, promptCoarse)
		if err != nil {
			return nil, err
		}
		refined, err := r.eachSeed(ctx, of, promptRefined)
		if err != nil {
			return nil, err
		}
		name := "refined [" + f.Name + "]"
		t.Rows = append(t.Rows, meanRow([]string{name}, refined))
		for _, d := range []struct {
			label string
			b     [][]pmlm.PatientScore
		}{{name + " − its coarse", coarse}, {name + " − refined", each[promptRefined]}} {
			row, err := r.diffRow([]string{d.label}, refined, d.b)
			if err != nil {
				return nil, err
			}
			t.Rows = append(t.Rows, row)
		}
		t.Notes = append(t.Notes, fmt.Sprintf("Variant %q: %s.", f.Name, refinementSettings(f.apply(tr))))
		notes, err := r.trainingNotes(ctx, f.Name, of)
		if err != nil {
			return nil, err
		}
		t.Notes = append(t.Notes, notes...)
	}
	return t, nil
}

// refinementSettings describes the REINFORCE settings of o.
func refinementSettings(o pmlm.TrainOptions) string {
	return fmt.Sprintf("actions %s, baseline decay %g, entropy bonus %g, warm-started encoder %v, %d epoch(s) of %s, learning rate %s",
		orDefault(o.Actions, pmlm.ActionsDelete), o.BaselineDecay, o.EntropyBonus, o.WarmStart,
		max(o.Epochs, pmlm.DefaultEpochs), countOrAllEpisodes(o.MaxEpisodes), learningRate(o.LearningRate))
}

// trainingNotes reports, per seed, what the trainer of the variant derived
// from the full method by change did.
func (r *Runner) trainingNotes(ctx context.Context, name string, change func(*variant)) ([]string, error) {
	var notes []string
	for _, s := range r.cfg.Seeds {
		v := r.full(s)
		change(&v)
		o, err := r.evaluate(ctx, v)
		if err != nil {
			return nil, err
		}
		if o.Training == nil {
			notes = append(notes, fmt.Sprintf("%s, seed %d: the trainer's statistics were not recorded (a run saved by an older version).", name, s))
			continue
		}
		var lines []string
		for i, e := range o.Training.Epochs {
			line := fmt.Sprintf("epoch %d: %s", i+1, e)
			if i < len(o.Training.ValidationScore) {
				line += fmt.Sprintf("; validation gain %+.2f BERTScore-%s", 100*o.Training.ValidationScore[i],
					orDefault(r.cfg.Train.RewardComponent, pmlm.DefaultRewardComponent))
			}
			lines = append(lines, line)
		}
		if o.Training.OraclePatients > 0 {
			lines = append(lines, fmt.Sprintf("the oracle's gain on the same %d validation patients: %+.2f",
				o.Training.OraclePatients, 100*o.Training.OracleGain))
		}
		if o.Training.BestEpoch > 0 {
			lines = append(lines, fmt.Sprintf("kept epoch %d", o.Training.BestEpoch))
		}
		notes = append(notes, fmt.Sprintf("%s, seed %d: %s.", name, s, strings.Join(lines, "; ")))
	}
	return notes, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func countOrAllEpisodes(n int) string {
	if n <= 0 {
		return "all training patients"
	}
	return fmt.Sprintf("%d training patients", n)
}

func learningRate(lr float64) string {
	if lr == 0 {
		lr = pmlm.DefaultLearningRate
	}
	return fmt.Sprintf("%g", lr)
}
