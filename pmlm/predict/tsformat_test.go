package predict

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const goodTS = `# a comment
@problemName Toy
@timeStamps false
@missing true
@univariate false
@dimensions 2
@equalLength false
@classLabel true a b

@data
1,2,3:4,5,6:a
1.5,?:2,NaN:b
# comment inside data
7:8,9:a
`

func TestReadTS(t *testing.T) {
	d, err := ReadTS(strings.NewReader(goodTS), "toy.ts")
	require.NoError(t, err)
	assert.Equal(t, "Toy", d.ProblemName)
	assert.Equal(t, 2, d.Dimensions)
	assert.Equal(t, []string{"a", "b"}, d.Classes)
	assert.Equal(t, []string{"a", "b", "a"}, d.Labels)
	assert.Equal(t, []int{0, 1, 0}, d.LabelIndices())
	require.Len(t, d.Series, 3)
	assert.Equal(t, [][]float64{{1, 4}, {2, 5}, {3, 6}}, d.Series[0])
	assert.Equal(t, 1.5, d.Series[1][0][0])
	assert.True(t, math.IsNaN(d.Series[1][1][0]))
	assert.True(t, math.IsNaN(d.Series[1][1][1]))
	// Unequal dimension lengths within a case: padded with NaN.
	assert.Equal(t, 7.0, d.Series[2][0][0])
	assert.True(t, math.IsNaN(d.Series[2][1][0]))
	assert.Equal(t, 9.0, d.Series[2][1][1])
}

func TestReadTSErrors(t *testing.T) {
	header := "@problemName X\n@missing false\n@dimensions 2\n@classLabel true a b\n@data\n"
	cases := []struct {
		name, in    string
		line, dim   int
		msgContains string
	}{
		{"wrong dimension count", header + "1,2:3,4:a\n1,2:a\n", 7, 0, "1 dimensions, want 2"},
		{"unknown label", header + "1,2:3,4:c\n", 6, 0, `class label "c"`},
		{"non-numeric", header + "1,2:3,x:a\n", 6, 2, `value 2: "x" is not a finite number`},
		{"infinite", header + "1,Inf:3,4:a\n", 6, 1, "not a finite number"},
		// Issue 15 item 6: decimal only.
		{"hexadecimal float", header + "1,0x1p3:3,4:a\n", 6, 1, `value 2: "0x1p3" is not a finite number`},
		{"missing not declared", header + "1,?:3,4:a\n", 6, 1, "@missing true"},
		{"empty dimension", header + "1,2::a\n", 6, 2, "no values"},
		{"no label", header + "1,2\n", 6, 0, "no ':'"},
		{"no data", "@problemName X\n@classLabel true a\n", 0, 0, "no @data"},
		{"no cases", "@classLabel true a\n@data\n", 0, 0, "no cases"},
		{"data before classLabel", "@data\n1:a\n", 1, 0, "@data before @classLabel"},
		{"unknown keyword", "@foo bar\n", 1, 0, "unknown header keyword"},
		{"bad bool", "@missing maybe\n", 1, 0, "neither true nor false"},
		{"timestamps", "@timeStamps true\n", 1, 0, "not supported"},
		{"regression", "@classLabel false\n", 1, 0, "not supported"},
		{"bad dimensions", "@dimensions -3\n", 1, 0, "positive integer"},
		{"text before data", "hello\n", 1, 0, "expected a header line"},
		{"duplicate class", "@classLabel true a a\n", 1, 0, "declared twice"},
		{"equal length violated", "@equalLength true\n@classLabel true a\n@data\n1,2:3:a\n", 4, 2, "@equalLength"},
		{"series length violated", "@equalLength true\n@seriesLength 3\n@classLabel true a\n@data\n1,2:3,4:a\n", 5, 1, "@seriesLength"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadTS(strings.NewReader(c.in), "bad.ts")
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrTSFormat)
			var te *TSError
			require.True(t, errors.As(err, &te))
			assert.Equal(t, c.line, te.Line)
			assert.Equal(t, c.dim, te.Dimension)
			assert.Contains(t, err.Error(), c.msgContains)
			assert.True(t, strings.HasPrefix(err.Error(), "bad.ts"))
		})
	}
}

