package fieldhash_test

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/pmlm-go/pmlm/internal/fieldhash"
)

func Example() {
	h := sha256.New()
	w := fieldhash.New(h, binary.LittleEndian)
	w.String("patient")
	w.Uint64(3)
	fmt.Printf("%x\n", h.Sum(nil)[:8])
	// Output: 7d06e6763fb5e7d6
}
