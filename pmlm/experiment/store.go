package experiment

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pmlm-go/pmlm/internal/atomicfile"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

// The prompts whose answers an outcome scores (its Each keys).
const (
	// promptTask is the task alone, without patient information
	// (prompt.TaskOnly).
	promptTask = "task only"
	// promptGeneral is the paper's evaluation prompt (figure 5): the task
	// and the lab history.
	promptGeneral = "general"
	// promptCoarse and promptRefined are PMLM's prompts without and with
	// refinement.
	promptCoarse  = "coarse"
	promptRefined = "refined"
	// promptRandom and promptZero are the controls: as many words deleted
	// at random, and the trained policy with x̂ = 0.
	promptRandom = "random deletions"
	promptZero   = "refined, x̂ = 0"
	// promptBayes is refinement by minimum Bayes risk instead of the
	// policy (pmlm.BayesRefiner; beyond the paper).
	promptBayes = "refined (Bayes)"
	// promptBayesPrior is its control: the same choice with the
	// training split's label frequencies as every patient's belief.
	promptBayesPrior = "refined (Bayes), prior belief"
	// promptFinetuned is the fine-tuned LM's answer to its general prompt
	// (table 2).
	promptFinetuned = "fine-tuned"
)

// outcome is what the tables and figures take from one trained and
// evaluated configuration, and all a saved run holds: no prompt, response
// or patient identifier is kept.
type outcome struct {
	Patients int
	// Each holds, per prompt (the prompt constants), the scores of every
	// test patient's answer, indexed by the patient's position in the test
	// split.
	Each map[string][]pmlm.PatientScore
	// Deletions are the step and the coarse-prompt position of every word
	// the policy deleted on the test split, for figure 6.
	Deletions []deletion
	// Seconds is the wall time of training and evaluation.
	Seconds float64
	// Training is what the REINFORCE trainer did, per epoch (absent from
	// runs saved before it was recorded).
	Training *pmlm.TrainingReport `json:",omitempty"`
}

type deletion struct{ Step, Index int }

// scores returns the aggregated scores of a prompt's answers.
func (o *outcome) scores(prompt string) pmlm.Scores { return pmlm.AggregateScores(o.Each[prompt]) }

// savedRunFormat is the version of the saved-run files; a file of another
// version is not reused. Version 1 held aggregated scores only; version 2
// holds every test patient's scores per prompt.
const savedRunFormat = 2

// savedRun is the JSON file of one finished run in Config.RunsDir.
type savedRun struct {
	Format int
	// Settings describe everything the result depends on besides Run: the
	// cohort's digest, the split, the training or study options.
	Settings string
	// Run names the configuration (a variant, or a seed of the predictor
	// study).
	Run     string
	Outcome *outcome         `json:",omitempty"`
	Study   []PredictorScore `json:",omitempty"`
}

// took is the time the run took when it was made: training and
// evaluation, or the predictor study's fitting times.
func (sr *savedRun) took() time.Duration {
	if sr.Outcome != nil {
		return time.Duration(sr.Outcome.Seconds * float64(time.Second))
	}
	var d time.Duration
	for _, p := range sr.Study {
		d += p.Fit
	}
	return d
}

// runStore saves finished runs as files named after their run and a hash
// of run and settings, so that a rerun with other settings never reads
// them.
type runStore struct {
	dir   string
	fresh bool // save, but do not load
}

func (s runStore) path(settings, run string) string {
	sum := sha256.Sum256([]byte(settings + "\x00" + run))
	// The file is named after the run's first part (the variant; what
	// follows ";" are identities) and a hash of everything.
	name, _, _ := strings.Cut(run, ";")
	if len(name) > 100 {
		name = name[:100]
	}
	slug := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, name)
	return filepath.Join(s.dir, slug+"-"+hex.EncodeToString(sum[:6])+".json")
}

