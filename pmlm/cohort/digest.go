package cohort

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"

	"github.com/pmlm-go/pmlm/internal/fieldhash"
)

// Digest returns the hex SHA-256 of the cohort's content: its metric
// catalogue, label set and every patient's identifier, index date, label,
// response and visits, in order. Two cohorts with equal digests hold the
// same data, so results computed on one may be reused for the other (the
// experiment runner keys its saved runs by it). Missing values hash alike
// whatever NaN payload they carry.
func (c *Cohort) Digest() string {
	h := sha256.New()
	w := digestWriter{fieldhash.New(h, binary.LittleEndian)}
	w.int(len(c.Metrics))
	for _, m := range c.Metrics {
		w.str(m.Name)
		w.str(m.Description)
		w.str(m.Unit)
		w.float(m.Min)
		w.float(m.Max)
	}
	w.int(len(c.Labels))
	for _, l := range c.Labels {
		w.str(l)
	}
	w.int(len(c.Patients))
	for _, p := range c.Patients {
		w.str(p.ID)
		w.int(int(p.IndexDate.Unix()))
		w.str(p.Label)
		w.str(p.Response)
		w.int(len(p.Visits))
		for _, v := range p.Visits {
			w.int(int(v.Date.Unix()))
			w.int(len(v.Values))
			for _, x := range v.Values {
				w.float(x)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// digestWriter writes the digest's fields (fieldhash, little-endian).
type digestWriter struct{ *fieldhash.Writer }

func (w digestWriter) int(v int) { w.Uint64(uint64(v)) }

func (w digestWriter) float(x float64) {
	if math.IsNaN(x) {
		x = math.NaN() // one bit pattern for every missing value
	}
	w.Uint64(math.Float64bits(x))
}

func (w digestWriter) str(s string) { w.String(s) }
