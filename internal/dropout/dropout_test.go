package dropout

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMaskIsSeededAndInverted(t *testing.T) {
	a := New(7).Mask(50, 40, 0.4).Data().F32()
	b := New(7).Mask(50, 40, 0.4).Data().F32()
	c := New(8).Mask(50, 40, 0.4).Data().F32()
	assert.Equal(t, a, b, "same seed, same mask")
	assert.NotEqual(t, a, c)
	zeros := 0
	for _, v := range a {
		if v == 0 {
			zeros++
		} else {
			assert.InDelta(t, 1/0.6, v, 1e-6)
		}
	}
	// 2,000 draws at p = 0.4: the share of zeros is 0.4 ± 0.011 (1 sd).
	assert.InDelta(t, 0.4, float64(zeros)/float64(len(a)), 0.05)
}
