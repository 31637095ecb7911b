package prompt

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLabHistory(t *testing.T) {
	nan := math.NaN()
	h, err := LabHistory([]Series{
		{Name: "HGB", Unit: "g/L", Days: []float64{0, 30, 60, 90}, Values: []float64{128, nan, 110, 104}},
		{Name: "pH", Days: []float64{0, 30, 60}, Values: []float64{6.5, 6.0, 6.5}},
		{Name: "PA", Unit: "mg/L", Days: []float64{0, 30}, Values: []float64{nan, 210}},
		{Name: "TBA", Unit: "µmol/L", Days: []float64{0, 30}, Values: []float64{nan, nan}},
		{Name: "WBC", Unit: "10^9/L", Days: []float64{60, 0, 30}, Values: []float64{12.5, 8.25, 9.0}},
	}, HistoryOptions{})
	require.NoError(t, err)
	assert.Equal(t, strings.Join([]string{
		"Laboratory history: 4 examination days over 90 days; per indicator the first → last value, the lowest and highest, the trend and the number of values.",
		"HGB 128 → 104 g/L (min 104, max 128; falling; 3 values)",
		"pH 6.5 → 6.5 (min 6, max 6.5; stable; 3 values)",
		"PA 210 mg/L (1 value)",
		"WBC 8.25 → 12.5 10^9/L (min 8.25, max 12.5; rising; 3 values)",
	}, "\n"), h)
}

func TestLabHistoryOptions(t *testing.T) {
	series := []Series{
		{Name: "HGB", Unit: "g/L", Days: []float64{0, 30, 60}, Values: []float64{128, 110, 104}},
		{Name: "pH", Days: []float64{0}, Values: []float64{6.5}},
		{Name: "PLT", Unit: "10^9/L", Days: []float64{0, 60}, Values: []float64{240, 236}},
	}
	h, err := LabHistory(series, HistoryOptions{Only: []string{"PLT", "HGB"}, Brief: true})
	require.NoError(t, err)
	assert.Equal(t, "Laboratory history: 3 examination days over 60 days; per indicator the first → last value and the trend.\n"+
		"PLT 240 → 236 10^9/L, stable\nHGB 128 → 104 g/L, falling", h)
	h, err = LabHistory(series, HistoryOptions{Brief: true})
	require.NoError(t, err)
	assert.Contains(t, h, "\npH 6.5\n")

	_, err = LabHistory(series, HistoryOptions{Only: []string{"HGB", "TSH"}})
	require.ErrorIs(t, err, ErrSeries)
	assert.Contains(t, err.Error(), `"TSH"`)
}

func TestLabHistoryEdgeCases(t *testing.T) {
	h, err := LabHistory(nil, HistoryOptions{})
	require.NoError(t, err)
	assert.Equal(t, "Laboratory history: no values recorded.", h)

	// Values all on one day have no trend.
	h, err = LabHistory([]Series{{Name: "HGB", Unit: "g/L", Days: []float64{5, 5}, Values: []float64{120, 118}}}, HistoryOptions{})
	require.NoError(t, err)
	assert.Contains(t, h, "1 examination day over 0 days")
	assert.Contains(t, h, "HGB 120 → 118 g/L (2 values)")
	// Two values: no range, it would repeat them.
	h, err = LabHistory([]Series{{Name: "HGB", Unit: "g/L", Days: []float64{5, 40}, Values: []float64{128, 104}}}, HistoryOptions{})
	require.NoError(t, err)
	assert.Contains(t, h, "HGB 128 → 104 g/L (falling; 2 values)")

	for name, s := range map[string]Series{
		"lengths":        {Name: "HGB", Days: []float64{0}, Values: []float64{1, 2}},
		"empty name":     {Name: " ", Days: []float64{0}, Values: []float64{1}},
		"NaN day":        {Name: "HGB", Days: []float64{math.NaN()}, Values: []float64{1}},
		"infinite value": {Name: "HGB", Days: []float64{0}, Values: []float64{math.Inf(1)}},
	} {
		_, err := LabHistory([]Series{s}, HistoryOptions{})
		assert.ErrorIs(t, err, ErrSeries, name)
	}
}

func TestTrend(t *testing.T) {
	assert.Equal(t, "rising", trend(100, 112))
	assert.Equal(t, "falling", trend(112, 100))
	assert.Equal(t, "stable", trend(100, 104))
	assert.Equal(t, "stable", trend(0, 0))
	assert.Equal(t, "falling", trend(0.02, 0.01))
}

func TestNumber(t *testing.T) {
	for v, want := range map[float64]string{128: "128", 12.34: "12.3", 4.436: "4.44", 0.02: "0.02", 6.0: "6", 0.001: "0", -0.001: "0", 1500.4: "1500", 10.04: "10"} {
		assert.Equal(t, want, number(v), "%v", v)
	}
}

func TestGeneralAndTaskOnly(t *testing.T) {
	g := General("Laboratory history: HGB 95 g/L (1 value)")
	assert.True(t, strings.HasPrefix(g, TaskOnly()), "the general prompt is the task plus the history")
	assert.True(t, strings.HasSuffix(g, "HGB 95 g/L (1 value)"))
	assert.NotRegexp(t, `[0-9]`, TaskOnly(), "the task alone holds no patient information")
}
