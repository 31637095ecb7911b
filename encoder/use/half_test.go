package use

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHalfRoundTrip checks every binary16 value widens and narrows back to
// itself, and that narrowing picks the nearest half (ties to even) on
// values between neighbours.
func TestHalfRoundTrip(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := halfToFloat32(uint16(h))
		if f != f { // NaN
			assert.True(t, math.IsNaN(float64(halfToFloat32(float32ToHalf(f)))))
			continue
		}
		require.Equal(t, uint16(h), float32ToHalf(f), "half %#04x (%g)", h, f)
	}
	for h := 0; h < 0x7bff; h++ {
		lo, hi := halfToFloat32(uint16(h)), halfToFloat32(uint16(h+1))
		mid := (lo + hi) / 2
		want := uint16(h)
		if h&1 == 1 {
			want = uint16(h + 1)
		}
		require.Equal(t, want, float32ToHalf(mid), "midpoint of %#04x", h)
		require.Equal(t, uint16(h), float32ToHalf(lo+(hi-lo)/4), "quarter past %#04x", h)
		require.Equal(t, uint16(h+1), float32ToHalf(hi-(hi-lo)/4), "quarter before %#04x", h+1)
	}
	assert.Equal(t, uint16(0x7c00), float32ToHalf(1e6))
	assert.Equal(t, uint16(0x8000), float32ToHalf(-1e-10))
}
