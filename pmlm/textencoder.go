package pmlm

import (
	"fmt"
	"strings"

	"github.com/pmlm-go/pmlm/encoder"
	"github.com/pmlm-go/pmlm/encoder/use"
	"github.com/pmlm-go/pmlm/encoder/wordvec"
)

// Short names of the text encoders built into the library, as the
// command line's --text takes them.
const (
	// TextGloVe is the embedded static GloVe-derived word vectors
	// (encoder/wordvec, Name "glove-wink-sg-100d").
	TextGloVe = "glove"
	// TextUSE is the embedded Universal Sentence Encoder lite's last
	// layer (encoder/use, Name "use-lite/layer-1").
	TextUSE = "use"
)

// DefaultText is the short name of the text encoder used when none is
// given (TrainOptions.Text nil).
const DefaultText = TextGloVe

// TextEncoderNames lists the short names BuiltinTextEncoder takes.
func TextEncoderNames() []string { return []string{TextGloVe, TextUSE} }

// BuiltinTextEncoder returns an embedded text encoder by short name
// ("glove", "use") or by its Name ("glove-wink-sg-100d",
// "use-lite/layer-0", "use-lite/layer-1"), as a model manifest records it.
// Each call decodes the embedded weights (about a second for USE): call it
// once and share the result, which is safe for concurrent use.
func BuiltinTextEncoder(name string) (encoder.TextEncoder, error) {
	switch name {
	case TextGloVe, wordvec.DefaultName:
		return wordvec.Default()
	case TextUSE:
		return use.DefaultTextEncoder()
	}
	if rest, ok := strings.CutPrefix(name, use.DefaultName+"/layer-"); ok && (rest == "0" || rest == "1") {
		m, err := use.Default()
		if err != nil {
			return nil, err
		}
		return use.NewTextEncoder(m, int(rest[0]-'0'))
	}
	return nil, fmt.Errorf("%w: unknown text encoder %q (built in: %s, or the names %s, %s/layer-0, %s/layer-1)",
		ErrOptions, name, strings.Join(TextEncoderNames(), ", "), wordvec.DefaultName, use.DefaultName, use.DefaultName)
}

// isBuiltinText reports whether a manifest's text encoder Name is one
// BuiltinTextEncoder provides (short names are not Names).
func isBuiltinText(name string) bool {
	switch name {
	case wordvec.DefaultName, use.DefaultName + "/layer-0", use.DefaultName + "/layer-1":
		return true
	}
	return false
}
