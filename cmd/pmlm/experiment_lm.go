package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/pmlm-go/pmlm/llm"
	"github.com/pmlm-go/pmlm/llm/lm"
	"github.com/pmlm-go/pmlm/llm/lm/corpus"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/prompt"
)

// Names of the experiment's LM responders in tables.
const (
	generalLMName   = "general LM"
	finetunedLMName = "fine-tuned LM"
)

// lmSizes are the shapes of the LMs 'pmlm experiment' and 'pmlm train'
// train themselves (--lm-size): the modes' defaults; small, the demo's
// shape trained three passes, for the small cohort of --quick (on its 600
// patients a tiny LM answers every prompt alike, a small one names the
// prompt's diagnosis: measured in docs/experiments/quick); or tiny, which
// trains in seconds, for the tests (its answers are poor).
var lmSizes = map[string]func(mode string) pmlm.LMOptions{
	"default": func(mode string) pmlm.LMOptions {
		// The library's defaults, spelled out so that a saved LM's shape
		// can be checked against the size asked for (sizeMismatch).
		cfg, epochs := pmlm.DefaultLMShape(mode)
		return pmlm.LMOptions{Mode: mode, Epochs: epochs, Config: cfg}
	},
	"small": func(mode string) pmlm.LMOptions {
		cfg := demoLMConfig()
		epochs := 3
		if mode == pmlm.LMFinetune {
			cfg.MaxPrompt, epochs = pmlm.DefaultFinetuneMaxPrompt, pmlm.DefaultFinetuneEpochs
		}
		return pmlm.LMOptions{Mode: mode, Epochs: epochs, Config: cfg, Validation: 50, Corpus: corpus.Options{LabPerIndicator: 2}}
	},
	"tiny": func(mode string) pmlm.LMOptions {
		cfg := lm.Config{Dim: 32, Heads: 2, Layers: 1, Hidden: 64, Context: 384, MaxPrompt: lm.DefaultConfig().MaxPrompt}
		if mode == pmlm.LMFinetune {
			cfg.MaxPrompt = pmlm.DefaultFinetuneMaxPrompt
		}
		return pmlm.LMOptions{Mode: mode, Epochs: 1, Config: cfg, Validation: 20, Corpus: corpus.Options{LabPerIndicator: 2}}
	},
}

// lmSizeNames lists the values of --lm-size for usage errors.
const lmSizeNames = "default, small or tiny"

// experimentLM loads the LM of the mode from dir, or, when dir holds none
// and train is set, trains it (seed 1; resuming dir.checkpoint after an
// interruption) and saves it there. A model trained for another mode or on
// other data is refused: it may have read the test patients' replies. When
// train is set, dir is the command's own folder and the model in it must
// also be of the size asked for: a report would otherwise name one size
// and measure another.
func experimentLM(ctx context.Context, e *env, c *cohort.Cohort, split cohort.SplitBoundaries, dir, mode, size string, train bool) (*lm.Model, lm.Info, error) {
	m, info, err := checkedLM(e, c, split, dir, mode)
	if err == nil && train {
		err = sizeMismatch(dir, m.Config(), info.Epochs, mode, size)
	}
	if err == nil || !errors.Is(err, fs.ErrNotExist) || !train {
		return m, info, err
	}
	checkpoint := filepath.Clean(dir) + ".checkpoint"
	fmt.Fprintf(e.stderr, "training the %s LM (%s size, seed 1) into %s; later runs reuse it\n", mode, size, dir)
	if m, info, err = trainSizedLM(ctx, e, c, split, mode, size, checkpoint); err != nil {
		return nil, info, err
	}
	if err := m.Save(dir, info); err != nil {
		return nil, info, err
	}
	if err := os.Remove(checkpoint); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, info, err
	}
	return m, info, nil
}

// sizeMismatch tells whether a saved LM of the mode, with shape cfg trained
// for epochs passes, is not of the size asked for, naming the size it is
// when it is one of lmSizes.
func sizeMismatch(dir string, cfg lm.Config, epochs int, mode, size string) error {
	matches := func(name string) bool {
		want := lmSizes[name](mode)
		cfg.Vocab, want.Config.Vocab = 0, 0 // the vocabulary comes from the data
		return cfg == want.Config && epochs == want.Epochs
	}
	sizeOf, ok := lmSizes[size]
	if !ok {
		return fmt.Errorf("%w: --lm-size %q: want %s", errUsage, size, lmSizeNames)
	}
	if matches(size) {
		return nil
	}
	is := "none of the sizes (" + lmSizeNames + ")"
	for _, name := range slices.Sorted(maps.Keys(lmSizes)) {
		if matches(name) {
			is = "--lm-size " + name
			break
		}
	}
	want := sizeOf(mode)
	return fmt.Errorf("%s holds a %s LM of width %d, %d layer(s), %d epoch(s), which is %s; --lm-size %s wants width %d, %d layer(s), %d epoch(s): "+
		"pass the size it was trained with, name the folder with --lm (--finetuned for the fine-tuned LM) to use it as it is, or remove the folder to train one of this size", dir, mode, cfg.Dim, cfg.Layers, epochs, is, size,
		want.Config.Dim, want.Config.Layers, want.Epochs)
}

