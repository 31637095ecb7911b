package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/pmlm-go/pmlm/encoder"
	"github.com/pmlm-go/pmlm/pmlm"
)

// textHelp describes --text.
var textHelp = "text encoder of the policy's word features and of BERTScore (the reward): " +
	strings.Join(pmlm.TextEncoderNames(), " or ") + " (glove: the embedded static word vectors; " +
	"use: the embedded Universal Sentence Encoder lite, contextual)"

// textFlag registers --text on fs.
func textFlag(fs *flag.FlagSet) *string { return fs.String("text", pmlm.DefaultText, textHelp) }

// textEncoder resolves --text. The default gives nil, so that the
// library's own default applies and the name recorded for it (a saved
// run's settings, say) stays that of "the default".
func textEncoder(name string) (encoder.TextEncoder, error) {
	if name == pmlm.DefaultText {
		return nil, nil
	}
	enc, err := pmlm.BuiltinTextEncoder(name)
	if err != nil {
		return nil, fmt.Errorf("%w: --text: %w", errUsage, err)
	}
	return enc, nil
}
