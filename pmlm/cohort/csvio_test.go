package cohort

import (
	"bytes"
	"errors"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// smallMetrics is a three-metric catalogue taken from the obstetric one.
func smallMetrics() []Metric {
	all := ObstetricMetrics()
	c := &Cohort{Metrics: all}
	return []Metric{all[c.MetricIndex("HGB")], all[c.MetricIndex("MCV")], all[c.MetricIndex("PLT")]}
}

func smallLabels() []string {
	return []string{LabelNormal, LabelThalassemia, LabelGestationalDiabetes}
}

// smallCohort is a hand-made cohort of four patients whose responses and
// values exercise the CSV quoting and float formatting.
func smallCohort() *Cohort {
	nan := Missing()
	return &Cohort{
		Metrics: smallMetrics(),
		Labels:  smallLabels(),
		Patients: []Patient{
			{ID: "p1", IndexDate: date("2021-06-30"), Label: LabelNormal,
				Response: "Normal delivery; keep routine checks.",
				Visits: []Visit{
					{Date: date("2021-01-10"), Values: []float64{121, 88.2, 231}},
					{Date: date("2021-03-02"), Values: []float64{118, nan, 240}},
				}},
			{ID: "p2", IndexDate: date("2022-03-15"), Label: LabelThalassemia,
				Response: "MCV 64.5 fL, \"low\", and haemoglobin falling,\nsee the haematologist.",
				Visits: []Visit{
					{Date: date("2021-09-01"), Values: []float64{112, 64.5, nan}},
					{Date: date("2021-12-20"), Values: []float64{0.1 + 0.2 + 100, 65.10000000000001, 198}},
					{Date: date("2021-12-20"), Values: []float64{nan, nan, 1e-300 + 5}},
				}},
			{ID: " p 3,", IndexDate: date("2022-09-01"), Label: LabelGestationalDiabetes,
				Response: "Repeat the OGTT after delivery.",
				Visits:   []Visit{{Date: date("2022-04-05"), Values: []float64{126, 90.4, 260}}}},
			{ID: "p4", IndexDate: date("2020-12-01"), Label: LabelNormal,
				Response: "Normal.",
				Visits:   []Visit{{Date: date("2020-11-30"), Values: []float64{math.Nextafter(150, 200), 50, 1000}}}},
		},
	}
}

// requireSameCohort asserts that two cohorts hold exactly the same data,
// comparing values bit for bit except for the NaN that marks a missing one.
func requireSameCohort(t testing.TB, want, got *Cohort) {
	t.Helper()
	require.Equal(t, want.Metrics, got.Metrics)
	require.Equal(t, want.Labels, got.Labels)
	require.Len(t, got.Patients, len(want.Patients))
	for i, wp := range want.Patients {
		gp := got.Patients[i]
		require.Equal(t, wp.ID, gp.ID)
		require.True(t, wp.IndexDate.Equal(gp.IndexDate), "patient %d index date", i)
		require.Equal(t, wp.Label, gp.Label)
		require.Equal(t, wp.Response, gp.Response)
		require.Len(t, gp.Visits, len(wp.Visits), "patient %d", i)
		for j, wv := range wp.Visits {
			gv := gp.Visits[j]
			require.True(t, wv.Date.Equal(gv.Date), "patient %d visit %d date", i, j)
			require.Len(t, gv.Values, len(wv.Values))
			for k, x := range wv.Values {
				if IsMissing(x) {
					require.True(t, IsMissing(gv.Values[k]), "patient %d visit %d metric %d", i, j, k)
					continue
				}
				require.Equal(t, math.Float64bits(x), math.Float64bits(gv.Values[k]),
					"patient %d visit %d metric %d: %v != %v", i, j, k, x, gv.Values[k])
			}
		}
	}
}

func TestWriteDirReadDirRoundTrip(t *testing.T) {
	dir := t.TempDir()
	want := smallCohort()
	require.NoError(t, WriteDir(dir, want))

	got, rep, err := ReadDir(dir, ReadOptions{})
	require.NoError(t, err)
	assert.Empty(t, rep.Skipped)
	assert.Empty(t, rep.Warnings)
	requireSameCohort(t, want, got)

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		info, err := e.Info()
		require.NoError(t, err)
		assert.Equal(t, fs.FileMode(0o600), info.Mode().Perm(), e.Name())
	}
	assert.ElementsMatch(t, []string{LabelsFile, MetricsFile, PatientsFile, VisitsFile}, names,
		"no temporary file is left behind")

	// Writing again replaces the files.
	want.Patients = want.Patients[:2]
	require.NoError(t, WriteDir(dir, want))
	got, _, err = ReadDir(dir, ReadOptions{})
	require.NoError(t, err)
	requireSameCohort(t, want, got)
}

