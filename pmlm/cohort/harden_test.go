package cohort

import (
	"fmt"
	"os"
	"path/filepath"
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
