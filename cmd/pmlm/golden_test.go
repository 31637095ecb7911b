package main

import (
	"fmt"
	"slices"
	"testing"

	"github.com/pmlm-go/pmlm/internal/golden"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

// TestGoldenValidateReport pins the validator's report (every problem with
// file, line and column, the summary of what was kept) on a cohort with one
// problem of each kind the lenient reader works around or skips.
func TestGoldenValidateReport(t *testing.T) {
	dir := validCohortDir(t)
	editCSV(t, dir, cohort.VisitsFile, func(rows [][]string) [][]string {
		rows[1][column(t, rows[0], "HGB")-1] = "abc"         // not a number
		rows[2][column(t, rows[0], "MCV")-1] = "-5"          // out of range
		rows[3][column(t, rows[0], "date")-1] = "2021-13-01" // bad date
		rows = append(rows, []string{"p9", "2021-01-01", "1", "2", "3"})
		return rows
	})
	editCSV(t, dir, cohort.PatientsFile, func(rows [][]string) [][]string {
		rows[2][column(t, rows[0], "label")-1] = "Normal"
		return append(rows, slices.Clone(rows[1]))
	})
	for _, mode := range []string{"strict", "lenient"} {
		args := []string{dir}
		if mode == "lenient" {
			args = append(args, "--lenient")
		}
		code, out, errOut := runValidate(t, args...)
		golden.Check(t, "validate_"+mode+".txt", fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", code, out, errOut))
	}
}
