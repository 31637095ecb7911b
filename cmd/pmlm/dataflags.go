package main

import (
	"flag"
	"fmt"

	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

// dataFlags are the flags of every command that reads a cohort, declared
// by addDataFlags so that each command takes the same ones: the split
// boundaries, the largest number of visits, lenient reading.
type dataFlags struct {
	fs        *flag.FlagSet
	split     cohort.SplitBoundaries
	maxVisits *int
	lenient   *bool
}

// addDataFlags declares the data flags on fs.
func addDataFlags(fs *flag.FlagSet) *dataFlags {
	d := &dataFlags{fs: fs, split: cohort.DefaultSplit()}
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

// settings returns the reader's settings as a model records them
// (pmlm.TrainOptions.Read).
func (d *dataFlags) settings() pmlm.ReadSettings {
	return pmlm.ReadSettings{MaxVisits: *d.maxVisits, Lenient: *d.lenient}
}

// check validates the flags' values.
func (d *dataFlags) check() error {
	if *d.maxVisits < 1 {
		return fmt.Errorf("%w: --max-visits must be at least 1, got %d", errUsage, *d.maxVisits)
	}
	if err := d.split.Validate(); err != nil {
		return fmt.Errorf("%w: --split-train-end/--split-validation-end: %w", errUsage, err)
	}
	return nil
}

// useModel gives the data flags that the command line does not set the
// values the model was trained with: its split and how its cohort was
// read (a model trained with --max-visits 60 reads its 53-visit patients
// again without the flag). It returns the flags it set, for a note.
func (d *dataFlags) useModel(p *pmlm.Pipeline) []string {
	given := map[string]bool{}
	d.fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	r, split := p.ReadSettings(), p.Split()
	var set []string
	if !given["max-visits"] && *d.maxVisits != r.MaxVisits {
		*d.maxVisits = r.MaxVisits
		set = append(set, fmt.Sprintf("--max-visits %d", r.MaxVisits))
	}
	if !given["lenient"] && *d.lenient != r.Lenient {
		*d.lenient = r.Lenient
		set = append(set, fmt.Sprintf("--lenient=%t", r.Lenient))
	}
	if !given["split-train-end"] && !d.split.TrainEnd.Equal(split.TrainEnd) {
		d.split.TrainEnd = split.TrainEnd
		set = append(set, "--split-train-end "+split.TrainEnd.Format(cohort.DateLayout))
	}
	if !given["split-validation-end"] && !d.split.ValidationEnd.Equal(split.ValidationEnd) {
		d.split.ValidationEnd = split.ValidationEnd
		set = append(set, "--split-validation-end "+split.ValidationEnd.Format(cohort.DateLayout))
	}
	return set
}

// useModelNote is useModel printing the flags it set as a note on
// e.stderr.
func (d *dataFlags) useModelNote(e *env, p *pmlm.Pipeline) {
	if set := d.useModel(p); len(set) > 0 {
		fmt.Fprintf(e.stderr, "note: the model's data flags apply: %v\n", set)
	}
}

// read reads the cohort in dir with the flags, printing the reader's notes
// and warnings (and, with --lenient, the skipped rows' count) to e.stderr.
func (d *dataFlags) read(e *env, dir string) (*cohort.Cohort, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	return readCohort(e, dir, d.options())
}

// readCohort reads the cohort in dir, printing the reader's notes and
// warnings (and, when reading leniently, the skipped rows' count) to
// e.stderr, so that nothing read is dropped unseen.
func readCohort(e *env, dir string, opts cohort.ReadOptions) (*cohort.Cohort, error) {
	c, rep, err := cohort.ReadDir(dir, opts)
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

// emptyParts names the parts of the split that hold no patient of c, with
// the boundaries and their flags; nil when every part has patients.
func (d *dataFlags) emptyParts(c *cohort.Cohort) []string {
	train, validation, test := c.Split(d.split)
	var out []string
	for _, part := range []struct {
		name string
		n    int
		what string
	}{
		{"training", len(train), "index dates up to " + d.split.TrainEnd.Format(cohort.DateLayout) + " (--split-train-end)"},
		{"validation", len(validation), "index dates after " + d.split.TrainEnd.Format(cohort.DateLayout) + " up to " +
			d.split.ValidationEnd.Format(cohort.DateLayout) + " (--split-validation-end)"},
		{"test", len(test), "index dates after " + d.split.ValidationEnd.Format(cohort.DateLayout)},
	} {
		if part.n == 0 {
			out = append(out, fmt.Sprintf("the %s part is empty: no patient has %s", part.name, part.what))
		}
	}
	return out
}

// checkSplit refuses a split that leaves no training or no test patient,
// naming the boundaries (validate reports the same as a warning).
func (d *dataFlags) checkSplit(c *cohort.Cohort) error {
	return d.checkParts(c, true, true)
}

// checkParts refuses a split whose training part (needTrain) or test
// part (needTest) holds no patient, naming the boundaries.
func (d *dataFlags) checkParts(c *cohort.Cohort, needTrain, needTest bool) error {
	train, validation, test := c.Split(d.split)
	if (needTrain && len(train) == 0) || (needTest && len(test) == 0) {
		return fmt.Errorf("the split leaves %d training, %d validation and %d test patients: training is index dates up to %s (--split-train-end), validation up to %s (--split-validation-end), test after",
			len(train), len(validation), len(test), d.split.TrainEnd.Format(cohort.DateLayout), d.split.ValidationEnd.Format(cohort.DateLayout))
	}
	return nil
}
