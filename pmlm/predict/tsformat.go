package predict

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/pmlm-go/pmlm/internal/decimal"
)

// TSData is a labelled time-series data set read from a UEA/UCR ".ts" file.
type TSData struct {
	// ProblemName is the @problemName of the header.
	ProblemName string
	// Dimensions is the number of channels of every series.
	Dimensions int
	// Classes is the class list declared by "@classLabel true ...", in
	// declaration order.
	Classes []string
	// Series holds one series per case, shape [timesteps][channels];
	// missing values ('?' or NaN) are NaN. Series may differ in length.
	Series [][][]float64
	// Labels holds the class label of each case, one of Classes.
	Labels []string
}

// LabelIndices returns the position in Classes of each case's label.
func (d *TSData) LabelIndices() []int {
	idx := make(map[string]int, len(d.Classes))
	for i, c := range d.Classes {
		idx[c] = i
	}
	out := make([]int, len(d.Labels))
	for i, l := range d.Labels {
		out[i] = idx[l] // ReadTS guarantees every label is declared
	}
	return out
}

// ErrTSFormat is wrapped by every error ReadTS returns for malformed input,
// so that callers can tell bad files from I/O failures.
var ErrTSFormat = errors.New("predict: malformed .ts file")

// TSError locates a format error in a ".ts" file. Line is 1-based;
// Dimension is the 1-based dimension (channel) of a data line, or 0 when the
// error concerns the whole line or the header.
type TSError struct {
	Name      string
	Line      int
	Dimension int
	Msg       string
}

// Error returns "NAME:LINE: dimension D: MSG".
func (e *TSError) Error() string {
	var b strings.Builder
	b.WriteString(e.Name)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Dimension > 0 {
		fmt.Fprintf(&b, "dimension %d: ", e.Dimension)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns ErrTSFormat.
func (e *TSError) Unwrap() error { return ErrTSFormat }

// The defaults of TSOptions.
const (
	// DefaultTSMaxLineBytes bounds one line of a .ts file (a whole
	// multivariate case).
	DefaultTSMaxLineBytes = 64 << 20
	// DefaultTSMaxSeriesLength bounds the values of one dimension of one
	// case (the longest UEA series has under 20,000).
	DefaultTSMaxSeriesLength = 100_000
)

// TSOptions bounds what ReadTSWith accepts, so that a damaged or hostile
// file is refused with the limit named instead of exhausting memory. Zero
// fields take the defaults.
type TSOptions struct {
	// MaxLineBytes bounds a line (DefaultTSMaxLineBytes).
	MaxLineBytes int
	// MaxSeriesLength bounds the values of one dimension of a case, and a
	// declared @seriesLength (DefaultTSMaxSeriesLength).
	MaxSeriesLength int
}

// ReadTS reads a classification data set in the UEA/UCR ".ts" format
// (https://www.timeseriesclassification.com): header lines @problemName,
// @timeStamps, @missing, @univariate, @dimensions, @equalLength,
// @seriesLength and @classLabel true LABEL..., then @data, then one case per
// line with dimensions separated by ':' and values by ',', the class label
// last. '?' and "NaN" mark missing values (allowed only with "@missing true").
// Lines starting with '#' and blank lines are ignored; header keywords are
// case-insensitive. name is used in error messages (typically the file
// name).
//
// Dimensions of one case that differ in length are padded at the end with
// NaN to the longest one. Time-stamped data ("@timeStamps true") and
// regression files ("@classLabel false", "@targetLabel") are not supported
// and give an error.
//
// Every format error is a *TSError wrapping ErrTSFormat and names the line
// and, for data lines, the dimension.
func ReadTS(r io.Reader, name string) (*TSData, error) {
	return ReadTSWith(r, name, TSOptions{})
}

// ReadTSWith is ReadTS with the limits of opts: a longer line or series is
// a *TSError naming the line and the limit.
func ReadTSWith(r io.Reader, name string, opts TSOptions) (*TSData, error) {
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = DefaultTSMaxLineBytes
	}
	if opts.MaxSeriesLength <= 0 {
		opts.MaxSeriesLength = DefaultTSMaxSeriesLength
	}
	p := tsParser{name: name, dims: -1, seriesLength: -1, maxSeries: opts.MaxSeriesLength}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, min(64<<10, opts.MaxLineBytes)), opts.MaxLineBytes)
	for sc.Scan() {
		p.line++
		if err := p.parseLine(strings.TrimSpace(sc.Text())); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			p.line++ // the line that did not fit
			return nil, p.errf(0, "line longer than the limit of %d bytes (TSOptions.MaxLineBytes)", opts.MaxLineBytes)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if !p.inData {
		p.line = 0
		return nil, p.errf(0, "no @data section")
	}
	if len(p.data.Series) == 0 {
		p.line = 0
		return nil, p.errf(0, "no cases after @data")
	}
	p.data.Dimensions = p.dims
	return &p.data, nil
}

