package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

// validCohortDir writes a small hand-made cohort (four patients, three
// metrics of the obstetric catalogue) with cohort.WriteDir.
func validCohortDir(t *testing.T) string {
	t.Helper()
	obstetric := cohort.NewObstetricCohort()
	c := &cohort.Cohort{Labels: []string{cohort.LabelNormal, cohort.LabelThalassemia, cohort.LabelGestationalDiabetes}}
	for _, name := range []string{"HGB", "MCV", "PLT"} {
		c.Metrics = append(c.Metrics, obstetric.Metrics[obstetric.MetricIndex(name)])
	}
	day := func(s string) time.Time {
		d, err := time.Parse(cohort.DateLayout, s)
		require.NoError(t, err)
		return d
	}
	for i, p := range []struct {
		index, label string
		visits       int
	}{
		{"2021-06-30", cohort.LabelNormal, 2},
		{"2022-03-15", cohort.LabelThalassemia, 3},
		{"2022-09-01", cohort.LabelGestationalDiabetes, 1},
		{"2020-12-01", cohort.LabelNormal, 2},
	} {
		pt := cohort.Patient{ID: fmt.Sprintf("p%d", i+1), IndexDate: day(p.index), Label: p.label,
			Response: "Advice, with a comma."}
		for v := range p.visits {
			pt.Visits = append(pt.Visits, cohort.Visit{
				Date:   pt.IndexDate.AddDate(0, -p.visits+v, 0),
				Values: []float64{110 + float64(v), 85.5, cohort.Missing()},
			})
		}
		c.Patients = append(c.Patients, pt)
	}
	dir := t.TempDir()
	require.NoError(t, cohort.WriteDir(dir, c))
	return dir
}

// editCSV rewrites a file of dir through edit; rows[0] is the header, on
// line 1, and rows[i] is on line i+1 (the test cohort has no multi-line
// field).
func editCSV(t *testing.T, dir, name string, edit func(rows [][]string) [][]string) {
	t.Helper()
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	require.NoError(t, err)
	var out bytes.Buffer
	w := csv.NewWriter(&out)
	require.NoError(t, w.WriteAll(edit(rows)))
	require.NoError(t, os.WriteFile(path, out.Bytes(), 0o600))
}

// column returns the 1-based field number of name in the header.
func column(t *testing.T, header []string, name string) int {
	i := slices.Index(header, name)
	require.GreaterOrEqual(t, i, 0, name)
	return i + 1
}

func runValidate(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), append([]string{"validate"}, args...), &env{stdout: &out, stderr: &errOut})
	return code, out.String(), errOut.String()
}

func TestValidateValidCohort(t *testing.T) {
	dir := validCohortDir(t)
	code, out, errOut := runValidate(t, dir)
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `(?m)^patients +4$`, out)
	assert.Regexp(t, `(?m)^visits +8$`, out)
	assert.Regexp(t, `(?m)^max visits per patient +3$`, out)
	assert.Regexp(t, `(?m)^metrics +3$`, out)
	assert.Regexp(t, `(?m)^labels +3$`, out)
	assert.Regexp(t, `(?m)^normal +2$`, out)
	assert.Regexp(t, `(?m)^train \(to 2021-12-31\) +2$`, out)
	assert.Regexp(t, `(?m)^validation \(to 2022-06-30\) +1$`, out)
	assert.Regexp(t, `(?m)^test \(after\) +1$`, out)
	assert.Regexp(t, `(?m)^PLT +100\.0% +\(8 of 8 visits\)$`, out)

	code, out, errOut = runValidate(t, dir, "--split-train-end", "2022-03-31", "--split-validation-end", "2022-12-31")
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `(?m)^train \(to 2022-03-31\) +3$`, out)
	assert.Regexp(t, `(?m)^validation \(to 2022-12-31\) +1$`, out)
	assert.Regexp(t, `(?m)^test \(after\) +0$`, out)
}

