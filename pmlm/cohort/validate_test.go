package cohort

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The valid base files of the validation tests; the comments give line
// numbers.
const (
	basePatients = "patient_id,index_date,label,response\n" + // 1
		"a,2021-05-01,normal,fine\n" + // 2
		"b,2022-02-01,thalassemia,low MCV\n" + // 3
		"c,2022-08-01,normal,ok\n" // 4
	baseVisits = "patient_id,date,HGB,MCV,PLT\n" + // 1
		"a,2021-01-01,120,88,230\n" + // 2
		"a,2021-03-01,118,87,240\n" + // 3
		"b,2021-10-01,105,65,200\n" + // 4
		"b,2021-12-01,101,64,210\n" + // 5
		"c,2022-05-01,125,90,250\n" // 6
)

// setLine returns the file with its 1-based line n replaced.
func setLine(file string, n int, line string) string {
	lines := strings.Split(file, "\n")
	lines[n-1] = line
	return strings.Join(lines, "\n")
}

func readSmall(patients, visits string, opts ReadOptions) (*Cohort, *Report, error) {
	opts.Metrics, opts.Labels = smallMetrics(), smallLabels()
	return ReadCohort(strings.NewReader(patients), strings.NewReader(visits), opts)
}

func issueStrings(issues []Issue) []string {
	var out []string
	for _, is := range issues {
		out = append(out, is.Error())
	}
	return out
}

// places returns "file:line" of each issue.
func places(issues []Issue) []string {
	var out []string
	for _, is := range issues {
		out = append(out, fmt.Sprintf("%s:%d", is.File, is.Line))
	}
	return out
}

func patientIDs(c *Cohort) []string {
	var out []string
	for _, p := range c.Patients {
		out = append(out, p.ID)
	}
	return out
}

func TestBaseFilesAreValid(t *testing.T) {
	c, rep, err := readSmall(basePatients, baseVisits, ReadOptions{})
	require.NoError(t, err)
	assert.Empty(t, rep.Warnings)
	assert.Equal(t, []string{"a", "b", "c"}, patientIDs(c))
	assert.Equal(t, 5, c.NumVisits())
}

