package main

import (
	"flag"
	"fmt"

	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

// dataFlags are the flags of every command that reads a cohort, declared
// by addDataFlags so that each command takes the same ones: the split
// boundaries, the largest number of visits, lenient reading.
type dataFlags struct {
	split     cohort.SplitBoundaries
	maxVisits *int
	lenient   *bool
}

// addDataFlags declares the data flags on fs.
func addDataFlags(fs *flag.FlagSet) *dataFlags {
	d := &dataFlags{split: cohort.DefaultSplit()}
	d.maxVisits = fs.Int("max-visits", cohort.DefaultMaxVisits, "largest number of visits a patient may have")
	d.lenient = fs.Bool("lenient", false, "skip invalid rows (each one is reported) instead of failing")
	fs.Func("split-train-end", "last index date of the training part (default "+
		d.split.TrainEnd.Format(cohort.DateLayout)+")", dateFlag(&d.split.TrainEnd))
	fs.Func("split-validation-end", "last index date of the validation part (default "+
		d.split.ValidationEnd.Format(cohort.DateLayout)+")", dateFlag(&d.split.ValidationEnd))
	return d
}

// options returns the reader's options.
func (d *dataFlags) options() cohort.ReadOptions {
	return cohort.ReadOptions{MaxVisits: *d.maxVisits, Lenient: *d.lenient}
}

// read reads the cohort in dir with the flags, printing the reader's notes
// and warnings (and, with --lenient, the skipped rows' count) to e.stderr.
func (d *dataFlags) read(e *env, dir string) (*cohort.Cohort, error) {
	if err := d.split.Validate(); err != nil {
		return nil, fmt.Errorf("%w: --split-train-end/--split-validation-end: %w", errUsage, err)
	}
	c, rep, err := cohort.ReadDir(dir, d.options())
	if rep != nil {
		for _, n := range rep.Notes {
			fmt.Fprintf(e.stderr, "note: %s\n", n)
		}
		for _, w := range rep.Warnings {
			fmt.Fprintf(e.stderr, "warning: %v\n", w)
		}
		if n := rep.SkippedRows(); n > 0 {
			fmt.Fprintf(e.stderr, "warning: --lenient skipped %d invalid rows (pmlm validate --lenient lists them)\n", n)
		}
	}
	return c, err
}

// checkSplit refuses a split that leaves no training or no test patient,
// naming the boundaries (validate reports the same as a warning).
func (d *dataFlags) checkSplit(c *cohort.Cohort) error {
	train, validation, test := c.Split(d.split)
	if len(train) == 0 || len(test) == 0 {
		return fmt.Errorf("the split leaves %d training, %d validation and %d test patients: training is index dates up to %s (--split-train-end), validation up to %s (--split-validation-end), test after",
			len(train), len(validation), len(test), d.split.TrainEnd.Format(cohort.DateLayout), d.split.ValidationEnd.Format(cohort.DateLayout))
	}
	return nil
}
