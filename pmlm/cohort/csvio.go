package cohort

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pmlm-go/pmlm/internal/decimal"
)

// The files of a cohort directory (see the package documentation for their
// format).
const (
	VisitsFile   = "visits.csv"
	PatientsFile = "patients.csv"
	MetricsFile  = "metrics.csv"
	LabelsFile   = "labels.csv"
)

// The fixed column names of the data files.
const (
	colPatientID = "patient_id"
	colDate      = "date"
	colIndexDate = "index_date"
	colLabel     = "label"
	colResponse  = "response"
)

// ReadOptions configures ReadDir and ReadCohort.
type ReadOptions struct {
	// MaxVisits is the largest number of visits a patient may have;
	// 0 means DefaultMaxVisits.
	MaxVisits int
	// Lenient makes the reader skip rows with errors, reporting each in
	// Report.Skipped, instead of failing.
	Lenient bool
	// Metrics is the metric catalogue. Empty means: metrics.csv when the
	// directory has one (ReadDir), otherwise ObstetricMetrics.
	Metrics []Metric
	// Labels is the label set. Empty means: labels.csv when the directory
	// has one (ReadDir), otherwise ObstetricLabels.
	Labels []string
	// MaxFileBytes, MaxLineBytes and MaxFieldBytes bound what one file may
	// hold, so that a damaged or hostile file is refused with its file and
	// line named instead of exhausting memory: the file's size, a physical
	// line's length and a field's length in bytes. 0 means
	// DefaultMaxFileBytes, DefaultMaxLineBytes and DefaultMaxFieldBytes.
	// Exceeding one fails the read in both modes.
	MaxFileBytes, MaxLineBytes, MaxFieldBytes int64
}

// The default input limits of ReadOptions: far above any real cohort
// (the default synthetic cohort's visits.csv is about 1 MB with lines of
// about 300 bytes), far below what exhausts a machine's memory.
const (
	DefaultMaxFileBytes  int64 = 4 << 30
	DefaultMaxLineBytes  int64 = 1 << 20
	DefaultMaxFieldBytes int64 = 256 << 10
)

// limits returns the input limits with their defaults applied, or an
// error for a negative one.
func (o ReadOptions) limits() (inputLimits, error) {
	l := inputLimits{file: o.MaxFileBytes, line: o.MaxLineBytes, field: o.MaxFieldBytes}
	if l.file < 0 || l.line < 0 || l.field < 0 {
		return l, fmt.Errorf("pmlm: read cohort: negative input limit (MaxFileBytes %d, MaxLineBytes %d, MaxFieldBytes %d)", l.file, l.line, l.field)
	}
	if l.file == 0 {
		l.file = DefaultMaxFileBytes
	}
	if l.line == 0 {
		l.line = DefaultMaxLineBytes
	}
	if l.field == 0 {
		l.field = DefaultMaxFieldBytes
	}
	return l, nil
}

type inputLimits struct{ file, line, field int64 }

// ReadDir reads and validates the cohort stored in dir (visits.csv,
// patients.csv and, when present, metrics.csv and labels.csv).
//
// The report is never nil, even with an error. Invalid data gives a
// *ValidationError listing the problems; a file that cannot be opened gives
// an error wrapping the fs error (errors.Is(err, fs.ErrNotExist) for a
// missing file).
func ReadDir(dir string, opts ReadOptions) (*Cohort, *Report, error) {
	col := &collector{lenient: opts.Lenient}
	lim, err := opts.limits()
	if err != nil {
		return nil, &col.report, err
	}
	// A directory that is not there is that error alone, before any note
	// about the optional files it lacks.
	if fi, err := os.Stat(dir); err != nil {
		return nil, &col.report, fmt.Errorf("cohort: %w", err)
	} else if !fi.IsDir() {
		return nil, &col.report, fmt.Errorf("cohort: %s is not a directory", dir)
	}
	if len(opts.Metrics) == 0 {
		m, err := readOptional(dir, MetricsFile, col, lim, readMetrics)
		if err != nil {
			return nil, &col.report, err
		}
		opts.Metrics = m
		if m == nil {
			col.report.Notes = append(col.report.Notes, fmt.Sprintf(
				"%s has no %s: the built-in obstetric catalogue of %d metrics was assumed for the columns of %s",
				dir, MetricsFile, len(ObstetricMetrics()), VisitsFile))
		}
	}
	if len(opts.Labels) == 0 {
		l, err := readOptional(dir, LabelsFile, col, lim, readLabels)
		if err != nil {
			return nil, &col.report, err
		}
		opts.Labels = l
		if l == nil {
			col.report.Notes = append(col.report.Notes, fmt.Sprintf(
				"%s has no %s: the built-in obstetric label set of %d labels was assumed", dir, LabelsFile, len(ObstetricLabels())))
		}
	}
	if err := col.err(); err != nil {
		return nil, &col.report, err
	}
	patients, err := openRegular(filepath.Join(dir, PatientsFile))
	if err != nil {
		return nil, &col.report, err
	}
	defer patients.Close()
	visits, err := openRegular(filepath.Join(dir, VisitsFile))
	if err != nil {
		return nil, &col.report, err
	}
	defer visits.Close()
	c, rep, err := readCohort(patients, visits, opts, col)
	var ve *ValidationError
	if errors.As(err, &ve) {
		ve.Notes = rep.Notes
	}
	return c, rep, err
}

