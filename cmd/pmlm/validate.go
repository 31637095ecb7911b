package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

// validateCommand checks a cohort directory and prints its summary.
func validateCommand() command {
	return command{
		name: "validate",
		usage: "validate DIR [--max-visits N] [--lenient] " +
			"[--split-train-end YYYY-MM-DD --split-validation-end YYYY-MM-DD]",
		summary: "check the cohort files in DIR and print a summary of the cohort\n\n" +
			"DIR holds visits.csv and patients.csv, and optionally metrics.csv and labels.csv\n" +
			"(without them the obstetric catalogue is used). The summary gives the numbers of\n" +
			"patients, visits, metrics and labels, the largest number of visits of a patient,\n" +
			"the patients per label and per part of the time-based split, and the share of\n" +
			"missing values per metric. Invalid data makes the exit status 1 and every error\n" +
			"is printed as FILE:LINE:COLUMN (NAME): MESSAGE. With --lenient, invalid rows are\n" +
			"skipped instead, each one listed with the reason (the first --max-listed of each kind).",
		flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			data := addDataFlags(fs)
			maxListed := fs.Int("max-listed", 100, "list at most this many warnings and skipped rows each, then their count (0: all)")
			return func(ctx context.Context, e *env, args []string) error {
				if err := wantArgs(args, 1); err != nil {
					return err
				}
				if err := data.check(); err != nil {
					return err
				}
				if err := ctx.Err(); err != nil {
					return err
				}
				c, rep, err := cohort.ReadDir(args[0], data.options())
				for _, n := range rep.Notes {
					fmt.Fprintf(e.stdout, "note: %s\n", n)
				}
				printIssues(e.stdout, fmt.Sprintf("warnings: %d", len(rep.Warnings)), rep.Warnings, *maxListed)
				printIssues(e.stdout, fmt.Sprintf("skipped (--lenient): %d rows, for these reasons", rep.SkippedRows()), rep.Skipped, *maxListed)
				if err != nil {
					return err
				}
				// An empty part is a warning here; the commands that
				// train or evaluate refuse an empty training or test part.
				if empty := data.emptyParts(c); len(empty) > 0 {
					for _, w := range empty {
						fmt.Fprintf(e.stdout, "warning: %s\n", w)
					}
					fmt.Fprintln(e.stdout)
				}
				return c.Summarize(data.split).WriteText(e.stdout)
			}
		},
	}
}

// dateFlag parses a YYYY-MM-DD flag value into *t.
func dateFlag(t *time.Time) func(string) error {
	return func(s string) error {
		d, err := time.Parse(cohort.DateLayout, s)
		if err != nil {
			return fmt.Errorf("want a date YYYY-MM-DD, got %q", s)
		}
		*t = d
		return nil
	}
}

// printIssues lists the first limit issues (all if limit ≤ 0) under a
// heading and counts the rest, so that a badly broken file of a million
// rows does not bury the summary; nothing when there are none.
func printIssues(w io.Writer, heading string, issues []cohort.Issue, limit int) {
	if len(issues) == 0 {
		return
	}
	fmt.Fprintln(w, heading)
	shown := issues
	if limit > 0 && len(issues) > limit {
		shown = issues[:limit]
	}
	for _, is := range shown {
		fmt.Fprintf(w, "  %s\n", is.Error())
	}
	if rest := len(issues) - len(shown); rest > 0 {
		fmt.Fprintf(w, "  … and %d more (--max-listed 0 lists all)\n", rest)
	}
	fmt.Fprintln(w)
}
