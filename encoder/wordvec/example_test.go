package wordvec_test

import (
	"context"
	"fmt"

	"github.com/pmlm-go/pmlm/encoder/wordvec"
)

func Example() {
	vecs, err := wordvec.Default() // decode once, keep it
	if err != nil {
		panic(err)
	}
	enc, err := vecs.Encode(context.Background(), "Mild anemia, no bleeding.")
	if err != nil {
		panic(err)
	}
	fmt.Println(vecs.Name(), vecs.Dim())
	fmt.Println(enc.Tokens, enc.WordOf, len(enc.WordVectors()))
	// Output:
	// glove-wink-sg-100d 100
	// [mild anemia , no bleeding .] [0 1 1 2 3 3] 4
}