type tsParser struct {
	name         string
	line         int
	inData       bool
	data         TSData
	classSet     map[string]bool
	hasClass     bool
	missing      bool
	equalLength  bool
	univariate   *bool
	dims         int // -1 until declared or seen
	seriesLength int // -1 unless declared
	maxSeries    int // TSOptions.MaxSeriesLength
}

func (p *tsParser) errf(dim int, format string, args ...any) error {
	return &TSError{Name: p.name, Line: p.line, Dimension: dim, Msg: fmt.Sprintf(format, args...)}
}

func (p *tsParser) parseLine(s string) error {
	if s == "" || s[0] == '#' {
		return nil
	}
	if p.inData {
		return p.parseCase(s)
	}
	if s[0] != '@' {
		return p.errf(0, "expected a header line starting with '@' or @data, got %q", clip(s))
	}
	fields := strings.Fields(s)
	key := strings.ToLower(fields[0])
	args := fields[1:]
	switch key {
	case "@problemname":
		p.data.ProblemName = strings.Join(args, " ")
	case "@timestamps":
		v, err := p.boolArg(key, args)
		if err != nil {
			return err
		}
		if v {
			return p.errf(0, "@timeStamps true is not supported")
		}
	case "@missing":
		v, err := p.boolArg(key, args)
		if err != nil {
			return err
		}
		p.missing = v
	case "@univariate":
		v, err := p.boolArg(key, args)
		if err != nil {
			return err
		}
		p.univariate = &v
		if v {
			if p.dims > 1 {
				return p.errf(0, "@univariate true contradicts @dimensions %d", p.dims)
			}
			p.dims = 1
		}
	case "@dimensions", "@dimension":
		n, err := p.intArg(key, args)
		if err != nil {
			return err
		}
		if p.univariate != nil && *p.univariate && n != 1 {
			return p.errf(0, "@dimensions %d contradicts @univariate true", n)
		}
		p.dims = n
	case "@equallength":
		v, err := p.boolArg(key, args)
		if err != nil {
			return err
		}
		p.equalLength = v
	case "@serieslength":
		n, err := p.intArg(key, args)
		if err != nil {
			return err
		}
		if n > p.maxSeries {
			return p.errf(0, "@seriesLength %d is more than the limit of %d (TSOptions.MaxSeriesLength)", n, p.maxSeries)
		}
		p.seriesLength = n
	case "@classlabel":
		if len(args) == 0 {
			return p.errf(0, "@classLabel needs true or false")
		}
		v, err := p.boolArg(key, args[:1])
		if err != nil {
			return err
		}
		if !v {
			return p.errf(0, "@classLabel false (unlabelled or regression data) is not supported")
		}
		if len(args) < 2 {
			return p.errf(0, "@classLabel true declares no classes")
		}
		p.classSet = make(map[string]bool, len(args)-1)
		for _, c := range args[1:] {
			if p.classSet[c] {
				return p.errf(0, "class %q declared twice", c)
			}
			p.classSet[c] = true
		}
		p.data.Classes = args[1:]
		p.hasClass = true
	case "@targetlabel":
		return p.errf(0, "@targetLabel (regression data) is not supported")
	case "@data":
		if !p.hasClass {
			return p.errf(0, "@data before @classLabel true ...")
		}
		p.inData = true
	default:
		return p.errf(0, "unknown header keyword %q", fields[0])
	}
	return nil
}

