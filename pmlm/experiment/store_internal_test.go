package experiment

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNonZeroJSONIgnoresZeroFields: settings written before a zero-valued
// field existed equal those written after, and every non-zero value counts.
func TestNonZeroJSONIgnoresZeroFields(t *testing.T) {
	type before struct {
		Epochs int
		Split  struct{ End string }
	}
	type after struct {
		Epochs int
		Split  struct{ End string }
		Read   struct {
			MaxVisits int
			Lenient   bool
		}
		Tags []string
	}
	var a before
	a.Epochs, a.Split.End = 2, "2020-01-01"
	var b after
	b.Epochs, b.Split.End = 2, "2020-01-01"
	ja, err := nonZeroJSON(a)
	require.NoError(t, err)
	jb, err := nonZeroJSON(b)
	require.NoError(t, err)
	assert.JSONEq(t, `{"Epochs":2,"Split":{"End":"2020-01-01"}}`, string(ja))
	assert.Equal(t, string(ja), string(jb))
	b.Read.Lenient = true
	jc, err := nonZeroJSON(b)
	require.NoError(t, err)
	assert.JSONEq(t, `{"Epochs":2,"Split":{"End":"2020-01-01"},"Read":{"Lenient":true}}`, string(jc))
	b.Tags = []string{"", "x"}
	jd, err := nonZeroJSON(b)
	require.NoError(t, err)
	assert.Contains(t, string(jd), `"Tags":["","x"]`, "array elements keep their places")
}