// openRegular opens a file of a cohort directory, refusing what is not a
// regular file: a FIFO or a device (/dev/zero) would block or never end.
func openRegular(path string) (*os.File, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("pmlm: read cohort: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("pmlm: read cohort: %s is not a regular file (%s)", path, fi.Mode().Type())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pmlm: read cohort: %w", err)
	}
	return f, nil
}

// readOptional reads the catalogue file name of dir with read, or returns
// nil when the file does not exist.
func readOptional[T any](dir, name string, col *collector, lim inputLimits, read func(*csvFile) []T) ([]T, error) {
	f, err := openRegular(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cf := openCSV(name, f, col, lim)
	out := read(cf)
	if cf.ioErr != nil {
		return nil, fmt.Errorf("pmlm: read cohort: %s: %w", name, cf.ioErr)
	}
	return out, nil
}

// ReadCohort reads and validates a cohort from the contents of a
// patients.csv and a visits.csv file; the metric catalogue and the label
// set come from opts (the obstetric ones by default). Issues name the files
// PatientsFile and VisitsFile. The report is never nil.
func ReadCohort(patients, visits io.Reader, opts ReadOptions) (*Cohort, *Report, error) {
	return readCohort(patients, visits, opts, &collector{lenient: opts.Lenient})
}

func readCohort(patients, visits io.Reader, opts ReadOptions, col *collector) (*Cohort, *Report, error) {
	if opts.MaxVisits < 0 {
		return nil, &col.report, fmt.Errorf("pmlm: read cohort: negative MaxVisits %d", opts.MaxVisits)
	}
	if opts.MaxVisits == 0 {
		opts.MaxVisits = DefaultMaxVisits
	}
	if len(opts.Metrics) == 0 {
		opts.Metrics = ObstetricMetrics()
	}
	if len(opts.Labels) == 0 {
		opts.Labels = ObstetricLabels()
	}
	if err := checkCatalogue(opts.Metrics, opts.Labels); err != nil {
		return nil, &col.report, fmt.Errorf("pmlm: read cohort: %w", err)
	}
	lim, err := opts.limits()
	if err != nil {
		return nil, &col.report, err
	}
	r := &cohortReader{
		opts:    opts,
		col:     col,
		labels:  make(map[string]bool, len(opts.Labels)),
		metrics: opts.Metrics,
	}
	for _, l := range opts.Labels {
		r.labels[l] = true
	}
	pf, vf := openCSV(PatientsFile, patients, col, lim), openCSV(VisitsFile, visits, col, lim)
	okPatients := r.readPatients(pf)
	okVisits := r.readVisits(vf)
	for _, f := range []*csvFile{pf, vf} {
		if f.ioErr != nil {
			return nil, &col.report, fmt.Errorf("pmlm: read cohort: %s: %w", f.name, f.ioErr)
		}
	}
	if !okPatients || !okVisits {
		return nil, &col.report, col.err()
	}
	c := r.assemble()
	if err := col.err(); err != nil {
		return nil, &col.report, err
	}
	return c, &col.report, nil
}

// utf8BOM is the byte-order mark some spreadsheet programs put at the start
// of a UTF-8 file.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// csvFile reads the rows of one CSV file, reporting malformed ones.
type csvFile struct {
	name   string
	r      *csv.Reader
	col    *collector
	header []string
	// strict makes malformed rows fatal even in a lenient read (catalogue
	// files).
	strict bool
	// ioErr is an error of the underlying reader; it ends the file.
	ioErr error
	// onRagged, when set, is told of each row with the wrong number of
	// fields.
	onRagged func(rec []string)
	// encodingErr, when set, says why the file is not UTF-8 text; it is
	// fatal at the header.
	encodingErr string
	// ownUTF8Check makes next return rows with invalid UTF-8 for the
	// caller to reject (patients.csv, whose rejected rows must keep their
	// patient ID); otherwise next reports and skips them.
	ownUTF8Check bool
	// maxField is the longest field accepted, in bytes; ended is set when
	// the file broke one of its input limits (reported as a fatal issue).
	maxField int64
	ended    bool
}

func openCSV(name string, r io.Reader, col *collector, lim inputLimits) *csvFile {
	br := bufio.NewReaderSize(&limitReader{r: r, maxFile: lim.file, maxLine: lim.line, line: 1}, 64<<10)
	if b, err := br.Peek(len(utf8BOM)); err == nil && bytes.Equal(b, utf8BOM) {
		_, _ = br.Discard(len(utf8BOM))
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	f := &csvFile{name: name, r: cr, col: col, maxField: lim.field}
	// UTF-16 (a byte-order mark, or the NUL bytes of ASCII text in it) is
	// named as such: read as UTF-8 it gives only "missing column" errors.
	head, _ := br.Peek(512)
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}) || bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		f.encodingErr = "the file is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8"
	case bytes.IndexByte(head, 0) >= 0:
		f.encodingErr = "the file holds NUL bytes: it is UTF-16 or binary, not UTF-8 text; save it as UTF-8"
	}
	return f
}