// TestValidateCorruptedFiles corrupts a valid cohort in each of the ways the
// reader checks and expects a failing exit status with an error that names
// the file, line and column.
func TestValidateCorruptedFiles(t *testing.T) {
	cases := []struct {
		name string
		args []string
		// corrupt edits the cohort in dir and returns the place the error
		// must name ("file:line:column (name)") and a part of its message.
		corrupt func(t *testing.T, dir string) (place, message string)
	}{{
		name: "missing column",
		corrupt: func(t *testing.T, dir string) (string, string) {
			editCSV(t, dir, cohort.VisitsFile, func(rows [][]string) [][]string {
				c := column(t, rows[0], "MCV") - 1
				for i := range rows {
					rows[i] = slices.Delete(rows[i], c, c+1)
				}
				return rows
			})
			// A missing column has no field number: the header line and
			// the column's name place it.
			return "visits.csv:1 (MCV)", "missing column"
		},
	}, {
		name: "unknown column",
		corrupt: func(t *testing.T, dir string) (string, string) {
			var place string
			editCSV(t, dir, cohort.VisitsFile, func(rows [][]string) [][]string {
				for i := range rows {
					rows[i] = append(rows[i], "5.1")
				}
				rows[0][len(rows[0])-1] = "GLU"
				place = fmt.Sprintf("visits.csv:1:%d (GLU)", len(rows[0]))
				return rows
			})
			return place, "unknown column"
		},
	}, {
		name:    "non-numeric cell",
		corrupt: setVisitCell(3, "HGB", "12O"),
	}, {
		name:    "NaN",
		corrupt: setVisitCell(2, "MCV", "NaN"),
	}, {
		name:    "Inf",
		corrupt: setVisitCell(5, "PLT", "-Inf"),
	}, {
		name:    "value outside the physical range",
		corrupt: setVisitCell(4, "HGB", "250"),
	}, {
		name: "unknown label",
		corrupt: func(t *testing.T, dir string) (string, string) {
			return setPatientCell(t, dir, 2, "label", "flu"), `unknown label "flu"`
		},
	}, {
		name: "duplicate patient ID",
		corrupt: func(t *testing.T, dir string) (string, string) {
			var place string
			editCSV(t, dir, cohort.PatientsFile, func(rows [][]string) [][]string {
				rows = append(rows, slices.Clone(rows[1]))
				place = fmt.Sprintf("patients.csv:%d:%d (patient_id)", len(rows), column(t, rows[0], "patient_id"))
				return rows
			})
			return place, "duplicate patient ID (first on line 2)"
		},
	}, {
		name: "visit of an unknown patient",
		corrupt: func(t *testing.T, dir string) (string, string) {
			var place string
			editCSV(t, dir, cohort.VisitsFile, func(rows [][]string) [][]string {
				row := slices.Clone(rows[1])
				row[column(t, rows[0], "patient_id")-1] = "nobody"
				rows = append(rows, row)
				place = fmt.Sprintf("visits.csv:%d:%d (patient_id)", len(rows), column(t, rows[0], "patient_id"))
				return rows
			})
			return place, "patient ID not in patients.csv"
		},
	}, {
		name:    "unparsable visit date",
		corrupt: setVisitCell(6, "date", "2021-02-30"),
	}, {
		name: "unparsable index date",
		corrupt: func(t *testing.T, dir string) (string, string) {
			return setPatientCell(t, dir, 3, "index_date", "1/9/2022"), `unparsable date "1/9/2022"`
		},
	}, {
		name: "patient without visits",
		corrupt: func(t *testing.T, dir string) (string, string) {
			var place string
			editCSV(t, dir, cohort.VisitsFile, func(rows [][]string) [][]string {
				id := column(t, rows[0], "patient_id") - 1
				return slices.DeleteFunc(rows, func(r []string) bool { return r[id] == "p3" })
			})
			editCSV(t, dir, cohort.PatientsFile, func(rows [][]string) [][]string {
				id := column(t, rows[0], "patient_id") - 1
				line := slices.IndexFunc(rows, func(r []string) bool { return r[id] == "p3" }) + 1
				place = fmt.Sprintf("patients.csv:%d:%d (patient_id)", line, id+1)
				return rows
			})
			return place, "patient has no visits in visits.csv"
		},
	}, {
		name: "more visits than the default maximum of 45",
		corrupt: func(t *testing.T, dir string) (string, string) {
			var place string
			editCSV(t, dir, cohort.VisitsFile, func(rows [][]string) [][]string {
				// p1 has 2 visits; add 44 more, one a day before its first.
				id, dateCol := column(t, rows[0], "patient_id")-1, column(t, rows[0], "date")-1
				first, err := time.Parse(cohort.DateLayout, rows[1][dateCol])
				require.NoError(t, err)
				require.Equal(t, "p1", rows[1][id])
				for i := range 44 {
					row := slices.Clone(rows[1])
					row[dateCol] = first.AddDate(0, 0, -1-i).Format(cohort.DateLayout)
					rows = append(rows, row)
					if i == 43 { // p1's 46th row in file order
						place = fmt.Sprintf("visits.csv:%d:%d (patient_id)", len(rows), id+1)
					}
				}
				return rows
			})
			return place, "patient has 46 visits, more than the maximum of 45"
		},
	}, {
		name: "more visits than --max-visits",
		args: []string{"--max-visits", "2"},
		corrupt: func(t *testing.T, dir string) (string, string) {
			// p2 has 3 visits, on lines 4 to 6.
			return "visits.csv:6:1 (patient_id)", "patient has 3 visits, more than the maximum of 2"
		},
	}, {
		name: "empty response",
		corrupt: func(t *testing.T, dir string) (string, string) {
			return setPatientCell(t, dir, 4, "response", ""), "empty response"
		},
	}, {
		name: "row with too many fields",
		corrupt: func(t *testing.T, dir string) (string, string) {
			editCSV(t, dir, cohort.VisitsFile, func(rows [][]string) [][]string {
				rows[2] = append(rows[2], "1")
				return rows
			})
			return "visits.csv:3:6", "row has 6 fields, the header has 5"
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := validCohortDir(t)
			place, message := tc.corrupt(t, dir)
			code, out, errOut := runValidate(t, append([]string{dir}, tc.args...)...)
			assert.Equal(t, 1, code, "stdout:\n%s", out)
			assert.Contains(t, errOut, "invalid cohort data")
			assert.Contains(t, errOut, place+": "+message, "the error names the place")
			assert.NotContains(t, out, "patients ", "no summary of invalid data")
		})
	}
}