func (p *tsParser) boolArg(key string, args []string) (bool, error) {
	if len(args) != 1 {
		return false, p.errf(0, "%s needs one argument true or false", key)
	}
	switch strings.ToLower(args[0]) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, p.errf(0, "%s: %q is neither true nor false", key, args[0])
}

func (p *tsParser) intArg(key string, args []string) (int, error) {
	if len(args) != 1 {
		return 0, p.errf(0, "%s needs one integer argument", key)
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 || n > 1<<20 {
		return 0, p.errf(0, "%s: %q is not a positive integer", key, args[0])
	}
	return n, nil
}

func (p *tsParser) parseCase(s string) error {
	parts := strings.Split(s, ":")
	if len(parts) < 2 {
		return p.errf(0, "data line has no ':' before the class label")
	}
	label := strings.TrimSpace(parts[len(parts)-1])
	parts = parts[:len(parts)-1]
	if p.dims < 0 {
		p.dims = len(parts)
	}
	if len(parts) != p.dims {
		return p.errf(0, "%d dimensions, want %d", len(parts), p.dims)
	}
	if !p.classSet[label] {
		return p.errf(0, "class label %q is not declared in @classLabel", clip(label))
	}
	chans := make([][]float64, len(parts))
	maxLen := 0
	for d, part := range parts {
		vals, err := p.parseValues(d+1, part)
		if err != nil {
			return err
		}
		chans[d] = vals
		maxLen = max(maxLen, len(vals))
	}
	for d, vals := range chans {
		if p.equalLength && len(vals) != maxLen {
			return p.errf(d+1, "%d values, want %d (@equalLength true)", len(vals), maxLen)
		}
		if p.seriesLength > 0 && p.equalLength && len(vals) != p.seriesLength {
			return p.errf(d+1, "%d values, want %d (@seriesLength)", len(vals), p.seriesLength)
		}
	}
	series := make([][]float64, maxLen)
	for t := range series {
		row := make([]float64, len(chans))
		for d, vals := range chans {
			if t < len(vals) {
				row[d] = vals[t]
			} else {
				row[d] = math.NaN()
			}
		}
		series[t] = row
	}
	p.data.Series = append(p.data.Series, series)
	p.data.Labels = append(p.data.Labels, label)
	return nil
}

func (p *tsParser) parseValues(dim int, part string) ([]float64, error) {
	part = strings.TrimSpace(part)
	if part == "" {
		return nil, p.errf(dim, "no values")
	}
	// Counted before anything is allocated for the values.
	if n := strings.Count(part, ",") + 1; n > p.maxSeries {
		return nil, p.errf(dim, "%d values, more than the limit of %d (TSOptions.MaxSeriesLength)", n, p.maxSeries)
	}
	fields := strings.Split(part, ",")
	vals := make([]float64, len(fields))
	for i, f := range fields {
		f = strings.TrimSpace(f)
		if f == "?" || strings.EqualFold(f, "nan") {
			if !p.missing {
				return nil, p.errf(dim, "value %d: missing value %q but the header does not declare @missing true", i+1, f)
			}
			vals[i] = math.NaN()
			continue
		}
		v, err := decimal.Parse(f) // decimal only: no "0x1p3", no "Inf"
		if err != nil {
			return nil, p.errf(dim, "value %d: %q is not a finite number (decimal notation only)", i+1, clip(f))
		}
		vals[i] = v
	}
	return vals, nil
}

// clip shortens s for an error message.
func clip(s string) string {
	const n = 40
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