// checkUTF8 reports the first field of rec that is not valid UTF-8 (a
// Latin-1 or Windows-1252 file read as UTF-8 would otherwise turn "é" into
// U+FFFD silently) and returns false; line is the row's first line.
func (f *csvFile) checkUTF8(rec []string, line int, report func(Issue)) bool {
	if i, msg := invalidUTF8(rec); i >= 0 {
		report(f.cell(line, i, msg))
		return false
	}
	return true
}

// invalidUTF8 returns the index of the first field of rec that is not
// valid UTF-8 and the message that says so, or -1.
func invalidUTF8(rec []string) (int, string) {
	for i, field := range rec {
		if utf8.ValidString(field) {
			continue
		}
		at := 0
		for at < len(field) {
			r, n := utf8.DecodeRuneInString(field[at:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			at += n
		}
		return i, fmt.Sprintf("invalid UTF-8 at byte %d of the field (is the file Latin-1 or Windows-1252? save it as UTF-8)", at+1)
	}
	return -1, ""
}

// readHeader reads the header row and returns false, after reporting it,
// when there is none. Header names are trimmed of surrounding spaces.
func (f *csvFile) readHeader() bool {
	if f.encodingErr != "" {
		f.col.fatal(Issue{File: f.name, Line: 1, Message: f.encodingErr})
		return false
	}
	rec, err := f.r.Read()
	if err == io.EOF {
		f.col.fatal(Issue{File: f.name, Message: "empty file; want a header row"})
		return false
	}
	if err != nil {
		var pe *csv.ParseError
		switch {
		case f.overLimit(err):
		case errors.As(err, &pe):
			f.col.fatal(Issue{File: f.name, Line: pe.Line,
				Message: fmt.Sprintf("malformed header row at character %d: %v", pe.Column, pe.Err)})
		default:
			f.ioErr = err
		}
		return false
	}
	if !f.checkUTF8(rec, 1, f.col.fatal) {
		return false
	}
	f.header = make([]string, len(rec))
	for i, h := range rec {
		f.header[i] = strings.TrimSpace(h)
	}
	f.r.FieldsPerRecord = len(rec)
	return true
}

// next returns the next well-formed row and the line it starts on; it
// reports malformed rows (which a lenient read skips) and returns false at
// the end of the file.
func (f *csvFile) next() ([]string, int, bool) {
	for f.ioErr == nil && !f.ended {
		rec, err := f.r.Read()
		if err == io.EOF {
			return nil, 0, false
		}
		if err != nil {
			f.readError(err, rec)
			continue
		}
		line, _ := f.r.FieldPos(0)
		if i := longField(rec, f.maxField); i >= 0 {
			f.col.fatal(f.cell(line, i, fmt.Sprintf("field of %d bytes, more than the limit of %d (ReadOptions.MaxFieldBytes)",
				len(rec[i]), f.maxField)))
			continue
		}
		report := f.col.reject
		if f.strict {
			report = f.col.fatal
		}
		if !f.ownUTF8Check && !f.checkUTF8(rec, line, report) {
			continue
		}
		return rec, line, true
	}
	return nil, 0, false
}

// readError reports an error of csv.Reader.Read.
func (f *csvFile) readError(err error, rec []string) {
	report := f.col.reject
	if f.strict {
		report = f.col.fatal
	}
	var pe *csv.ParseError
	switch {
	case f.overLimit(err):
	case errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount):
		// The column is the first field too many or too few.
		report(Issue{File: f.name, Line: pe.StartLine, Column: min(len(rec), len(f.header)) + 1,
			Message: fmt.Sprintf("row has %d fields, the header has %d", len(rec), len(f.header))})
		if f.onRagged != nil {
			f.onRagged(rec)
		}
	case errors.As(err, &pe):
		report(Issue{File: f.name, Line: pe.Line,
			Message: fmt.Sprintf("malformed CSV at character %d: %v", pe.Column, pe.Err)})
	default:
		f.ioErr = err
	}
}

// overLimit reports whether err is a broken input limit; if so it reports
// it as a fatal issue and ends the file: what follows cannot be read within
// the limits.
func (f *csvFile) overLimit(err error) bool {
	var le *limitError
	if !errors.As(err, &le) {
		return false
	}
	f.col.fatal(Issue{File: f.name, Line: le.line, Message: le.msg})
	f.ended = true
	return true
}

// longField returns the index of the first field of rec longer than max
// bytes, or -1.
func longField(rec []string, max int64) int {
	for i, field := range rec {
		if int64(len(field)) > max {
			return i
		}
	}
	return -1
}

// limitError is a broken input limit, at a physical line of the file.
type limitError struct {
	line int
	msg  string
}

func (e *limitError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

// limitReader passes r through, counting lines, and fails once the data
// exceed maxFile bytes or a physical line exceeds maxLine bytes: the CSV
// reader buffers a whole record, so an endless line would otherwise take
// all memory.
type limitReader struct {
	r                io.Reader
	maxFile, maxLine int64
	total, inLine    int64
	line             int // the current physical line, from 1
	err              error
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	if l.total+int64(n) > l.maxFile {
		n = int(l.maxFile - l.total)
		l.err = &limitError{line: l.line, msg: fmt.Sprintf("the file is larger than %d bytes (ReadOptions.MaxFileBytes)", l.maxFile)}
	}
	l.total += int64(n)
	for rest := p[:n]; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			l.inLine += int64(len(rest))
			break
		}
		l.inLine += int64(i)
		if l.inLine > l.maxLine {
			break
		}
		l.line++
		l.inLine = 0
		rest = rest[i+1:]
	}
	if l.inLine > l.maxLine {
		l.err = &limitError{line: l.line, msg: fmt.Sprintf("line longer than %d bytes (ReadOptions.MaxLineBytes)", l.maxLine)}
	}
	if l.err != nil {
		return n, l.err
	}
	return n, err
}

