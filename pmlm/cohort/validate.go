package cohort

import (
	"fmt"
	"strconv"
	"strings"
)

// Severity tells whether an Issue stopped its row from being used.
type Severity int

// The severities of an Issue.
const (
	// SeverityError marks a problem that makes a strict read fail and a
	// lenient read skip the row.
	SeverityError Severity = iota
	// SeverityWarning marks a problem the reader worked around; the data
	// is kept.
	SeverityWarning
)

// String returns "error" or "warning".
func (s Severity) String() string {
	switch s {
	case SeverityError:
		return "error"
	case SeverityWarning:
		return "warning"
	}
	return "Severity(" + strconv.Itoa(int(s)) + ")"
}

// Issue is one problem found in a cohort's data files, with its place.
type Issue struct {
	// File is the base name of the file, for example "visits.csv".
	File string
	// Line is the 1-based line on which the row starts (a quoted field may
	// span lines); 0 when the problem concerns the whole file.
	Line int
	// Column is the 1-based field number (for a row with the wrong number
	// of fields, the first field too many or too few); 0 when the problem
	// concerns the whole row or a column absent from the file.
	Column int
	// ColumnName is the header name of the column; empty when the problem
	// concerns the whole row.
	ColumnName string
	// Patient is the ID of the patient concerned, when known. Error does
	// not print it: the place identifies the row without repeating an
	// identifier in logs.
	Patient string
	// Message says what is wrong, and for a skipped row that it was
	// skipped.
	Message string
	// Severity is SeverityError or SeverityWarning.
	Severity Severity
}

// Error formats the issue as FILE:LINE:COLUMN (NAME): MESSAGE, leaving out
// the parts that are unknown.
func (i Issue) Error() string {
	var b strings.Builder
	b.WriteString(i.File)
	if i.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(i.Line))
		if i.Column > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(i.Column))
		}
	}
	if i.ColumnName != "" {
		b.WriteString(" (")
		b.WriteString(i.ColumnName)
		b.WriteByte(')')
	}
	b.WriteString(": ")
	b.WriteString(i.Message)
	return b.String()
}

// Report lists what a read worked around. Both lists are complete: every
// skipped row and every warning is there.
type Report struct {
	// Warnings are problems the reader worked around while keeping the
	// data (for example visits out of date order, which it sorts).
	Warnings []Issue
	// Skipped are the errors that made a lenient read skip rows, one entry
	// per problem (a row with two bad cells has two entries) and one entry
	// per row skipped because a row it depends on was skipped. A strict
	// read never skips.
	Skipped []Issue
	// Notes say what the reader assumed, such as the built-in catalogue
	// when the directory has no metrics.csv.
	Notes []string
}

// SkippedRows returns the number of distinct rows in Skipped (a row with
// several problems has several entries).
func (r *Report) SkippedRows() int {
	type place struct {
		file string
		line int
	}
	rows := make(map[place]bool, len(r.Skipped))
	for _, is := range r.Skipped {
		rows[place{is.File, is.Line}] = true
	}
	return len(rows)
}

// MaxListedIssues is how many issues a ValidationError keeps; it still
// counts all of them.
const MaxListedIssues = 100

// ValidationError reports that a cohort's data files are invalid. It lists
// the errors found, not only the first; retrieve it with errors.As.
type ValidationError struct {
	// Issues are the first MaxListedIssues errors, in the order found
	// (file by file, row by row).
	Issues []Issue
	// Total is the number of errors found, listed or not.
	Total int
	// Notes are the report's notes (what the reader assumed), which may
	// explain the errors.
	Notes []string
}

// Error lists the issues, one per line after a summary line.
func (e *ValidationError) Error() string {
	var b strings.Builder
	noun := "errors"
	if e.Total == 1 {
		noun = "error"
	}
	fmt.Fprintf(&b, "invalid cohort data: %d %s", e.Total, noun)
	for _, n := range e.Notes {
		b.WriteString("\n\tnote: ")
		b.WriteString(n)
	}
	for _, is := range e.Issues {
		b.WriteString("\n\t")
		b.WriteString(is.Error())
	}
	if n := e.Total - len(e.Issues); n > 0 {
		fmt.Fprintf(&b, "\n\t... and %d more", n)
	}
	return b.String()
}

// Unwrap returns the listed issues as errors, so that errors.As can reach
// an Issue.
func (e *ValidationError) Unwrap() []error {
	errs := make([]error, len(e.Issues))
	for i, is := range e.Issues {
		errs[i] = is
	}
	return errs
}

// collector gathers the issues of one read: errors (which, when lenient,
// become skipped rows) and warnings.
type collector struct {
	lenient bool
	report  Report
	errs    []Issue
	nErrs   int
}

// fatal records an error that fails the read in both modes.
func (c *collector) fatal(is Issue) {
	is.Severity = SeverityError
	c.nErrs++
	if len(c.errs) < MaxListedIssues {
		c.errs = append(c.errs, is)
	}
}

// reject records an error about a row: it fails a strict read and is
// reported as a skipped row by a lenient one.
func (c *collector) reject(is Issue) {
	if !c.lenient {
		c.fatal(is)
		return
	}
	is.Severity = SeverityError
	c.report.Skipped = append(c.report.Skipped, is)
}

// warn records a problem that keeps the data.
func (c *collector) warn(is Issue) {
	is.Severity = SeverityWarning
	c.report.Warnings = append(c.report.Warnings, is)
}

// err returns the ValidationError of the errors recorded so far, or nil.
func (c *collector) err() error {
	if c.nErrs == 0 {
		return nil
	}
	return &ValidationError{Issues: c.errs, Total: c.nErrs}
}
