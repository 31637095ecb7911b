package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/experiment"
)

// The training flags of train, demo and experiment take the library's
// defaults (pmlm.DefaultK, pmlm.DefaultSteps, pmlm.DefaultBatchSize, ...)
// except these two, which differ on purpose; their help says why.
const (
	// cliEpochs is 2, not pmlm.DefaultEpochs (1): the best epoch is
	// selected on validation patients, so a second epoch cannot make the
	// saved policy worse on them, and a command-line run can afford it.
	cliEpochs = 2
	// cliValidation is 120 validation patients, not all of them (the
	// library's 0): scoring every validation patient after each epoch
	// would double the demo's wall time for little precision.
	cliValidation = 120
)

const (
	epochsHelp     = "REINFORCE epochs (library default 1; 2 here, since validation keeps the better epoch)"
	validationHelp = "validation patients that select the best epoch (0: all; the library uses all, 120 here bounds the wall time)"
)

// refinement holds the flags of the REINFORCE variants beyond the paper,
// shared by train and experiment; their zero values are the paper's method.
type refinement struct {
	baselineDecay, entropyBonus, learningRate *float64
	actions                                   *string
	oracle                                    *bool
}

func refinementFlags(fs *flag.FlagSet) refinement {
	return refinement{
		baselineDecay: fs.Float64("baseline-decay", 0, "subtract a running mean of the rewards with this decay per mini-batch, in (0, 1) (0: none, the paper's loss)"),
		entropyBonus:  fs.Float64("entropy-bonus", 0, "add this weight times the policy's entropy to the REINFORCE objective (0: none, the paper's loss)"),
		learningRate:  fs.Float64("lr", pmlm.DefaultLearningRate, "Adam's step size for the policy and its encoder (the paper's: 0.005)"),
		oracle:        fs.Bool("oracle", false, "also measure the refinement oracle (deletes the wrong diagnoses' words, knowing the true one) on the validation patients, to read each epoch's validation gain against (a diagnostic; costs a few answers per validation patient)"),
		actions:       fs.String("actions", pmlm.ActionsDelete, "the policy's actions: delete (the paper's), replace (also replace the predicted label by a similar patient's label) or insert (also add a similar patient's label after it: \"X or Y\")"),
	}
}

func (r refinement) apply(o *pmlm.TrainOptions) {
	o.BaselineDecay, o.EntropyBonus, o.Actions, o.OracleValidation = *r.baselineDecay, *r.entropyBonus, *r.actions, *r.oracle
	o.LearningRate = *r.learningRate
}

// variantFlags collects repeated --variant NAME:KEY=VALUE,... flags into
// the refine experiment's REINFORCE variants.
type variantFlags []experiment.Refinement

func (v *variantFlags) String() string { return fmt.Sprint(len(*v), " variant(s)") }

// Set parses NAME:KEY=VALUE,... with the keys baseline-decay,
// entropy-bonus, actions, warm-start, episodes, epochs and lr.
func (v *variantFlags) Set(s string) error {
	name, settings, ok := strings.Cut(s, ":")
	if !ok || name == "" {
		return fmt.Errorf("want NAME:KEY=VALUE,..., got %q", s)
	}
	f := experiment.Refinement{Name: name}
	for _, kv := range strings.Split(settings, ",") {
		key, val, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("variant %s: want KEY=VALUE, got %q", name, kv)
		}
		var err error
		switch key {
		case "baseline-decay":
			f.BaselineDecay, err = strconv.ParseFloat(val, 64)
		case "entropy-bonus":
			f.EntropyBonus, err = strconv.ParseFloat(val, 64)
		case "actions":
			f.Actions = val
		case "warm-start":
			f.WarmStart, err = strconv.ParseBool(val)
		case "episodes":
			f.Episodes, err = strconv.Atoi(val)
		case "epochs":
			f.Epochs, err = strconv.Atoi(val)
		case "lr":
			f.LearningRate, err = strconv.ParseFloat(val, 64)
		default:
			return fmt.Errorf("variant %s: unknown setting %q (want baseline-decay, entropy-bonus, actions, warm-start, episodes, epochs or lr)", name, key)
		}
		if err != nil {
			return fmt.Errorf("variant %s: %s: %w", name, key, err)
		}
	}
	*v = append(*v, f)
	return nil
}