// cell returns an Issue placed at field i of the row starting on line.
func (f *csvFile) cell(line, i int, msg string) Issue {
	is := Issue{File: f.name, Line: line, Column: i + 1, Message: msg}
	if i < len(f.header) {
		is.ColumnName = f.header[i]
	}
	return is
}

// layout maps the header of a file to column positions.
type layout struct {
	required map[string]int // fixed column name → field index
	metric   []int          // field index → metric index, -1 when ignored
}

// readLayout reads the header of f and finds the required columns and, when
// metrics is not nil, one column per metric. It reports false when the file
// cannot be read at all.
func (f *csvFile) readLayout(required []string, metrics []Metric, fixedNote string) (layout, bool) {
	if !f.readHeader() {
		return layout{}, false
	}
	ok := true
	lay := layout{required: map[string]int{}, metric: make([]int, len(f.header))}
	byName := map[string]int{}
	for i, h := range f.header {
		lay.metric[i] = -1
		if j, dup := byName[h]; dup {
			f.col.fatal(Issue{File: f.name, Line: 1, Column: i + 1, ColumnName: h,
				Message: fmt.Sprintf("duplicate column (also column %d)", j+1)})
			ok = false
			continue
		}
		byName[h] = i
	}
	for _, name := range required {
		i, found := byName[name]
		if !found {
			f.col.fatal(Issue{File: f.name, Line: 1, ColumnName: name, Message: "missing column"})
			ok = false
			continue
		}
		lay.required[name] = i
		delete(byName, name)
	}
	for m, metric := range metrics {
		i, found := byName[metric.Name]
		if !found {
			is := Issue{File: f.name, Line: 1, ColumnName: metric.Name, Message: "missing column"}
			if f.col.lenient {
				is.Message += "; every value of this metric is taken as missing"
				f.col.warn(is)
			} else {
				is.Message += " (a metric of the catalogue)"
				f.col.fatal(is)
			}
			continue
		}
		lay.metric[i] = m
		delete(byName, metric.Name)
	}
	for i, h := range f.header {
		if j, left := byName[h]; !left || j != i {
			continue
		}
		is := Issue{File: f.name, Line: 1, Column: i + 1, ColumnName: h, Message: "unknown column"}
		is.Message += didYouMean(h, f.header, required, metrics) + fixedNote
		if f.col.lenient {
			is.Message += "; ignored"
			f.col.warn(is)
		} else {
			f.col.fatal(is)
		}
	}
	return lay, ok
}