// randomCohort builds a cohort on the obstetric catalogue with random
// in-range values, a tenth of them missing.
func randomCohort(rng *rand.Rand, patients, maxVisits int) *Cohort {
	c := NewObstetricCohort()
	for i := range patients {
		idx := date("2021-01-01").AddDate(0, 0, rng.IntN(600))
		p := Patient{ID: "P" + strings.Repeat("0", 4) + string(rune('a'+i%26)) + itoa(i),
			IndexDate: idx, Label: c.Labels[rng.IntN(len(c.Labels))], Response: "Advice " + itoa(i)}
		n := 1 + rng.IntN(maxVisits)
		for j := range n {
			v := Visit{Date: idx.AddDate(0, 0, -7*(n-j)), Values: make([]float64, len(c.Metrics))}
			for k, m := range c.Metrics {
				if rng.IntN(10) == 0 {
					v.Values[k] = Missing()
					continue
				}
				v.Values[k] = m.Min + (m.Max-m.Min)*rng.Float64()
			}
			p.Visits = append(p.Visits, v)
		}
		c.Patients = append(c.Patients, p)
	}
	return c
}

func itoa(i int) string { return formatFloat(float64(i)) }

func TestRoundTripRandomValuesExact(t *testing.T) {
	want := randomCohort(rand.New(rand.NewPCG(1, 2)), 40, DefaultMaxVisits)
	var patients, visits bytes.Buffer
	require.NoError(t, WriteCohort(&patients, &visits, want))
	got, rep, err := ReadCohort(&patients, &visits, ReadOptions{})
	require.NoError(t, err)
	assert.Empty(t, rep.Warnings)
	requireSameCohort(t, want, got)
}

func TestReadDirHandMadeFiles(t *testing.T) {
	c, rep, err := ReadDir(filepath.Join("testdata", "small"), ReadOptions{})
	require.NoError(t, err)
	assert.Empty(t, rep.Warnings)
	assert.Equal(t, []string{"HGB", "MCV", "PLT"}, []string{c.Metrics[0].Name, c.Metrics[1].Name, c.Metrics[2].Name})
	assert.Equal(t, "10^9/L", c.Metrics[2].Unit)
	assert.Equal(t, 1000.0, c.Metrics[2].Max)
	assert.Equal(t, smallLabels(), c.Labels)
	require.Len(t, c.Patients, 3)
	p2 := c.Patient("p2")
	require.NotNil(t, p2)
	assert.Equal(t, LabelThalassemia, p2.Label)
	assert.Contains(t, p2.Response, "98 g/L.\nCheck ferritin")
	assert.True(t, p2.IndexDate.Equal(date("2022-03-15")))
	require.Len(t, p2.Visits, 3)
	assert.Equal(t, []float64{104, 65.1, 198}, p2.Visits[1].Values)
	assert.True(t, IsMissing(p2.Visits[0].Values[2]), "an empty cell is missing, not zero")
	assert.Equal(t, `Gestational diabetes, "diet-controlled"; repeat the OGTT 6-12 weeks after delivery.`,
		c.Patient("p3").Response)
	assert.Equal(t, 6, c.NumVisits())
}

func TestReadDirWithoutCatalogueFilesUsesObstetric(t *testing.T) {
	dir := t.TempDir()
	want := randomCohort(rand.New(rand.NewPCG(3, 4)), 5, 4)
	require.NoError(t, WriteDir(dir, want))
	require.NoError(t, os.Remove(filepath.Join(dir, MetricsFile)))
	require.NoError(t, os.Remove(filepath.Join(dir, LabelsFile)))
	got, _, err := ReadDir(dir, ReadOptions{})
	require.NoError(t, err)
	requireSameCohort(t, want, got)

	// A small cohort's files without metrics.csv do not match the obstetric
	// catalogue: every missing metric column is an error.
	dir = t.TempDir()
	require.NoError(t, WriteDir(dir, smallCohort()))
	require.NoError(t, os.Remove(filepath.Join(dir, MetricsFile)))
	_, _, err = ReadDir(dir, ReadOptions{})
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, 32, ve.Total, "35 obstetric metrics, 3 of them present")

	// ReadOptions override the catalogue files.
	got, _, err = ReadDir(dir, ReadOptions{Metrics: smallMetrics()})
	require.NoError(t, err)
	requireSameCohort(t, smallCohort(), got)
}

func TestReadDirMissingFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, WriteDir(dir, smallCohort()))
	require.NoError(t, os.Remove(filepath.Join(dir, VisitsFile)))
	_, rep, err := ReadDir(dir, ReadOptions{})
	require.ErrorIs(t, err, fs.ErrNotExist)
	assert.NotNil(t, rep)
}

func TestReadDirMissingDirectory(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "synthetic")
	_, rep, err := ReadDir(missing, ReadOptions{})
	require.ErrorIs(t, err, fs.ErrNotExist)
	assert.Contains(t, err.Error(), missing)
	assert.Empty(t, rep.Notes, "no notes about the files a missing directory lacks")

	file := filepath.Join(t.TempDir(), "visits.csv")
	require.NoError(t, os.WriteFile(file, []byte("x\n"), 0o600))
	_, _, err = ReadDir(file, ReadOptions{})
	require.ErrorContains(t, err, "is not a directory")
}

func TestReadHandlesByteOrderMark(t *testing.T) {
	dir := t.TempDir()
	want := smallCohort()
	require.NoError(t, WriteDir(dir, want))
	for _, name := range []string{PatientsFile, VisitsFile, MetricsFile, LabelsFile} {
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, append([]byte("\xEF\xBB\xBF"), b...), 0o600))
	}
	got, _, err := ReadDir(dir, ReadOptions{})
	require.NoError(t, err)
	requireSameCohort(t, want, got)
}

func TestReadSortsVisitsAndWarns(t *testing.T) {
	const patients = "patient_id,index_date,label,response\n" +
		"a,2021-05-01,normal,fine\n" +
		"b,2021-05-01,normal,fine\n"
	const visits = "patient_id,date,HGB,MCV,PLT\n" +
		"a,2021-03-01,120,,\n" + // line 2
		"b,2021-01-01,110,,\n" + // line 3
		"a,2021-02-01,121,,\n" + // line 4: before line 2
		"a,2021-02-01,122,,\n" + // line 5: same day as line 4, kept after it
		"b,2021-06-01,,,\n" // line 6: after b's index date, and nothing measured
	c, rep, err := ReadCohort(strings.NewReader(patients), strings.NewReader(visits),
		ReadOptions{Metrics: smallMetrics()})
	require.NoError(t, err)
	a := c.Patient("a")
	require.Len(t, a.Visits, 3)
	assert.Equal(t, []float64{121, 122, 120}, []float64{a.Visits[0].Values[0], a.Visits[1].Values[0], a.Visits[2].Values[0]})

	var got []string
	for _, w := range rep.Warnings {
		assert.Equal(t, SeverityWarning, w.Severity)
		got = append(got, w.Error())
	}
	assert.ElementsMatch(t, []string{
		"visits.csv:4:2 (date): visit dated before the patient's previous visit (line 2); the patient's visits are sorted by date",
		"visits.csv:6: visit has no measured value",
		"visits.csv:6:2 (date): visit dated after the patient's index date; kept",
	}, got)
}

func TestWriteDirRefusesWhatItCannotRepresent(t *testing.T) {
	cases := map[string]func(c *Cohort){
		"duplicate ID":    func(c *Cohort) { c.Patients[1].ID = c.Patients[0].ID },
		"empty ID":        func(c *Cohort) { c.Patients[0].ID = "" },
		"short visit":     func(c *Cohort) { c.Patients[0].Visits[0].Values = []float64{1} },
		"infinite value":  func(c *Cohort) { c.Patients[0].Visits[0].Values[1] = math.Inf(1) },
		"reserved metric": func(c *Cohort) { c.Metrics[0].Name = "date" },
		"reversed range":  func(c *Cohort) { c.Metrics[0].Min = 1e9 },
		"duplicate label": func(c *Cohort) { c.Labels[1] = c.Labels[0] },
	}
	for name, corrupt := range cases {
		t.Run(name, func(t *testing.T) {
			c := smallCohort()
			corrupt(c)
			dir := filepath.Join(t.TempDir(), "out")
			require.Error(t, WriteDir(dir, c))
			_, err := os.Stat(dir)
			assert.True(t, errors.Is(err, fs.ErrNotExist), "nothing is written")
		})
	}
}

func writeFile(dir, name, content string) error {
	return os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600)
}
