package encoder_test

import (
	"fmt"

	"github.com/pmlm-go/pmlm/encoder"
)

// Words is the split every TextEncoder's Encoded.WordOf refers to, and the
// words the prompt policy deletes.
func ExampleWords() {
	fmt.Printf("%q\n", encoder.Words("  her predicted\tdiagnosis is normal. "))
	// Output:
	// ["her" "predicted" "diagnosis" "is" "normal."]
}
