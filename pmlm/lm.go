package pmlm

import (
	"context"
	"fmt"
	"math"
	"regexp"

	"github.com/pmlm-go/pmlm/llm/lm"
	"github.com/pmlm-go/pmlm/llm/lm/corpus"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/prompt"
)

// The two kinds of offline generative responder TrainLM builds.
const (
	// LMGeneral is the general responder, the role GPT-4 plays in the
	// paper: trained on the corpus of package llm/lm/corpus (diagnosis
	// statements, single and differential, paired with training patients'
	// replies, and general statements about lab values); it never sees
	// PMLM's prompt template.
	LMGeneral = "general"
	// LMFinetune is the paper's table-2 baseline, a lightweight model
	// fine-tuned on the training split: input the patient's lab history
	// in the evaluation prompt (FinetunePrompt), output the doctor's reply.
	// It reads raw lab values: it is a local model.
	LMFinetune = "finetune"
)

// Defaults of LMOptions. The general corpus has about five pairs per
// training patient, the fine-tuning data one, hence the epochs.
const (
	DefaultLMEpochs          = 2
	DefaultFinetuneEpochs    = 6
	DefaultLMValidation      = 300
	DefaultFinetuneMaxPrompt = 256 // the brief history of the key indicators takes about 200 tokens
)

// LMOptions configure TrainLM. Zero fields take the documented defaults.
type LMOptions struct {
	// Mode is LMGeneral (default) or LMFinetune.
	Mode string
	// Seed seeds the corpus, the initial weights and the example order.
	Seed uint64
	// Epochs is the number of passes over the training pairs (default
	// DefaultLMEpochs, DefaultFinetuneEpochs for LMFinetune).
	Epochs int
	// Config is the model's shape (default lm.DefaultConfig(), with
	// MaxPrompt DefaultFinetuneMaxPrompt for LMFinetune).
	Config lm.Config
	// Corpus configures the general corpus; its Seed is Seed. Nil
	// Signatures mean the obstetric lab signatures whose indicators the
	// cohort has.
	Corpus corpus.Options
	// Validation is the number of validation pairs scored after each
	// epoch (default DefaultLMValidation; negative: none).
	Validation int
	// Split chooses the training and validation patients (zero: the
	// default split).
	Split cohort.SplitBoundaries
	// MaskNumbers replaces every number in the patients' replies by
	// NumberMask before training (MaskNumbers), so that the model cannot
	// write a training patient's values, weights, dates or scores; it is
	// recorded in the model's lm.Info.MaskedNumbers. The model's answers
	// then carry the mask where a reply would carry a number.
	MaskNumbers bool
	// Train holds the optimizer settings, workers, progress and
	// checkpoints; its Seed, Epochs and Validation are set from the fields
	// above.
	Train lm.TrainOptions
}

// NumberMask is what MaskNumbers writes in place of a number.
const NumberMask = "#"

// number matches a number as the synthetic and clinical replies write
// them: digits with decimal points, commas and the "+" of gestational
// ages (38+6), and a leading sign.
var number = regexp.MustCompile(`[-+]?\d+(?:[.,+]\d+)*`)

// MaskNumbers returns text with every number replaced by NumberMask.
func MaskNumbers(text string) string { return number.ReplaceAllLiteralString(text, NumberMask) }

// maskedReplies returns copies of the patients whose replies have their
// numbers masked.
func maskedReplies(ps []*cohort.Patient) []*cohort.Patient {
	out := make([]*cohort.Patient, len(ps))
	for i, p := range ps {
		q := *p
		q.Response = MaskNumbers(p.Response)
		out[i] = &q
	}
	return out
}

// DefaultLMShape returns the configuration and the number of epochs
// TrainLM uses for an LM of the mode (LMGeneral or LMFinetune) when
// LMOptions leaves them zero.
func DefaultLMShape(mode string) (lm.Config, int) {
	cfg := lm.DefaultConfig()
	if mode == LMFinetune {
		cfg.MaxPrompt = DefaultFinetuneMaxPrompt
		return cfg, DefaultFinetuneEpochs
	}
	return cfg, DefaultLMEpochs
}