// TestValidation checks, for each kind of problem, the strict error with
// its place and what a lenient read skips and keeps.
func TestValidation(t *testing.T) {
	cases := []struct {
		name              string
		patients, visits  string
		maxVisits         int
		strict            []string // the errors of a strict read
		skipped           []string // the places a lenient read skips
		warnings          []string // the places of a lenient read's warnings
		kept              []string // the patients a lenient read keeps
		keptVisits        int
		fatal             bool // the lenient read fails too
		visitsOfFirstKept int
	}{{
		name:     "missing metric column",
		visits:   "patient_id,date,HGB,MCV\na,2021-01-01,120,88\na,2021-03-01,118,87\nb,2021-10-01,105,65\nc,2022-05-01,125,90\n",
		strict:   []string{"visits.csv:1 (PLT): missing column (a metric of the catalogue)"},
		warnings: []string{"visits.csv:1"},
		kept:     []string{"a", "b", "c"}, keptVisits: 4,
	}, {
		name: "unknown column",
		visits: setLine(setLine(baseVisits, 1, "patient_id,date,HGB,MCV,PLT,GLU"), 2, "a,2021-01-01,120,88,230,5.1") +
			"", // the other rows are ragged now
		strict: []string{
			"visits.csv:1:6 (GLU): unknown column; visits.csv has the columns patient_id, date and one per metric of the catalogue",
			"visits.csv:3:6: row has 5 fields, the header has 6",
			"visits.csv:4:6: row has 5 fields, the header has 6",
			"visits.csv:5:6: row has 5 fields, the header has 6",
			"visits.csv:6:6: row has 5 fields, the header has 6",
		},
		skipped:  []string{"visits.csv:3", "visits.csv:4", "visits.csv:5", "visits.csv:6", "patients.csv:3", "patients.csv:4"},
		warnings: []string{"visits.csv:1"},
		kept:     []string{"a"}, keptVisits: 1,
	}, {
		name:   "unknown column differing in case",
		visits: strings.Replace(baseVisits, "PLT", "plt", 1),
		strict: []string{
			"visits.csv:1 (PLT): missing column (a metric of the catalogue)",
			`visits.csv:1:5 (plt): unknown column (did you mean "PLT"?); visits.csv has the columns patient_id, date and one per metric of the catalogue`,
		},
		warnings: []string{"visits.csv:1", "visits.csv:1"},
		kept:     []string{"a", "b", "c"}, keptVisits: 5,
	}, {
		name:    "non-numeric cell",
		visits:  setLine(baseVisits, 3, "a,2021-03-01,118,abc,240"),
		strict:  []string{`visits.csv:3:4 (MCV): not a number: "abc"; leave the cell empty for a missing value`},
		skipped: []string{"visits.csv:3"},
		kept:    []string{"a", "b", "c"}, keptVisits: 4, visitsOfFirstKept: 1,
	}, {
		name:    "NaN",
		visits:  setLine(baseVisits, 4, "b,2021-10-01,NaN,65,200"),
		strict:  []string{`visits.csv:4:3 (HGB): "NaN" is not a finite number; leave the cell empty for a missing value`},
		skipped: []string{"visits.csv:4"},
		kept:    []string{"a", "b", "c"}, keptVisits: 4,
	}, {
		name:    "Inf",
		visits:  setLine(baseVisits, 5, "b,2021-12-01,101,64,+Inf"),
		strict:  []string{`visits.csv:5:5 (PLT): "+Inf" is not a finite number; leave the cell empty for a missing value`},
		skipped: []string{"visits.csv:5"},
		kept:    []string{"a", "b", "c"}, keptVisits: 4,
	}, {
		name:    "overflowing number",
		visits:  setLine(baseVisits, 5, "b,2021-12-01,101,64,1e999"),
		strict:  []string{`visits.csv:5:5 (PLT): "1e999" is not a finite number; leave the cell empty for a missing value`},
		skipped: []string{"visits.csv:5"},
		kept:    []string{"a", "b", "c"}, keptVisits: 4,
	}, {
		name:    "value outside the physical range",
		visits:  setLine(baseVisits, 2, "a,2021-01-01,250,88,230"),
		strict:  []string{"visits.csv:2:3 (HGB): value 250 outside the physical range [30, 200] g/L"},
		skipped: []string{"visits.csv:2"},
		kept:    []string{"a", "b", "c"}, keptVisits: 4, visitsOfFirstKept: 1,
	}, {
		name:     "unknown label",
		patients: setLine(basePatients, 3, "b,2022-02-01,thalasemia,low MCV"),
		strict:   []string{`patients.csv:3:3 (label): unknown label "thalasemia" (not one of the 3 labels of the label set)`},
		skipped:  []string{"patients.csv:3", "visits.csv:4", "visits.csv:5"},
		kept:     []string{"a", "c"}, keptVisits: 3,
	}, {
		name:     "unknown label differing in case",
		patients: setLine(basePatients, 4, "c,2022-08-01,Normal,ok"),
		strict:   []string{`patients.csv:4:3 (label): unknown label "Normal" (did you mean "normal"?)`},
		skipped:  []string{"patients.csv:4", "visits.csv:6"},
		kept:     []string{"a", "b"}, keptVisits: 4,
	}, {
		name:     "duplicate patient ID",
		patients: basePatients + "a,2021-06-01,normal,again\n",
		strict:   []string{"patients.csv:5:1 (patient_id): duplicate patient ID (first on line 2)"},
		skipped:  []string{"patients.csv:5", "patients.csv:2", "visits.csv:2", "visits.csv:3"},
		kept:     []string{"b", "c"}, keptVisits: 3,
	}, {
		name:    "visit of an unknown patient",
		visits:  baseVisits + "z,2021-01-01,120,88,230\n",
		strict:  []string{"visits.csv:7:1 (patient_id): patient ID not in patients.csv"},
		skipped: []string{"visits.csv:7"},
		kept:    []string{"a", "b", "c"}, keptVisits: 5,
	}, {
		name:    "visit with an empty patient ID",
		visits:  baseVisits + ",2021-01-01,120,88,230\n",
		strict:  []string{"visits.csv:7:1 (patient_id): empty patient ID"},
		skipped: []string{"visits.csv:7"},
		kept:    []string{"a", "b", "c"}, keptVisits: 5,
	}, {
		name:    "unparsable visit date",
		visits:  setLine(baseVisits, 6, "c,2022-13-01,125,90,250"),
		strict:  []string{`visits.csv:6:2 (date): unparsable date "2022-13-01"; want YYYY-MM-DD`},
		skipped: []string{"visits.csv:6", "patients.csv:4"}, // c had that visit only
		kept:    []string{"a", "b"}, keptVisits: 4,
	}, {
		name:     "unparsable index date",
		patients: setLine(basePatients, 2, "a,01/05/2021,normal,fine"),
		strict:   []string{`patients.csv:2:2 (index_date): unparsable date "01/05/2021"; want YYYY-MM-DD`},
		skipped:  []string{"patients.csv:2", "visits.csv:2", "visits.csv:3"},
		kept:     []string{"b", "c"}, keptVisits: 3,
	}, {
		name:     "patient without visits",
		patients: basePatients + "d,2021-07-01,normal,fine\n",
		strict:   []string{"patients.csv:5:1 (patient_id): patient has no visits in visits.csv"},
		skipped:  []string{"patients.csv:5"},
		kept:     []string{"a", "b", "c"}, keptVisits: 5,
	}, {
		name:      "more visits than the maximum",
		maxVisits: 1,
		strict: []string{
			"visits.csv:3:1 (patient_id): patient has 2 visits, more than the maximum of 1 (this is the first row beyond it)",
			"visits.csv:5:1 (patient_id): patient has 2 visits, more than the maximum of 1 (this is the first row beyond it)",
		},
		skipped: []string{"visits.csv:2", "visits.csv:4"}, // the earliest visits
		kept:    []string{"a", "b", "c"}, keptVisits: 3, visitsOfFirstKept: 1,
	}, {
		name:     "empty response",
		patients: setLine(basePatients, 4, `c,2022-08-01,normal," "`),
		strict:   []string{"patients.csv:4:4 (response): empty response"},
		skipped:  []string{"patients.csv:4", "visits.csv:6"},
		kept:     []string{"a", "b"}, keptVisits: 4,
	}, {
		name:    "ragged row",
		visits:  setLine(baseVisits, 3, "a,2021-03-01,118,87,240,1"),
		strict:  []string{"visits.csv:3:6: row has 6 fields, the header has 5"},
		skipped: []string{"visits.csv:3"},
		kept:    []string{"a", "b", "c"}, keptVisits: 4,
	}, {
		name:    "malformed quotes",
		visits:  setLine(baseVisits, 3, `a,2021-03-01,1"18,87,240`),
		strict:  []string{`visits.csv:3: malformed CSV at character 15: bare " in non-quoted-field`},
		skipped: []string{"visits.csv:3"},
		kept:    []string{"a", "b", "c"}, keptVisits: 4,
	}, {
		name:     "missing patients column",
		patients: "patient_id,index_date,label\na,2021-05-01,normal\n",
		strict:   []string{"patients.csv:1 (response): missing column"},
		fatal:    true,
	}, {
		name:   "duplicate visits column",
		visits: "patient_id,date,HGB,MCV,PLT,HGB\n",
		strict: []string{"visits.csv:1:6 (HGB): duplicate column (also column 3)"},
		fatal:  true,
	}, {
		// Issue 15 item 6: numbers are decimal only.
		name:    "hexadecimal float",
		visits:  setLine(baseVisits, 3, "a,2021-03-01,0x1p7,87,240"),
		strict:  []string{`visits.csv:3:3 (HGB): not a number: "0x1p7"; leave the cell empty for a missing value`},
		skipped: []string{"visits.csv:3"},
		kept:    []string{"a", "b", "c"}, keptVisits: 4,
	}, {
		// Issue 15 item 6: Latin-1 text is not read as UTF-8 with
		// replacement characters.
		name:     "Latin-1 response",
		patients: setLine(basePatients, 4, "c,2022-08-01,normal,Caf\xe9 r\xe9sum\xe9"),
		strict:   []string{"patients.csv:4:4 (response): invalid UTF-8 at byte 4 of the field (is the file Latin-1 or Windows-1252? save it as UTF-8)"},
		skipped:  []string{"patients.csv:4", "visits.csv:6"},
		kept:     []string{"a", "b"}, keptVisits: 4,
	}, {
		name:   "UTF-16 with a byte-order mark",
		visits: "\xff\xfe" + utf16le(baseVisits),
		strict: []string{"visits.csv:1: the file is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8"},
		fatal:  true,
	}, {
		name:     "UTF-16 without a byte-order mark",
		patients: utf16le(basePatients),
		strict:   []string{"patients.csv:1: the file holds NUL bytes: it is UTF-16 or binary, not UTF-8 text; save it as UTF-8"},
		fatal:    true,
	}, {
		name:   "empty visits file",
		visits: "",
		strict: []string{"visits.csv: empty file; want a header row"},
		fatal:  true,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.patients == "" {
				tc.patients = basePatients
			}
			if tc.visits == "" && tc.name != "empty visits file" {
				tc.visits = baseVisits
			}
			opts := ReadOptions{MaxVisits: tc.maxVisits}
			c, _, err := readSmall(tc.patients, tc.visits, opts)
			require.Nil(t, c)
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.strict, issueStrings(ve.Issues))
			assert.Equal(t, len(tc.strict), ve.Total)

			opts.Lenient = true
			c, rep, err := readSmall(tc.patients, tc.visits, opts)
			if tc.fatal {
				require.ErrorAs(t, err, &ve)
				assert.Equal(t, tc.strict, issueStrings(ve.Issues))
				return
			}
			require.NoError(t, err)
			assert.ElementsMatch(t, tc.skipped, places(rep.Skipped), "skipped: %q", issueStrings(rep.Skipped))
			assert.ElementsMatch(t, tc.warnings, places(rep.Warnings), "warnings: %q", issueStrings(rep.Warnings))
			assert.Equal(t, tc.kept, patientIDs(c))
			assert.Equal(t, tc.keptVisits, c.NumVisits())
			if tc.visitsOfFirstKept > 0 {
				assert.Len(t, c.Patients[0].Visits, tc.visitsOfFirstKept)
			}
			for _, is := range rep.Skipped {
				assert.Equal(t, SeverityError, is.Severity)
			}
		})
	}
}

