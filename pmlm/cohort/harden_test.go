package cohort

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue 15 item 14: without metrics.csv the errors say that the built-in
// catalogue was assumed.
func TestReadDirSaysWhichCatalogueItAssumed(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, PatientsFile), []byte("patient_id,index_date,label,response\na,2021-05-01,normal,fine\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, VisitsFile), []byte("patient_id,date,FOO\na,2021-01-01,1\n"), 0o600))
	_, rep, err := ReadDir(dir, ReadOptions{})
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Contains(t, err.Error(), fmt.Sprintf("note: %s has no metrics.csv: the built-in obstetric catalogue of %d metrics was assumed", dir, len(ObstetricMetrics())))
	assert.Len(t, rep.Notes, 2, "metrics.csv and labels.csv are both absent")
}

// Issue 15 item 11: a cohort file that is a FIFO or a device is refused at
// once instead of blocking or reading forever.
func TestReadDirRefusesNonRegularFiles(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, PatientsFile), []byte("patient_id,index_date,label,response\n"), 0o600))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, VisitsFile), 0o600))
	_, _, err := ReadDir(dir, ReadOptions{})
	require.ErrorContains(t, err, "visits.csv is not a regular file")

	require.NoError(t, os.Remove(filepath.Join(dir, VisitsFile)))
	require.NoError(t, os.Symlink("/dev/zero", filepath.Join(dir, VisitsFile)))
	_, _, err = ReadDir(dir, ReadOptions{})
	require.ErrorContains(t, err, "visits.csv is not a regular file")
}

// TestReadRefusesOverlongInput (issue 15 item 11): a file larger than
// MaxFileBytes, a line longer than MaxLineBytes and a field longer than
// MaxFieldBytes are refused as errors naming the file, the line (and the
// column for a field) and the limit, in strict and lenient reads alike;
// an endless line is not read into memory.
func TestReadRefusesOverlongInput(t *testing.T) {
	opts := func(lenient bool) ReadOptions {
		return ReadOptions{Metrics: smallMetrics(), Labels: smallLabels(), Lenient: lenient,
			MaxFileBytes: 1 << 10, MaxLineBytes: 100, MaxFieldBytes: 20}
	}
	long := strings.Repeat("x", 150)
	for name, c := range map[string]struct {
		patients, visits string
		file             string
		line, column     int
		limit            string
	}{
		"file": {basePatients, baseVisits + strings.Repeat("c,2022-01-01,100,80,200\n", 40), VisitsFile, 0, 0, "MaxFileBytes"},
		"line": {basePatients, setLine(baseVisits, 4, "b,2021-10-01,105,65,"+long), VisitsFile, 4, 0, "MaxLineBytes"},
		"field": {setLine(basePatients, 3, "b,2022-02-01,thalassemia,"+strings.Repeat("y", 30)), baseVisits,
			PatientsFile, 3, 4, "MaxFieldBytes"},
	} {
		for _, lenient := range []bool{false, true} {
			_, _, err := ReadCohort(strings.NewReader(c.patients), strings.NewReader(c.visits), opts(lenient))
			var ve *ValidationError
			require.ErrorAs(t, err, &ve, "%s (lenient %v)", name, lenient)
			var found bool
			for _, is := range ve.Issues {
				if strings.Contains(is.Message, c.limit) {
					found = true
					assert.Equal(t, c.file, is.File, name)
					assert.Equal(t, c.column, is.Column, name)
					if c.line > 0 && name != "file" {
						assert.Equal(t, c.line, is.Line, name)
					}
				}
			}
			assert.True(t, found, "%s (lenient %v): %v", name, lenient, err)
		}
	}

	// An endless line (a device or a damaged file) stops at the limit.
	endless := io.MultiReader(strings.NewReader(baseVisits[:40]), zeroes{})
	_, _, err := ReadCohort(strings.NewReader(basePatients), endless, ReadOptions{Metrics: smallMetrics(), Labels: smallLabels()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "MaxLineBytes")

	_, _, err = ReadCohort(strings.NewReader(basePatients), strings.NewReader(baseVisits), ReadOptions{MaxLineBytes: -1})
	assert.ErrorContains(t, err, "negative input limit")
	c, _, err := ReadCohort(strings.NewReader(basePatients), strings.NewReader(baseVisits), ReadOptions{Metrics: smallMetrics(), Labels: smallLabels()})
	require.NoError(t, err, "the defaults accept an ordinary cohort")
	assert.Len(t, c.Patients, 3)
}

// zeroes is an endless stream of 'x' bytes without a newline.
type zeroes struct{}

func (zeroes) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}