func (o LMOptions) resolved() (LMOptions, error) {
	if o.Mode == "" {
		o.Mode = LMGeneral
	}
	if o.Mode != LMGeneral && o.Mode != LMFinetune {
		return o, fmt.Errorf("%w: LM mode %q (want %q or %q)", ErrOptions, o.Mode, LMGeneral, LMFinetune)
	}
	if o.Epochs < 0 {
		return o, fmt.Errorf("%w: LM epochs %d", ErrOptions, o.Epochs)
	}
	cfg, epochs := DefaultLMShape(o.Mode)
	if o.Epochs == 0 {
		o.Epochs = epochs
	}
	if o.Config == (lm.Config{}) {
		o.Config = cfg
	}
	if o.Validation == 0 {
		o.Validation = DefaultLMValidation
	}
	if o.Split == (cohort.SplitBoundaries{}) {
		o.Split = cohort.DefaultSplit()
	}
	return o, nil
}

// TrainLM trains an offline generative responder on the cohort: the
// general responder or the fine-tuned baseline (LMOptions.Mode). Wrap the
// model with llm.NewGenerative to answer prompts; save it with Save. The
// model can reproduce training replies, numbers included: it is patient
// data.
func TrainLM(ctx context.Context, c *cohort.Cohort, opt LMOptions) (*lm.Model, lm.Info, lm.Report, error) {
	opt, err := opt.resolved()
	if err != nil {
		return nil, lm.Info{}, lm.Report{}, err
	}
	train, val, err := LMExamples(c, opt)
	if err != nil {
		return nil, lm.Info{}, lm.Report{}, err
	}
	texts := make([]string, 0, 2*len(train))
	for _, e := range train {
		texts = append(texts, e.Prompt, e.Reply)
	}
	vocab, err := lm.NewVocabulary(texts, 2)
	if err != nil {
		return nil, lm.Info{}, lm.Report{}, fmt.Errorf("pmlm: language model: %w", err)
	}
	m, err := lm.New(opt.Config, vocab, opt.Seed)
	if err != nil {
		return nil, lm.Info{}, lm.Report{}, fmt.Errorf("pmlm: language model: %w", err)
	}
	to := opt.Train
	to.Seed, to.Epochs, to.Validation = opt.Seed, opt.Epochs, val
	rep, err := lm.Train(ctx, m, train, to)
	if err != nil {
		return nil, lm.Info{}, rep, fmt.Errorf("pmlm: language model: %w", err)
	}
	info := lm.Info{Mode: opt.Mode, Seed: opt.Seed, Epochs: opt.Epochs, Examples: len(train), DataDigest: c.Digest(),
		Split: opt.Split.String(), MaskedNumbers: opt.MaskNumbers}
	if n := len(rep.ValidationPerplexity); n > 0 && !math.IsNaN(rep.ValidationPerplexity[n-1]) {
		info.ValidationPerplexity = rep.ValidationPerplexity[n-1]
	}
	m.SetInfo(info)
	return m, info, rep, nil
}

// LMExamples returns TrainLM's training pairs and validation pairs (at
// most opt.Validation, spread evenly over the validation split's pairs;
// the general corpus of the validation split uses the next seed, so its
// inputs differ too).
func LMExamples(c *cohort.Cohort, opt LMOptions) (train, val []lm.Example, err error) {
	if c == nil {
		return nil, nil, fmt.Errorf("%w: nil cohort", ErrOptions)
	}
	if opt, err = opt.resolved(); err != nil {
		return nil, nil, err
	}
	trainP, valP, _ := c.Split(opt.Split)
	if len(trainP) == 0 {
		return nil, nil, fmt.Errorf("pmlm: language model: the training split is empty")
	}
	build := func(ps []*cohort.Patient, seed uint64) ([]lm.Example, error) {
		if opt.MaskNumbers {
			ps = maskedReplies(ps)
		}
		if opt.Mode == LMFinetune {
			return finetuneExamples(c, ps)
		}
		co := opt.Corpus
		co.Seed = seed
		pairs, err := GeneralCorpus(c, ps, co)
		if err != nil {
			return nil, err
		}
		out := make([]lm.Example, len(pairs))
		for i, p := range pairs {
			out[i] = lm.Example{Prompt: p.Input, Reply: p.Output}
		}
		return out, nil
	}
	if train, err = build(trainP, opt.Seed); err != nil {
		return nil, nil, err
	}
	if opt.Validation > 0 && len(valP) > 0 {
		if val, err = build(valP, opt.Seed+1); err != nil {
			return nil, nil, fmt.Errorf("validation: %w", err)
		}
		if len(val) > opt.Validation {
			picked := make([]lm.Example, opt.Validation)
			for i := range picked {
				picked[i] = val[i*len(val)/opt.Validation]
			}
			val = picked
		}
	}
	return train, val, nil
}

