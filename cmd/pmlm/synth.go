package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/synth"
)

// synthCommand writes a synthetic obstetric cohort to a folder.
func synthCommand() command {
	return command{
		name:  "synth",
		usage: "synth --out DIR [--seed N] [--patients N] [--noise-free | --no-measurement-noise]",
		summary: "synthesize an obstetric cohort (COHORT_SPEC.md) into DIR\n\n" +
			"The defaults reproduce the paper's cohort: 2,373 patients, 38,817 records,\n" +
			"35 indicators, 12 labels. The same seed always gives the same files.\n" +
			"--noise-free leaves out analyser noise and missing values: the twin of the\n" +
			"default cohort of the same seed (the same patients, labels, visit dates and\n" +
			"responses; only the values differ), the reference of what is learnable from\n" +
			"perfect labs, patient by patient. --no-measurement-noise leaves out the noise only.",
		flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			out := fs.String("out", "", "folder to write visits.csv, patients.csv, metrics.csv and labels.csv to (required)")
			seed := fs.Uint64("seed", 1, "random seed")
			patients := fs.Int("patients", synth.DefaultPatients, "number of patients; the records scale to keep about 16.36 per patient")
			noiseFree := fs.Bool("noise-free", false, "no measurement noise and no missing values")
			noNoise := fs.Bool("no-measurement-noise", false, "no measurement noise (missing values stay)")
			return func(ctx context.Context, e *env, args []string) error {
				if err := wantArgs(args, 0); err != nil {
					return err
				}
				if *out == "" {
					return fmt.Errorf("%w: --out is required", errUsage)
				}
				if err := ctx.Err(); err != nil {
					return err
				}
				if err := refuseCohortIn(*out); err != nil {
					return err
				}
				opts := synth.DefaultOptions()
				opts.Seed, opts.Patients = *seed, *patients
				opts.NoMeasurementNoise, opts.NoMissingValues = *noiseFree || *noNoise, *noiseFree
				opts.Visits = 0 // scaled from Patients
				c, err := synth.Generate(opts)
				if err != nil {
					return err
				}
				if err := cohort.WriteDir(*out, c); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "wrote %d patients, %d visits, %d metrics, %d labels to %s\n",
					len(c.Patients), c.NumVisits(), len(c.Metrics), len(c.Labels), *out)
				return nil
			}
		},
	}
}

// refuseCohortIn refuses an output folder that already holds cohort files:
// writing there would replace a cohort (perhaps a hospital's export) without
// a word.
func refuseCohortIn(dir string) error {
	for _, f := range []string{cohort.PatientsFile, cohort.VisitsFile, cohort.MetricsFile, cohort.LabelsFile} {
		if _, err := os.Lstat(filepath.Join(dir, f)); err == nil {
			return fmt.Errorf("%s already holds a cohort (%s); writing would replace it: choose another folder or remove it first", dir, f)
		}
	}
	return nil
}