// setVisitCell returns a corruption that sets the cell of column name on
// line of visits.csv and the message part its error must have.
func setVisitCell(line int, name, value string) func(t *testing.T, dir string) (string, string) {
	return func(t *testing.T, dir string) (string, string) {
		var col int
		editCSV(t, dir, cohort.VisitsFile, func(rows [][]string) [][]string {
			col = column(t, rows[0], name)
			rows[line-1][col-1] = value
			return rows
		})
		msg := map[string]string{
			"12O":        `not a number: "12O"`,
			"NaN":        `"NaN" is not a finite number`,
			"-Inf":       `"-Inf" is not a finite number`,
			"250":        "value 250 outside the physical range [30, 200] g/L",
			"2021-02-30": `unparsable date "2021-02-30"; want YYYY-MM-DD`,
		}[value]
		require.NotEmpty(t, msg)
		return fmt.Sprintf("visits.csv:%d:%d (%s)", line, col, name), msg
	}
}

// setPatientCell sets the cell of column name on line of patients.csv and
// returns its place.
func setPatientCell(t *testing.T, dir string, line int, name, value string) string {
	var col int
	editCSV(t, dir, cohort.PatientsFile, func(rows [][]string) [][]string {
		col = column(t, rows[0], name)
		rows[line-1][col-1] = value
		return rows
	})
	return fmt.Sprintf("patients.csv:%d:%d (%s)", line, col, name)
}