// didYouMean suggests the expected column that name differs from only in
// case or spaces.
func didYouMean(name string, header, required []string, metrics []Metric) string {
	squash := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, " ", "")) }
	candidates := slices.Clone(required)
	for _, m := range metrics {
		candidates = append(candidates, m.Name)
	}
	for _, c := range candidates {
		if c != name && squash(c) == squash(name) && !slices.Contains(header, c) {
			return fmt.Sprintf(" (did you mean %q?)", c)
		}
	}
	return ""
}

// patientEntry is a row of patients.csv and the visits read for it.
type patientEntry struct {
	p    Patient
	line int
	// bad marks a row with an error: a lenient read skips it and its
	// visits.
	bad bool
	// duplicate marks a row whose ID an earlier row has; repeated marks a
	// row whose ID a later row has.
	duplicate, repeated bool
	visits              []pendingVisit
	// rejected counts the visit rows of this patient with an error.
	rejected int
	// tooMany is the line of the first visit row beyond the maximum, in
	// file order.
	tooMany int
}

type pendingVisit struct {
	v    Visit
	line int
}

// cohortReader holds the state of one ReadCohort call.
type cohortReader struct {
	opts      ReadOptions
	col       *collector
	metrics   []Metric
	labels    map[string]bool
	entries   []*patientEntry
	byID      map[string]*patientEntry
	visitCols layout
	// patientIDCol is the field index of patient_id in patients.csv.
	patientIDCol int
}

// readPatients reads patients.csv; it returns false when the file cannot
// be used at all.
func (r *cohortReader) readPatients(f *csvFile) bool {
	lay, ok := f.readLayout([]string{colPatientID, colIndexDate, colLabel, colResponse}, nil,
		"; patients.csv has the columns patient_id, index_date, label, response")
	if !ok {
		return false
	}
	idCol, dateCol := lay.required[colPatientID], lay.required[colIndexDate]
	r.patientIDCol = idCol
	labelCol, respCol := lay.required[colLabel], lay.required[colResponse]
	r.byID = map[string]*patientEntry{}
	f.ownUTF8Check = true
	for {
		rec, line, more := f.next()
		if !more {
			break
		}
		id := rec[idCol]
		if id == "" {
			r.col.reject(f.cell(line, idCol, "empty patient ID"))
			continue
		}
		e := &patientEntry{p: Patient{ID: id, Label: rec[labelCol], Response: rec[respCol]}, line: line}
		reject := func(i int, msg string) {
			is := f.cell(line, i, msg)
			is.Patient = id
			r.col.reject(is)
			e.bad = true
		}
		if i, msg := invalidUTF8(rec); i >= 0 {
			reject(i, msg)
		}
		d, err := parseDate(rec[dateCol])
		if err != nil {
			reject(dateCol, err.Error())
		}
		e.p.IndexDate = d
		if !r.labels[e.p.Label] {
			reject(labelCol, fmt.Sprintf("unknown label %s%s", quoteCell(e.p.Label), r.labelHint(e.p.Label)))
		}
		if strings.TrimSpace(e.p.Response) == "" {
			reject(respCol, "empty response")
		}
		r.entries = append(r.entries, e)
		first, dup := r.byID[id]
		if !dup {
			r.byID[id] = e
			continue
		}
		e.duplicate = true
		if !r.col.lenient {
			reject(idCol, fmt.Sprintf("duplicate patient ID (first on line %d)", first.line))
			continue
		}
		const msg = "duplicate patient ID (also on line %d); every row with this ID is skipped"
		reject(idCol, fmt.Sprintf(msg, first.line))
		if !first.repeated {
			first.repeated, first.bad = true, true
			r.col.reject(Issue{File: f.name, Line: first.line, Column: idCol + 1, ColumnName: colPatientID,
				Patient: id, Message: fmt.Sprintf(msg, line)})
		}
	}
	return true
}