// load returns the saved run of these settings, or nil if there is none.
// A file that exists but does not hold this run is an error, which the
// runner reports and then trains the run again.
func (s runStore) load(settings, run string) (*savedRun, error) {
	if s.dir == "" || s.fresh {
		return nil, nil
	}
	path := s.path(settings, run)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var sr savedRun
	if err := json.Unmarshal(b, &sr); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if sr.Format != savedRunFormat {
		return nil, fmt.Errorf("%s: saved in format %d, this version reads format %d (running it again)", path, sr.Format, savedRunFormat)
	}
	if sr.Settings != settings || sr.Run != run {
		return nil, fmt.Errorf("%s: saved for other settings", path)
	}
	if o := sr.Outcome; o != nil {
		for prompt, each := range o.Each {
			if len(each) != o.Patients {
				return nil, fmt.Errorf("%s: %d scores of %q for %d patients", path, len(each), prompt, o.Patients)
			}
		}
	}
	if sr.Outcome == nil && sr.Study == nil {
		return nil, fmt.Errorf("%s: holds no result", path)
	}
	return &sr, nil
}

// save writes the run atomically: a crash leaves the old file or none.
func (s runStore) save(sr *savedRun) error {
	if s.dir == "" {
		return nil
	}
	sr.Format = savedRunFormat
	b, err := json.Marshal(sr) // compact: a run holds thousands of scores
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	return atomicfile.Write(s.path(sr.Settings, sr.Run), 0o644, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// trainerVersion numbers the versions of the training code whose results
// differ for the same settings, so that runs saved by an earlier version are
// made again rather than reused. 2: the policy trains through its tape
// (policy/tape.go; bitwise reproducible, other rounding than spago's graph).
const trainerVersion = 2

// settingsOf describes what every result of a Runner depends on besides
// the run itself: for trainings the cohort, test split and training
// options; for the predictor study the cohort, split and predictors.
// Custom parts are known by their type (text encoder) or only as custom
// (the factories).
func settingsOf(c *cohort.Cohort, testPatients int, cfg Config) (train, study string, err error) {
	opts := cfg.Train
	text, pred := "default", "default ("+pmlm.DefaultPredictor+")"
	if opts.Text != nil {
		// The encoder's Name tells layers and models apart, which its
		// type does not.
		text = fmt.Sprintf("%T %s", opts.Text, opts.Text.Name())
	}
	if opts.NewPredictor != nil || opts.NewEncoder != nil || opts.NewRecommender != nil || opts.NewPolicy != nil {
		pred = "custom parts" // factories have no name; plug-in runs are never reused blindly
	}
	opts.Text, opts.Responder, opts.Fitted, opts.Progress = nil, nil, nil, nil
	digest := c.Digest()
	trainJSON, err := nonZeroJSON(opts)
	if err != nil {
		return "", "", err
	}
	tb, err := json.Marshal(struct {
		Cohort       string
		TestPatients int
		Train        json.RawMessage
		Text, Pred   string
		Trainer      int
	}{digest, testPatients, trainJSON, text, pred, trainerVersion})
	if err != nil {
		return "", "", err
	}
	sb, err := json.Marshal(struct {
		Cohort     string
		Split      cohort.SplitBoundaries
		Predictors []string
		Epochs     int
	}{digest, opts.Split, cfg.Predictors, cfg.PredictorEpochs})
	return string(tb), string(sb), err
}

// nonZeroJSON encodes v as JSON without its zero-valued fields, at any
// depth (false, 0, "", null, and objects or arrays left empty), keys
// sorted. A field added to the options later with a zero default (the
// behaviour before it existed) then leaves the settings, and so the saved
// runs, as they were.
func nonZeroJSON(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var tree any
	if err := json.Unmarshal(b, &tree); err != nil {
		return nil, err
	}
	pruned, _ := pruneZero(tree)
	return json.Marshal(pruned)
}

// pruneZero drops the zero values of a decoded JSON tree and reports
// whether what is left is itself zero.
func pruneZero(v any) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, true
	case bool:
		return x, !x
	case float64:
		return x, x == 0
	case string:
		return x, x == ""
	case []any:
		if len(x) == 0 {
			return x, true
		}
		for i, e := range x { // elements keep their places
			x[i], _ = pruneZero(e)
		}
		return x, false
	case map[string]any:
		for k, e := range x {
			p, zero := pruneZero(e)
			if zero {
				delete(x, k)
			} else {
				x[k] = p
			}
		}
		return x, len(x) == 0
	}
	return v, false
}
