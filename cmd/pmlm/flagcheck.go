package main

import (
	"flag"
	"fmt"
	"strconv"
)

// flagMinimum is the smallest value a numeric flag accepts, by flag name;
// flagMinimumOf overrides it for one command. checkFlagRanges applies
// them to the flags given on the command line (defaults are in range by
// construction), so an out-of-range value is refused before any work, with
// the flag named, instead of being replaced by a default or failing late.
var flagMinimum = map[string]float64{
	"k": 1, "n": 1, "steps": 1, "batch": 1, "workers": 1, "jobs": 1, "train-workers": 1,
	"seeds": 1, "patients": 1, "epochs": 1, "episodes": 0, "validation": 0,
	"max-visits": 1, "features": 1, "probes": 0, "max-listed": 0, "attempts": 1, "beam": 1,
	"max-tokens": 0, "temperature": 0, "dim": 1, "layers": 1, "heads": 1, "hidden": 1,
	"lab-per-indicator": 0, "checkpoint-every": 0, "predictor-epochs": 0, "lr": 0, "layer": 0,
	"seed": 0, "timeout": 0, "bayes-replies": 1, "bayes-seed": 0,
}

// flagMinimumOf holds the commands whose flag of that name means "the
// default" at 0.
var flagMinimumOf = map[string]map[string]float64{
	"lm":            {"epochs": 0, "workers": 0},
	"predict-study": {"epochs": 0},
	"prompt":        {"features": 0},
}

// checkFlagRanges refuses a numeric flag set below its minimum, or set to
// NaN or an infinity.
func checkFlagRanges(cmd string, fs *flag.FlagSet) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		if err != nil {
			return
		}
		min, ok := flagMinimumOf[cmd][f.Name]
		if !ok {
			min, ok = flagMinimum[f.Name]
		}
		if !ok {
			return
		}
		v, perr := strconv.ParseFloat(f.Value.String(), 64)
		if perr != nil {
			return // not numeric (a duration or a name): its own parser checks it
		}
		if v != v || v > 1e300 || v < -1e300 {
			err = fmt.Errorf("%w: --%s %s: want a finite number", errUsage, f.Name, f.Value)
			return
		}
		if v < min {
			err = fmt.Errorf("%w: --%s %s: must be at least %v", errUsage, f.Name, f.Value, min)
		}
	})
	return err
}