// labelHint suggests the label that label differs from only in case or
// surrounding spaces.
func (r *cohortReader) labelHint(label string) string {
	for _, l := range r.opts.Labels {
		if strings.EqualFold(strings.TrimSpace(label), l) {
			return fmt.Sprintf(" (did you mean %q?)", l)
		}
	}
	return fmt.Sprintf(" (not one of the %d labels of the label set)", len(r.labels))
}

// readVisits reads visits.csv into the entries of readPatients; it returns
// false when either file cannot be used at all.
func (r *cohortReader) readVisits(f *csvFile) bool {
	lay, ok := f.readLayout([]string{colPatientID, colDate}, r.metrics,
		"; visits.csv has the columns patient_id, date and one per metric of the catalogue")
	if !ok || r.byID == nil {
		return false
	}
	idCol, dateCol := lay.required[colPatientID], lay.required[colDate]
	f.onRagged = func(rec []string) {
		if idCol < len(rec) {
			if e := r.byID[rec[idCol]]; e != nil {
				e.rejected++
			}
		}
	}
	for {
		rec, line, more := f.next()
		if !more {
			break
		}
		id := rec[idCol]
		e := r.byID[id]
		switch {
		case id == "":
			r.col.reject(f.cell(line, idCol, "empty patient ID"))
			continue
		case e == nil:
			is := f.cell(line, idCol, "patient ID not in patients.csv")
			is.Patient = id
			r.col.reject(is)
			continue
		case e.bad && r.col.lenient:
			is := f.cell(line, idCol, fmt.Sprintf("the patient's row in patients.csv (line %d) was skipped", e.line))
			is.Patient = id
			r.col.reject(is)
			e.rejected++
			continue
		}
		rowOK := true
		reject := func(i int, msg string) {
			is := f.cell(line, i, msg)
			is.Patient = id
			r.col.reject(is)
			rowOK = false
		}
		d, err := parseDate(rec[dateCol])
		if err != nil {
			reject(dateCol, err.Error())
		}
		values := make([]float64, len(r.metrics))
		for i := range values {
			values[i] = math.NaN()
		}
		measured := 0
		for i, m := range lay.metric {
			if m < 0 {
				continue
			}
			v, err := parseValue(rec[i], r.metrics[m])
			if err != nil {
				reject(i, err.Error())
				continue
			}
			if !IsMissing(v) {
				measured++
			}
			values[m] = v
		}
		if !rowOK {
			e.rejected++
			continue
		}
		if measured == 0 {
			is := Issue{File: f.name, Line: line, Patient: id, Message: "visit has no measured value"}
			r.col.warn(is)
		}
		if len(e.visits) == r.opts.MaxVisits {
			e.tooMany = line
		}
		e.visits = append(e.visits, pendingVisit{v: Visit{Date: d, Values: values}, line: line})
	}
	r.visitCols = lay
	return true
}

