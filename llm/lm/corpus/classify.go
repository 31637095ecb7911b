package corpus

import "strings"

// ReplyDiagnosis is a keyword classifier of replies by diagnosis: it
// returns the label whose name occurs first in the reply (case-insensitive;
// at equal positions the longer name, so "acute fetal distress,
// heart-rate type" wins over a shorter label it starts with), and false
// when no label occurs. Doctors' replies name the diagnosis in their first
// sentence, so this tells which diagnosis a generated reply is about: the
// measure of a responder's wording sensitivity.
func ReplyDiagnosis(reply string, labels []string) (string, bool) {
	text := strings.ToLower(reply)
	best, bestAt := "", -1
	for _, l := range labels {
		name := strings.ToLower(strings.TrimSpace(l))
		if name == "" {
			continue
		}
		at := strings.Index(text, name)
		if at < 0 {
			continue
		}
		if bestAt < 0 || at < bestAt || (at == bestAt && len(l) > len(best)) {
			best, bestAt = l, at
		}
	}
	return best, bestAt >= 0
}
