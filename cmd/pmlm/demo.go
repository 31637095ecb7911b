package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/synth"
)

// demoCommand is the main job on the embedded defaults: synthesize, train,
// evaluate before/after on the test split.
func demoCommand() command {
	return command{
		name:  "demo",
		usage: "demo [--patients N] [--seed N] [--epochs N] [--episodes N] [--keep DIR]",
		summary: "run PMLM end to end on the embedded defaults\n\n" +
			"Synthesizes the obstetric cohort, writes and re-reads it as CSV, trains the\n" +
			"pipeline (MiniRocket, patient encoder, recommender, coarse prompts, REINFORCE\n" +
			"policy over the embedded word vectors, offline case responder) and prints the\n" +
			"paper's metrics on the test split for the coarse prompt (before) and the\n" +
			"refined prompt (after), then the wall time and peak memory.",
		flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			patients := fs.Int("patients", synth.DefaultPatients, "patients to synthesize")
			seed := fs.Uint64("seed", 1, "random seed of the cohort and of training")
			epochs := fs.Int("epochs", cliEpochs, epochsHelp)
			episodes := fs.Int("episodes", 0, "training patients per epoch (0: all)")
			validation := fs.Int("validation", cliValidation, validationHelp)
			workers := fs.Int("workers", runtime.GOMAXPROCS(0), "concurrent episodes")
			keep := fs.String("keep", "", "write the cohort to DIR and keep it (default: a temporary folder)")
			return func(ctx context.Context, e *env, args []string) error {
				if err := wantArgs(args, 0); err != nil {
					return err
				}
				start := time.Now()
				dir := *keep
				if dir == "" {
					tmp, err := os.MkdirTemp("", "pmlm-demo-")
					if err != nil {
						return err
					}
					defer os.RemoveAll(tmp)
					dir = tmp
				}
				opts := synth.DefaultOptions()
				opts.Seed, opts.Patients, opts.Visits = *seed, *patients, 0
				c, err := synth.Generate(opts)
				if err != nil {
					return err
				}
				if err := cohort.WriteDir(dir, c); err != nil {
					return err
				}
				c, report, err := cohort.ReadDir(dir, cohort.ReadOptions{})
				if err != nil {
					return err
				}
				train, val, test := c.Split(cohort.DefaultSplit())
				fmt.Fprintf(e.stdout, "synthetic cohort: %d patients, %d visits, %d metrics, %d labels (%d warnings); split %d / %d / %d\n",
					len(c.Patients), c.NumVisits(), len(c.Metrics), len(c.Labels), len(report.Warnings), len(train), len(val), len(test))
				p, err := pmlm.Train(ctx, c, pmlm.TrainOptions{
					Epochs: *epochs, MaxEpisodes: *episodes, MaxValidation: *validation,
					Workers: *workers, Seed: *seed, Progress: e.stderr,
				})
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "trained in %s\n\n", time.Since(start).Round(time.Second))
				ev, err := p.Evaluate(ctx, test, *workers)
				if err != nil {
					return err
				}
				if err := ev.WriteTable(e.stdout); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "\ntotal wall time %s; peak memory %s\n", time.Since(start).Round(time.Second), peakMemory())
				return nil
			}
		},
	}
}

// peakMemory reports the process's peak resident set (VmHWM) on Linux, or
// the Go runtime's total obtained memory elsewhere.
func peakMemory() string {
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				f := strings.Fields(rest)
				if kb, err := strconv.Atoi(f[0]); err == nil && len(f) > 0 {
					return fmt.Sprintf("%.0f MiB (peak resident set)", float64(kb)/1024)
				}
			}
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return fmt.Sprintf("%.0f MiB (Go runtime, obtained from the OS)", float64(ms.Sys)/(1<<20))
}