func TestValidateLenientSkipsAndReports(t *testing.T) {
	dir := validCohortDir(t)
	setVisitCell(3, "HGB", "12O")(t, dir)
	setPatientCell(t, dir, 5, "label", "flu") // p4, with visits on lines 8 and 9
	code, out, errOut := runValidate(t, dir, "--lenient")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "skipped (--lenient): 4 rows, for these reasons\n")
	assert.Contains(t, out, `visits.csv:3:3 (HGB): not a number: "12O"`)
	assert.Contains(t, out, `patients.csv:5:3 (label): unknown label "flu"`)
	assert.Contains(t, out, "visits.csv:8:1 (patient_id): the patient's row in patients.csv (line 5) was skipped")
	assert.Contains(t, out, "visits.csv:9:1 (patient_id): the patient's row in patients.csv (line 5) was skipped")
	assert.Regexp(t, `(?m)^patients +3$`, out)
	assert.Regexp(t, `(?m)^visits +5$`, out)
}

func TestValidateListsAtMostMaxListedIssues(t *testing.T) {
	dir := validCohortDir(t)
	setVisitCell(3, "HGB", "12O")(t, dir)
	setPatientCell(t, dir, 5, "label", "flu") // p4, with visits on lines 8 and 9
	code, out, errOut := runValidate(t, dir, "--lenient", "--max-listed", "2")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "skipped (--lenient): 4 rows, for these reasons\n")
	assert.Equal(t, 2, strings.Count(out, "\n  visits.csv:")+strings.Count(out, "\n  patients.csv:"), out)
	assert.Contains(t, out, "  … and 2 more (--max-listed 0 lists all)\n")
	assert.Regexp(t, `(?m)^patients +3$`, out, "the summary follows")

	_, out, _ = runValidate(t, dir, "--lenient", "--max-listed", "0")
	assert.NotContains(t, out, "more (--max-listed")
	assert.Equal(t, 4, strings.Count(out, "\n  visits.csv:")+strings.Count(out, "\n  patients.csv:"), out)
}

func TestValidateWarnings(t *testing.T) {
	dir := validCohortDir(t)
	editCSV(t, dir, cohort.VisitsFile, func(rows [][]string) [][]string {
		rows[1][column(t, rows[0], "date")-1] = "2021-07-01" // after p1's index date, 2021-06-30
		return rows
	})
	code, out, errOut := runValidate(t, dir)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "warnings: 2\n")
	assert.Contains(t, out, "visits.csv:3:2 (date): visit dated before the patient's previous visit (line 2)")
	assert.Contains(t, out, "visits.csv:2:2 (date): visit dated after the patient's index date; kept")
}

func TestValidateUsage(t *testing.T) {
	dir := validCohortDir(t)
	code, out, _ := runValidate(t, "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "usage: pmlm validate DIR")

	code, _, _ = runValidate(t)
	assert.Equal(t, 2, code, "DIR is required")
	code, _, errOut := runValidate(t, dir, "--split-train-end", "31/12/2021")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "want a date YYYY-MM-DD")
	code, _, _ = runValidate(t, dir, "--max-visits", "0")
	assert.Equal(t, 2, code)
	code, _, errOut = runValidate(t, dir, "--split-train-end", "2022-12-31")
	assert.Equal(t, 2, code, "validation ends before training: a usage error, as in every command with the data flags")
	assert.Contains(t, errOut, "is before training end")

	code, _, errOut = runValidate(t, filepath.Join(dir, "nope"))
	assert.Equal(t, 1, code)
	assert.True(t, strings.Contains(errOut, "no such file"), errOut)
}
