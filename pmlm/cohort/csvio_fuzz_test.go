package cohort

import (
	"bytes"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzReadCohort feeds arbitrary patients.csv and visits.csv contents to
// the reader. It must never panic; a cohort it accepts must satisfy every
// rule it checks and survive a write and a strict re-read unchanged; a
// lenient read must account for every row; a failure must be a
// ValidationError that names its file.
func FuzzReadCohort(f *testing.F) {
	small := filepath.Join("testdata", "small")
	p, err := os.ReadFile(filepath.Join(small, PatientsFile))
	require.NoError(f, err)
	v, err := os.ReadFile(filepath.Join(small, VisitsFile))
	require.NoError(f, err)
	f.Add(string(p), string(v), false, uint8(0))
	f.Add(string(p), string(v), true, uint8(2))
	f.Add("\xEF\xBB\xBF"+string(p), "\xEF\xBB\xBF"+string(v), false, uint8(0))
	f.Add(basePatients, baseVisits, true, uint8(1))
	f.Add(basePatients+"a,2021-06-01,normal,again\nd,2021-07-01,normal,x\n",
		setLine(baseVisits, 3, "a,2021-03-01,118,abc,240")+"z,2021-01-01,1,2,3\n", true, uint8(0))
	f.Add(setLine(basePatients, 3, "b,2022-02-01,thalasemia,\"low\nMCV\""),
		setLine(baseVisits, 4, `b,2021-10-01,NaN,"65",1e999`), true, uint8(0))
	f.Add(basePatients, setLine(baseVisits, 3, `a,2021-03-01,1"18,87,240`), true, uint8(0))
	f.Add(basePatients, "patient_id,date,HGB,MCV,PLT,HGB\n", false, uint8(0))
	f.Add("", "", true, uint8(0))

	f.Fuzz(func(t *testing.T, patients, visits string, lenient bool, maxVisits uint8) {
		opts := ReadOptions{Metrics: smallMetrics(), Labels: smallLabels(), Lenient: lenient, MaxVisits: int(maxVisits % 50)}
		c, rep, err := ReadCohort(strings.NewReader(patients), strings.NewReader(visits), opts)
		require.NotNil(t, rep)
		if err != nil {
			requireNamedValidationError(t, c, err)
			return
		}
		if !lenient {
			require.Empty(t, rep.Skipped)
		}
		checkInvariants(t, c, opts)

		var pw, vw bytes.Buffer
		require.NoError(t, WriteCohort(&pw, &vw, c))
		opts.Lenient = false
		back, _, err := ReadCohort(&pw, &vw, opts)
		require.NoError(t, err, "re-reading what was written")
		requireSameCohort(t, c, back)

		if lenient {
			patientRows, okP := countRecords(patients)
			visitRows, okV := countRecords(visits)
			if okP && okV {
				lines := map[string]map[int]bool{PatientsFile: {}, VisitsFile: {}}
				for _, is := range rep.Skipped {
					lines[is.File][is.Line] = true
				}
				require.Equal(t, patientRows, len(c.Patients)+len(lines[PatientsFile]), "patients accounted for")
				require.Equal(t, visitRows, c.NumVisits()+len(lines[VisitsFile]), "visits accounted for")
			}
		}
	})
}

// checkInvariants checks the rules a cohort returned by the reader obeys.
func checkInvariants(t *testing.T, c *Cohort, opts ReadOptions) {
	labels := map[string]bool{}
	for _, l := range c.Labels {
		labels[l] = true
	}
	limit := opts.MaxVisits
	if limit == 0 {
		limit = DefaultMaxVisits
	}
	ids := map[string]bool{}
	for _, p := range c.Patients {
		require.NotEmpty(t, p.ID)
		require.False(t, ids[p.ID], "unique IDs")
		ids[p.ID] = true
		require.True(t, labels[p.Label], "known label")
		require.NotEmpty(t, strings.TrimSpace(p.Response))
		require.NotEmpty(t, p.Visits)
		require.LessOrEqual(t, len(p.Visits), limit)
		for j, v := range p.Visits {
			if j > 0 {
				require.False(t, v.Date.Before(p.Visits[j-1].Date), "sorted visits")
			}
			require.Len(t, v.Values, len(c.Metrics))
			for k, x := range v.Values {
				require.True(t, IsMissing(x) || c.Metrics[k].InRange(x), "value in range")
			}
		}
	}
}

// countRecords returns the number of data rows of a CSV file, or false
// when the file is not well-formed CSV or has no header.
func countRecords(s string) (int, bool) {
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(s, "\xEF\xBB\xBF")))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil || len(recs) == 0 {
		return 0, false
	}
	return len(recs) - 1, true
}

// FuzzReadCohortLimits reads arbitrary files under small input limits: the
// reader must never panic, a failure must be a ValidationError that names
// its file, and an accepted cohort holds no field longer than the limit.
func FuzzReadCohortLimits(f *testing.F) {
	f.Add(basePatients, baseVisits, uint8(40), uint8(8), uint16(300))
	f.Add(setLine(basePatients, 3, "b,2022-02-01,thalassemia,"+strings.Repeat("y", 30)), baseVisits, uint8(200), uint8(10), uint16(1000))
	f.Add(basePatients, setLine(baseVisits, 4, "b,2021-10-01,105,65,"+strings.Repeat("9", 90)), uint8(60), uint8(60), uint16(2000))
	f.Add(basePatients, baseVisits, uint8(255), uint8(255), uint16(60))
	f.Fuzz(func(t *testing.T, patients, visits string, line, field uint8, file uint16) {
		opts := ReadOptions{Metrics: smallMetrics(), Labels: smallLabels(), Lenient: line%2 == 0,
			MaxLineBytes: 1 + int64(line), MaxFieldBytes: 1 + int64(field), MaxFileBytes: 1 + int64(file)}
		c, rep, err := ReadCohort(strings.NewReader(patients), strings.NewReader(visits), opts)
		require.NotNil(t, rep)
		if err != nil {
			requireNamedValidationError(t, c, err)
			return
		}
		require.LessOrEqual(t, int64(len(patients)), opts.MaxFileBytes)
		require.LessOrEqual(t, int64(len(visits)), opts.MaxFileBytes)
		for _, p := range c.Patients {
			require.LessOrEqual(t, int64(len(p.ID)), opts.MaxFieldBytes)
			require.LessOrEqual(t, int64(len(p.Response)), opts.MaxFieldBytes)
		}
	})
}

// requireNamedValidationError checks a failed read: no cohort, and a
// ValidationError whose every issue names its file and says what is wrong.
func requireNamedValidationError(t *testing.T, c *Cohort, err error) {
	t.Helper()
	require.Nil(t, c)
	var ve *ValidationError
	require.True(t, errors.As(err, &ve), "unexpected error kind: %v", err)
	require.Positive(t, ve.Total)
	require.NotEmpty(t, ve.Issues)
	for _, is := range ve.Issues {
		require.NotEmpty(t, is.File)
		require.NotEmpty(t, is.Message)
	}
}