// checkedLM loads the LM in dir and refuses one trained for another mode
// or on another cohort or split. A missing dir gives an error wrapping
// fs.ErrNotExist.
func checkedLM(e *env, c *cohort.Cohort, split cohort.SplitBoundaries, dir, mode string) (*lm.Model, lm.Info, error) {
	m, info, err := lm.Load(dir)
	if err != nil {
		return nil, info, fmt.Errorf("%s LM: %w", mode, err)
	}
	if info.Mode != mode {
		return nil, info, fmt.Errorf("%s is a %q LM, want %q (pmlm lm train --mode %s)", dir, info.Mode, mode, mode)
	}
	if info.DataDigest != "" && info.DataDigest != c.Digest() {
		return nil, info, fmt.Errorf("%s was trained on another cohort (data digest %.12s, this cohort's %.12s): it may have read the test patients' replies; "+
			"train one on this cohort (remove the folder, or pass another --lm/--finetuned)", dir, info.DataDigest, c.Digest())
	}
	// Models saved before the split was recorded used the default one.
	if trained := cmp.Or(info.Split, cohort.DefaultSplit().String()); trained != split.String() {
		return nil, info, fmt.Errorf("%s was trained on the training part of the split %s (--split-train-end/--split-validation-end), this command uses %s: "+
			"it may have read the test patients' replies; train one with this split", dir, trained, split)
	}
	fmt.Fprintf(e.stderr, "%s LM: %s (%d weights, trained with seed %d, %d epoch(s) on %d pairs)\n", mode, dir, m.NumParams(), info.Seed, info.Epochs, info.Examples)
	return m, info, nil
}

// trainSizedLM trains the LM of the mode and size (lmSizes) on c with
// seed 1, with a progress bar, checkpointing to checkpoint every 100 steps
// and resuming from it when it exists.
func trainSizedLM(ctx context.Context, e *env, c *cohort.Cohort, split cohort.SplitBoundaries, mode, size, checkpoint string) (*lm.Model, lm.Info, error) {
	sizeOf, ok := lmSizes[size]
	if !ok {
		return nil, lm.Info{}, fmt.Errorf("%w: --lm-size %q: want %s", errUsage, size, lmSizeNames)
	}
	opt := sizeOf(mode)
	opt.Seed, opt.Split = 1, split
	opt.Train = lm.TrainOptions{Checkpoint: checkpoint, CheckpointEvery: 100, Resume: true,
		OnStep: func(p lm.Progress) { writeLMBar(e.stderr, p) }}
	m, info, rep, err := pmlm.TrainLM(ctx, c, opt)
	if err != nil {
		return nil, info, err
	}
	fmt.Fprintf(e.stderr, "trained the %s LM (%d weights) in %s; validation perplexity %s\n", mode, m.NumParams(), rep.Duration.Round(time.Second),
		formatPerplexities(rep.ValidationPerplexity))
	return m, info, nil
}

// generalLMHistory is the form of the lab history in the general LM's
// general prompt. The full history of 35 indicators takes about 1,260 of
// its tokens and the brief one about 580, against a MaxPrompt of 192 (the
// model keeps the first quarter and the last three quarters of a longer
// prompt): either would lose nearly every line. The key indicators' brief
// form (pmlm.FinetuneHistory, the fine-tuned LM's input) takes about 240
// tokens; the cut then drops about 45 tokens after the task, the header
// line and the first indicator's line. Haemoglobin, the indicator of
// every diagnosis, is therefore listed last, so that the line lost is
// MCV's, whose thalassemia signal MCH and RBC also carry. (Measured with
// the general LM's vocabulary on the test patients of a 600-patient
// synthetic cohort.)
func generalLMHistory(metrics []cohort.Metric) prompt.HistoryOptions {
	h := pmlm.FinetuneHistory(metrics)
	if i := slices.Index(h.Only, "HGB"); i >= 0 {
		h.Only = append(slices.Delete(slices.Clone(h.Only), i, i+1), "HGB")
	}
	return h
}

// lmResponders loads or trains the general and the fine-tuned LM and
// returns them as the experiment's responders, answering through one
// response cache (closed by the returned closer).
func lmResponders(ctx context.Context, e *env, c *cohort.Cohort, split cohort.SplitBoundaries, out, generalDir, finetunedDir, size, cachePath string) (general, finetuned *experimentResponder, closer io.Closer, err error) {
	if cachePath == "" {
		cachePath = filepath.Join(out, "lm-cache.db")
	}
	if err := os.MkdirAll(filepath.Dir(cachePath), 0o755); err != nil {
		return nil, nil, nil, err
	}
	autoGeneral, autoFinetuned := generalDir == "", finetunedDir == ""
	if autoGeneral {
		generalDir = filepath.Join(out, "lm-general")
	}
	if autoFinetuned {
		finetunedDir = filepath.Join(out, "lm-finetuned")
	}
	gm, ginfo, err := experimentLM(ctx, e, c, split, generalDir, pmlm.LMGeneral, size, autoGeneral)
	if err != nil {
		return nil, nil, nil, err
	}
	fm, finfo, err := experimentLM(ctx, e, c, split, finetunedDir, pmlm.LMFinetune, size, autoFinetuned)
	if err != nil {
		return nil, nil, nil, err
	}
	store, err := llm.OpenCache(cachePath, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	wrap := func(m *lm.Model, dir string, info lm.Info) (*experimentResponder, error) {
		g, err := llm.NewGenerative(m, lm.GenerateOptions{})
		if err != nil {
			return nil, err
		}
		return &experimentResponder{Responder: llm.Cached(g, store), dir: dir, info: info, weights: m.NumParams()}, nil
	}
	if general, err = wrap(gm, generalDir, ginfo); err == nil {
		finetuned, err = wrap(fm, finetunedDir, finfo)
	}
	if err != nil {
		store.Close()
		return nil, nil, nil, err
	}
	return general, finetuned, store, nil
}

// experimentResponder is a cached LM responder with what the report says of it.
type experimentResponder struct {
	llm.Responder
	dir     string
	info    lm.Info
	weights int
}

func (r *experimentResponder) describe() string {
	return fmt.Sprintf("%s (%d weights, seed %d, %d epoch(s) on %d pairs)", r.dir, r.weights, r.info.Seed, r.info.Epochs, r.info.Examples)
}