// assemble checks each patient's visits as a whole and builds the cohort
// from the patients that are kept.
func (r *cohortReader) assemble() *Cohort {
	c := &Cohort{Metrics: slices.Clone(r.metrics), Labels: slices.Clone(r.opts.Labels)}
	idCol := r.visitCols.required[colPatientID]
	dateCol := r.visitCols.required[colDate]
	visitIssue := func(e *patientEntry, line, col int, colName, msg string) Issue {
		return Issue{File: VisitsFile, Line: line, Column: col + 1, ColumnName: colName, Patient: e.p.ID, Message: msg}
	}
	for _, e := range r.entries {
		if e.bad && r.col.lenient || e.duplicate {
			// Skipped, or (strict) a repeated ID whose visits went to the
			// first row with it.
			continue
		}
		if len(e.visits) == 0 {
			msg := "patient has no visits in visits.csv"
			if e.rejected > 0 {
				if !r.col.lenient {
					continue // the errors of its visit rows are recorded
				}
				msg = fmt.Sprintf("patient skipped: all of its %d visit rows were skipped", e.rejected)
			}
			r.col.reject(Issue{File: PatientsFile, Line: e.line, Column: r.patientIDCol + 1, ColumnName: colPatientID,
				Patient: e.p.ID, Message: msg})
			continue
		}
		for i := 1; i < len(e.visits); i++ {
			if e.visits[i].v.Date.Before(e.visits[i-1].v.Date) {
				r.col.warn(visitIssue(e, e.visits[i].line, dateCol, colDate, fmt.Sprintf(
					"visit dated before the patient's previous visit (line %d); the patient's visits are sorted by date",
					e.visits[i-1].line)))
				slices.SortStableFunc(e.visits, func(a, b pendingVisit) int { return a.v.Date.Compare(b.v.Date) })
				break
			}
		}
		if n := len(e.visits); n > r.opts.MaxVisits {
			if !r.col.lenient {
				r.col.reject(visitIssue(e, e.tooMany, idCol, colPatientID, fmt.Sprintf(
					"patient has %d visits, more than the maximum of %d (this is the first row beyond it)", n, r.opts.MaxVisits)))
			} else {
				for _, pv := range e.visits[:n-r.opts.MaxVisits] {
					r.col.reject(visitIssue(e, pv.line, idCol, colPatientID, fmt.Sprintf(
						"patient has %d visits, more than the maximum of %d; its earliest visits are skipped", n, r.opts.MaxVisits)))
				}
				e.visits = e.visits[n-r.opts.MaxVisits:]
			}
		}
		if e.bad {
			continue // strict read: the error is recorded; keep checking the rest
		}
		p := e.p
		p.Visits = make([]Visit, len(e.visits))
		for i, pv := range e.visits {
			p.Visits[i] = pv.v
			if pv.v.Date.After(p.IndexDate) {
				r.col.warn(visitIssue(e, pv.line, dateCol, colDate, "visit dated after the patient's index date; kept"))
			}
		}
		c.Patients = append(c.Patients, p)
	}
	return c
}

// parseDate parses a YYYY-MM-DD cell.
func parseDate(s string) (time.Time, error) {
	t, err := time.Parse(DateLayout, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("unparsable date %s; want YYYY-MM-DD", quoteCell(s))
	}
	return t, nil
}

// parseValue parses the cell of metric m: empty is missing, anything else
// must be a finite number inside the physical range.
func parseValue(s string, m Metric) (float64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return math.NaN(), nil
	}
	v, err := decimal.Parse(t)
	if f, perr := strconv.ParseFloat(t, 64); errors.Is(err, decimal.ErrRange) || err != nil && perr == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return 0, fmt.Errorf("%s is not a finite number; leave the cell empty for a missing value", quoteCell(s))
	}
	if err != nil {
		// Hexadecimal floats ("0x1p3") and other notations strconv
		// accepts are refused too: values are decimal only.
		return 0, fmt.Errorf("not a number: %s; leave the cell empty for a missing value", quoteCell(s))
	}
	if !m.InRange(v) {
		return 0, fmt.Errorf("value %s outside the physical range [%s, %s]%s",
			formatFloat(v), formatFloat(m.Min), formatFloat(m.Max), unitSuffix(m.Unit))
	}
	return v, nil
}

func unitSuffix(unit string) string {
	if unit == "" {
		return ""
	}
	return " " + unit
}

// quoteCell quotes a cell for a message, shortened when long.
func quoteCell(s string) string {
	const maxRunes = 40
	if r := []rune(s); len(r) > maxRunes {
		return strconv.Quote(string(r[:maxRunes])) + "…"
	}
	return strconv.Quote(s)
}

// formatFloat formats v in the shortest form that parses back to v.
func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// readMetrics reads a metrics.csv catalogue; every problem is fatal.
func readMetrics(f *csvFile) []Metric {
	f.strict = true
	lay, ok := f.readCatalogueLayout([]string{"name", "min", "max"}, []string{"description", "unit"})
	if !ok {
		return nil
	}
	var out []Metric
	seen := map[string]int{}
	for {
		rec, line, more := f.next()
		if !more {
			break
		}
		m := Metric{Name: rec[lay["name"]]}
		if i, has := lay["description"]; has {
			m.Description = rec[i]
		}
		if i, has := lay["unit"]; has {
			m.Unit = rec[i]
		}
		fail := func(col, msg string) { f.col.fatal(f.cell(line, lay[col], msg)) }
		if err := checkMetricName(m.Name); err != nil {
			fail("name", err.Error())
		} else if prev, dup := seen[m.Name]; dup {
			fail("name", fmt.Sprintf("duplicate metric (also on line %d)", prev))
		}
		seen[m.Name] = line
		var err error
		if m.Min, err = parseBound(rec[lay["min"]]); err != nil {
			fail("min", err.Error())
		}
		if m.Max, err = parseBound(rec[lay["max"]]); err != nil {
			fail("max", err.Error())
		}
		if m.Min > m.Max {
			fail("max", fmt.Sprintf("max %s is below min %s", formatFloat(m.Max), formatFloat(m.Min)))
		}
		out = append(out, m)
	}
	if len(out) == 0 && f.ioErr == nil {
		f.col.fatal(Issue{File: f.name, Message: "no metric; delete the file to use the obstetric catalogue"})
	}
	return out
}