func TestLenientKeepsLatestVisitsBeyondMaximum(t *testing.T) {
	visits := "patient_id,date,HGB,MCV,PLT\n" +
		"a,2021-04-01,104,,\n" + // 2
		"a,2021-01-01,101,,\n" + // 3: earliest
		"a,2021-03-01,103,,\n" + // 4
		"a,2021-02-01,102,,\n" // 5
	c, rep, err := ReadCohort(strings.NewReader("patient_id,index_date,label,response\na,2021-05-01,normal,x\n"),
		strings.NewReader(visits), ReadOptions{Metrics: smallMetrics(), MaxVisits: 2, Lenient: true})
	require.NoError(t, err)
	a := c.Patient("a")
	require.Len(t, a.Visits, 2)
	assert.Equal(t, 103.0, a.Visits[0].Values[0])
	assert.Equal(t, 104.0, a.Visits[1].Values[0])
	assert.ElementsMatch(t, []string{"visits.csv:3", "visits.csv:5"}, places(rep.Skipped))
}

func TestValidationErrorListsEveryError(t *testing.T) {
	patients := setLine(setLine(basePatients, 3, "b,2022-02-01,flu,low MCV"), 4, "c,2022-08-01,normal,")
	visits := setLine(setLine(baseVisits, 2, "a,2021-01-01,20,88,230"), 3, "a,2021-03-01,118,eighty,240")
	_, _, err := readSmall(patients, visits, ReadOptions{})
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, 4, ve.Total)
	assert.Equal(t, `invalid cohort data: 4 errors
	patients.csv:3:3 (label): unknown label "flu" (not one of the 3 labels of the label set)
	patients.csv:4:4 (response): empty response
	visits.csv:2:3 (HGB): value 20 outside the physical range [30, 200] g/L
	visits.csv:3:4 (MCV): not a number: "eighty"; leave the cell empty for a missing value`, err.Error())

	var is Issue
	require.ErrorAs(t, err, &is, "an Issue is reachable through errors.As")
	assert.Equal(t, PatientsFile, is.File)
	assert.Equal(t, "b", is.Patient)
	assert.NotContains(t, err.Error(), "b,", "messages do not repeat patient IDs")
}

