package decimal

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	for s, want := range map[string]float64{
		"0": 0, "-1.5": -1.5, "+2": 2, ".5": 0.5, "5.": 5, "3e-2": 0.03, "1E3": 1000, "007": 7,
	} {
		got, err := Parse(s)
		require.NoError(t, err, s)
		assert.Equal(t, want, got, s)
	}
	for _, s := range []string{"", "0x1p3", "0X10", "Inf", "-inf", "NaN", "1_000", "1e", "e3", ".", "-", "1.2.3", " 1", "1 ", "1,5", "0b101", "0o17", "١٢"} {
		_, err := Parse(s)
		assert.ErrorIs(t, err, ErrSyntax, "%q", s)
	}
	_, err := Parse("1e400")
	assert.ErrorIs(t, err, ErrRange)
}

// FuzzParse checks that Parse agrees with strconv.ParseFloat on every
// string it accepts, and never returns a non-finite value.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"1.5", "-3e-2", "0x1p3", "Inf", "1_0", "9e999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if err != nil {
			return
		}
		w, perr := strconv.ParseFloat(s, 64)
		if perr != nil || v != w {
			t.Fatalf("Parse(%q) = %v, ParseFloat = %v, %v", s, v, w, perr)
		}
	})
}