// Issue 15 item 11: a 1,000,000-step series is refused with the file,
// line and limit named, before its values are parsed; so is a line over
// the line limit and a declared @seriesLength over the series limit.
func TestReadTSRefusesOverLongInput(t *testing.T) {
	var b strings.Builder
	b.WriteString("@problemName long\n@classLabel true a\n@data\n")
	b.WriteString(strings.Repeat("0.5,", 999_999))
	b.WriteString("0.5:a\n")
	_, err := ReadTS(strings.NewReader(b.String()), "long.ts")
	var te *TSError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, 4, te.Line)
	assert.Contains(t, err.Error(), "long.ts:4: dimension 1: 1000000 values, more than the limit of 100000 (TSOptions.MaxSeriesLength)")
	// The limit is configurable: a larger one reads it.
	d, err := ReadTSWith(strings.NewReader(b.String()), "long.ts", TSOptions{MaxSeriesLength: 1_000_000})
	require.NoError(t, err)
	assert.Len(t, d.Series[0], 1_000_000)

	_, err = ReadTSWith(strings.NewReader(b.String()), "long.ts", TSOptions{MaxLineBytes: 1 << 20})
	require.ErrorAs(t, err, &te)
	assert.Equal(t, 4, te.Line)
	assert.Contains(t, err.Error(), "line longer than the limit of 1048576 bytes (TSOptions.MaxLineBytes)")

	_, err = ReadTS(strings.NewReader("@seriesLength 1000000\n@classLabel true a\n@data\n1:a\n"), "decl.ts")
	require.ErrorAs(t, err, &te)
	assert.Equal(t, 1, te.Line)
	assert.Contains(t, err.Error(), "@seriesLength 1000000 is more than the limit of 100000")
}

func FuzzReadTS(f *testing.F) {
	f.Add(goodTS)
	f.Add("@classLabel true 1 2\n@data\n1,2,3:1\n?:2\n")
	f.Add("@missing true\n@dimensions 3\n@classLabel true x\n@data\n1:2:3:x\n,:?:x\n")
	f.Add("@equalLength true\n@seriesLength 2\n@classLabel true a\n@data\n1,2:a\n")
	f.Add("@classLabel true a\n@data\n1,2,3,4,5,6,7,8,9:a\n")
	f.Fuzz(func(t *testing.T, in string) {
		// Small limits, so that the fuzzer reaches them too.
		lim := TSOptions{MaxLineBytes: 256, MaxSeriesLength: 8}
		d, err := ReadTSWith(strings.NewReader(in), "fuzz.ts", lim)
		if err != nil {
			var te *TSError
			if !errors.As(err, &te) {
				t.Fatalf("error is not a *TSError: %v", err)
			}
			return
		}
		// A successful read is internally consistent and within the limits.
		for i, sr := range d.Series {
			if len(sr) > lim.MaxSeriesLength {
				t.Fatalf("series %d has %d steps, more than the limit", i, len(sr))
			}
		}
		if len(d.Series) == 0 || len(d.Series) != len(d.Labels) {
			t.Fatalf("%d series, %d labels", len(d.Series), len(d.Labels))
		}
		for i, s := range d.Series {
			if len(s) == 0 {
				t.Fatalf("series %d empty", i)
			}
			for _, row := range s {
				if len(row) != d.Dimensions {
					t.Fatalf("series %d: row of %d, want %d dims", i, len(row), d.Dimensions)
				}
				for _, v := range row {
					if math.IsInf(v, 0) {
						t.Fatal("infinite value accepted")
					}
				}
			}
		}
		classes := map[string]bool{}
		for _, c := range d.Classes {
			classes[c] = true
		}
		for _, l := range d.Labels {
			if !classes[l] {
				t.Fatalf("undeclared label %q", l)
			}
		}
	})
}