func TestValidationErrorIsCapped(t *testing.T) {
	var visits strings.Builder
	visits.WriteString(baseVisits)
	for range 150 {
		visits.WriteString("a,2021-01-01,999,88,230\n")
	}
	_, _, err := readSmall(basePatients, visits.String(), ReadOptions{})
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, 150, ve.Total)
	assert.Len(t, ve.Issues, MaxListedIssues)
	assert.True(t, strings.HasSuffix(ve.Error(), "\n\t... and 50 more"))
	assert.Len(t, ve.Unwrap(), MaxListedIssues)
}

// TestLenientLosesNothingSilently reads a file with many kinds of problem
// and checks that every data row is either kept or reported as skipped.
func TestLenientLosesNothingSilently(t *testing.T) {
	patients := basePatients +
		"d,2021-07-01,normal,no visits\n" + // 5
		"e,2021-07-01,unknown,x\n" + // 6
		"a,2021-07-01,normal,duplicate\n" + // 7
		"f,2021-08-01,normal,\"quoted,\nmultiline\"\n" + // 8-9
		"g,2021-08-01,normal\n" + // 10: ragged
		"h,2021-09-01,gestational diabetes,fine\n" // 11
	visits := baseVisits +
		"e,2021-06-01,120,88,230\n" + // 7
		"f,2021-06-01,120,88,230\n" + // 8
		"f,2021-06-02,120,88,9999\n" + // 9
		"zz,2021-06-01,120,88,230\n" + // 10
		"h,2021-06-01,120,,\n" + // 11
		"h,2021-06-01,x,,\n" + // 12
		"h,bad,1,2\n" // 13: ragged
	c, rep, err := readSmall(patients, visits, ReadOptions{Lenient: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"b", "c", "f", "h"}, patientIDs(c))
	assert.Equal(t, 5+7, rep.SkippedRows(), "patients.csv lines 2, 5, 6, 7, 10; visits.csv lines 2, 3, 7, 9, 10, 12, 13")

	skippedLines := map[string]map[int]bool{PatientsFile: {}, VisitsFile: {}}
	for _, is := range rep.Skipped {
		skippedLines[is.File][is.Line] = true
	}
	// patients.csv has 9 data rows (one spans two lines), visits.csv 12.
	assert.Equal(t, 9, len(c.Patients)+len(skippedLines[PatientsFile]), "%q", issueStrings(rep.Skipped))
	assert.Equal(t, 12, c.NumVisits()+len(skippedLines[VisitsFile]), "%q", issueStrings(rep.Skipped))
}