// CorpusInputs returns what the general corpus is built from: the
// patients' diagnoses and replies (no identifier, no value), and the
// cohort's metric catalogue completed with the obstetric reference
// intervals.
func CorpusInputs(c *cohort.Cohort, patients []*cohort.Patient) ([]corpus.Case, []corpus.Indicator) {
	cases := make([]corpus.Case, len(patients))
	for i, p := range patients {
		cases[i] = corpus.Case{Label: p.Label, Reply: p.Response}
	}
	catalogue := make([]corpus.Indicator, len(c.Metrics))
	for i, m := range c.Metrics {
		catalogue[i] = corpus.Indicator{Name: m.Name, Description: m.Description, Unit: m.Unit, Min: m.Min, Max: m.Max}
	}
	return cases, corpus.WithKnowledge(catalogue, corpus.ObstetricIndicators())
}

// GeneralCorpus builds the general responder's corpus from the patients.
// Nil opt.Signatures mean the obstetric lab signatures whose indicators
// the cohort's catalogue has.
func GeneralCorpus(c *cohort.Cohort, patients []*cohort.Patient, opt corpus.Options) ([]corpus.Pair, error) {
	cases, inds := CorpusInputs(c, patients)
	if opt.Signatures == nil {
		have := map[string]bool{}
		for _, m := range c.Metrics {
			have[m.Name] = true
		}
	next:
		for _, s := range corpus.ObstetricSignatures() {
			if len(s.Signs) == 0 && c.LabelIndex(s.Condition) < 0 {
				continue
			}
			for _, sg := range s.Signs {
				if !have[sg.Name] {
					continue next
				}
			}
			opt.Signatures = append(opt.Signatures, s)
		}
	}
	pairs, err := corpus.Build(cases, c.Labels, inds, opt)
	if err != nil {
		return nil, fmt.Errorf("pmlm: general corpus: %w", err)
	}
	return pairs, nil
}

// FinetuneHistory is the fine-tuned baseline's text form of a lab
// history: the brief lines of the key obstetric indicators the catalogue
// has (every indicator, briefly, for a catalogue with fewer than three).
func FinetuneHistory(metrics []cohort.Metric) prompt.HistoryOptions {
	have := map[string]bool{}
	for _, m := range metrics {
		have[m.Name] = true
	}
	var only []string
	for _, name := range KeyObstetricIndicators() {
		if have[name] {
			only = append(only, name)
		}
	}
	if len(only) < 3 {
		only = nil
	}
	return prompt.HistoryOptions{Only: only, Brief: true}
}

// FinetunePrompt is the fine-tuned baseline's input for a patient: the
// evaluation prompt over FinetuneHistory. It carries raw lab values.
func FinetunePrompt(metrics []cohort.Metric, p *cohort.Patient) (string, error) {
	return GeneralPrompt(metrics, p, FinetuneHistory(metrics))
}

func finetuneExamples(c *cohort.Cohort, ps []*cohort.Patient) ([]lm.Example, error) {
	out := make([]lm.Example, len(ps))
	for i, p := range ps {
		g, err := FinetunePrompt(c.Metrics, p)
		if err != nil {
			return nil, fmt.Errorf("patient %s: %w", p.ID, err)
		}
		out[i] = lm.Example{Prompt: g, Reply: p.Response}
	}
	return out, nil
}
