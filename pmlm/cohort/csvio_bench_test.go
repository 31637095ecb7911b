package cohort

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/internal/cputime"
)

// defaultSizeCohort builds a cohort of the paper's shape (2,373 patients,
// 38,817 visits, at most 45 per patient, 35 metrics) with random in-range
// values, a fifth of them missing. It does not need the generator.
func defaultSizeCohort(tb testing.TB) *Cohort {
	const patients, visits = 2373, 38817
	rng := rand.New(rand.NewPCG(7, 11))
	c := NewObstetricCohort()
	counts := make([]int, patients)
	total := 0
	for i := range counts {
		counts[i] = 16
		total += 16
	}
	counts[0] = DefaultMaxVisits
	total += DefaultMaxVisits - 16
	for i := 1; total < visits; i++ {
		counts[i]++
		total++
	}
	for i, n := range counts {
		idx := date("2020-10-01").AddDate(0, 0, rng.IntN(820))
		p := Patient{ID: "P" + itoa(100000+i), IndexDate: idx, Label: c.Labels[rng.IntN(len(c.Labels))],
			Response: "Advice for the patient, with a comma, and more words than a label."}
		for j := range n {
			v := Visit{Date: idx.AddDate(0, 0, -(n-j)*9), Values: make([]float64, len(c.Metrics))}
			for k, m := range c.Metrics {
				if rng.IntN(5) == 0 {
					v.Values[k] = Missing()
				} else {
					v.Values[k] = m.Min + (m.Max-m.Min)*rng.Float64()
				}
			}
			p.Visits = append(p.Visits, v)
		}
		c.Patients = append(c.Patients, p)
	}
	require.Equal(tb, visits, c.NumVisits())
	require.Equal(tb, DefaultMaxVisits, c.MaxVisits())
	return c
}

// BenchmarkReadCohortDefaultSize reads and validates a cohort of the
// paper's size from memory.
func BenchmarkReadCohortDefaultSize(b *testing.B) {
	var pw, vw bytes.Buffer
	require.NoError(b, WriteCohort(&pw, &vw, defaultSizeCohort(b)))
	b.SetBytes(int64(pw.Len() + vw.Len()))
	b.ReportAllocs()
	defer reportCPUTime(b)()
	for b.Loop() {
		c, _, err := ReadCohort(bytes.NewReader(pw.Bytes()), bytes.NewReader(vw.Bytes()), ReadOptions{})
		if err != nil || c.NumVisits() != 38817 {
			b.Fatal(err)
		}
	}
}

// reportCPUTime starts measuring the process CPU time; the function it
// returns reports it per operation as "cpu-ms/op".
func reportCPUTime(b *testing.B) func() {
	start, ok := cputime.Process()
	return func() {
		end, _ := cputime.Process()
		if ok && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N)/1e6, "cpu-ms/op")
		}
	}
}

// BenchmarkReadDirDefaultSize reads the cohort from a directory, as
// "pmlm validate" does.
func BenchmarkReadDirDefaultSize(b *testing.B) {
	dir := b.TempDir()
	require.NoError(b, WriteDir(dir, defaultSizeCohort(b)))
	defer reportCPUTime(b)()
	for b.Loop() {
		if _, _, err := ReadDir(dir, ReadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteDirDefaultSize writes the cohort's four files.
func BenchmarkWriteDirDefaultSize(b *testing.B) {
	c := defaultSizeCohort(b)
	dir := b.TempDir()
	defer reportCPUTime(b)()
	for b.Loop() {
		if err := WriteDir(dir, c); err != nil {
			b.Fatal(err)
		}
	}
}