// readLabels reads a labels.csv label set; every problem is fatal.
func readLabels(f *csvFile) []string {
	f.strict = true
	lay, ok := f.readCatalogueLayout([]string{"label"}, nil)
	if !ok {
		return nil
	}
	var out []string
	seen := map[string]int{}
	for {
		rec, line, more := f.next()
		if !more {
			break
		}
		l := rec[lay["label"]]
		if prev, dup := seen[l]; dup {
			f.col.fatal(f.cell(line, lay["label"], fmt.Sprintf("duplicate label (also on line %d)", prev)))
		} else if strings.TrimSpace(l) == "" {
			f.col.fatal(f.cell(line, lay["label"], "empty label"))
		}
		seen[l] = line
		out = append(out, l)
	}
	if len(out) == 0 && f.ioErr == nil {
		f.col.fatal(Issue{File: f.name, Message: "no label; delete the file to use the obstetric labels"})
	}
	return out
}

// readCatalogueLayout reads the header of a catalogue file, where every
// problem is fatal, and returns the field index of each column.
func (f *csvFile) readCatalogueLayout(required, optional []string) (map[string]int, bool) {
	if !f.readHeader() {
		return nil, false
	}
	ok := true
	idx := map[string]int{}
	for i, h := range f.header {
		switch {
		case !slices.Contains(required, h) && !slices.Contains(optional, h):
			f.col.fatal(Issue{File: f.name, Line: 1, Column: i + 1, ColumnName: h, Message: "unknown column"})
			ok = false
		default:
			if j, dup := idx[h]; dup {
				f.col.fatal(Issue{File: f.name, Line: 1, Column: i + 1, ColumnName: h,
					Message: fmt.Sprintf("duplicate column (also column %d)", j+1)})
				ok = false
			}
			idx[h] = i
		}
	}
	for _, name := range required {
		if _, found := idx[name]; !found {
			f.col.fatal(Issue{File: f.name, Line: 1, ColumnName: name, Message: "missing column"})
			ok = false
		}
	}
	return idx, ok
}

func parseBound(s string) (float64, error) {
	v, err := decimal.Parse(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("not a finite number: %s", quoteCell(s))
	}
	return v, nil
}

// checkMetricName reports a metric name that cannot be a visits.csv column.
func checkMetricName(name string) error {
	switch {
	case name == "":
		return errors.New("empty metric name")
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("metric name %q has surrounding spaces", name)
	case name == colPatientID || name == colDate:
		return fmt.Errorf("metric name %q is reserved for a visits.csv column", name)
	}
	return nil
}

// checkCatalogue reports the first problem of a metric catalogue and label
// set that ReadOptions or a Cohort to write carries.
func checkCatalogue(metrics []Metric, labels []string) error {
	seen := map[string]bool{}
	for _, m := range metrics {
		if err := checkMetricName(m.Name); err != nil {
			return err
		}
		if seen[m.Name] {
			return fmt.Errorf("duplicate metric %q", m.Name)
		}
		seen[m.Name] = true
		if math.IsNaN(m.Min) || math.IsNaN(m.Max) || math.IsInf(m.Min, 0) || math.IsInf(m.Max, 0) || m.Min > m.Max {
			return fmt.Errorf("metric %q: invalid physical range [%v, %v]", m.Name, m.Min, m.Max)
		}
	}
	seenLabel := map[string]bool{}
	for _, l := range labels {
		if strings.TrimSpace(l) == "" {
			return errors.New("empty label")
		}
		if seenLabel[l] {
			return fmt.Errorf("duplicate label %q", l)
		}
		seenLabel[l] = true
	}
	return nil
}