func TestIssueError(t *testing.T) {
	assert.Equal(t, "visits.csv:12:5 (HGB): too high",
		Issue{File: "visits.csv", Line: 12, Column: 5, ColumnName: "HGB", Message: "too high", Patient: "secret"}.Error())
	assert.Equal(t, "visits.csv:12: bad row", Issue{File: "visits.csv", Line: 12, Message: "bad row"}.Error())
	assert.Equal(t, "labels.csv: empty", Issue{File: "labels.csv", Message: "empty"}.Error())
	assert.Equal(t, "warning", SeverityWarning.String())
	assert.Equal(t, "error", SeverityError.String())
}

func TestCatalogueFileErrorsAreFatal(t *testing.T) {
	cases := map[string]struct {
		file, content, want string
	}{
		"reversed range": {MetricsFile, "name,description,unit,min,max\nHGB,h,g/L,200,30\n",
			"metrics.csv:2:5 (max): max 30 is below min 200"},
		"bad bound": {MetricsFile, "name,description,unit,min,max\nHGB,h,g/L,low,30\n",
			`metrics.csv:2:4 (min): not a finite number: "low"`},
		"duplicate metric": {MetricsFile, "name,min,max\nHGB,1,2\nHGB,1,2\n",
			"metrics.csv:3:1 (name): duplicate metric (also on line 2)"},
		"reserved metric": {MetricsFile, "name,min,max\ndate,1,2\n",
			`metrics.csv:2:1 (name): metric name "date" is reserved for a visits.csv column`},
		"unknown column": {MetricsFile, "name,min,max,colour\nHGB,1,2,red\n",
			"metrics.csv:1:4 (colour): unknown column"},
		"no metric": {MetricsFile, "name,min,max\n",
			"metrics.csv: no metric; delete the file to use the obstetric catalogue"},
		"ragged metric": {MetricsFile, "name,min,max\nHGB,1\n",
			"metrics.csv:2:3: row has 2 fields, the header has 3"},
		"duplicate label": {LabelsFile, "label\nnormal\nnormal\n",
			"labels.csv:3:1 (label): duplicate label (also on line 2)"},
		"blank label": {LabelsFile, "label\n\" \"\n",
			"labels.csv:2:1 (label): empty label"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, WriteDir(dir, smallCohort()))
			require.NoError(t, writeFile(dir, tc.file, tc.content))
			for _, lenient := range []bool{false, true} {
				_, _, err := ReadDir(dir, ReadOptions{Lenient: lenient})
				var ve *ValidationError
				require.ErrorAs(t, err, &ve, "lenient=%v", lenient)
				assert.Contains(t, issueStrings(ve.Issues), tc.want)
			}
		})
	}
}

func TestReadOptionsErrors(t *testing.T) {
	_, _, err := readSmall(basePatients, baseVisits, ReadOptions{MaxVisits: -1})
	require.Error(t, err)
	_, _, err = ReadCohort(strings.NewReader(basePatients), strings.NewReader(baseVisits),
		ReadOptions{Metrics: []Metric{{Name: "X", Min: 2, Max: 1}}})
	require.Error(t, err)
	var ve *ValidationError
	assert.False(t, errors.As(err, &ve), "a bad option is not a data error")
}

// utf16le encodes s (ASCII) as UTF-16LE without a byte-order mark.
func utf16le(s string) string {
	b := make([]byte, 0, 2*len(s))
	for _, r := range utf16.Encode([]rune(s)) {
		b = append(b, byte(r), byte(r>>8))
	}
	return string(b)
}
