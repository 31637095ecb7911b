package reward

import "strings"

// porterStem is NLTK's PorterStemmer().stem in its default NLTK_EXTENSIONS
// mode, which is what rouge_score uses (tokenizers.DefaultTokenizer builds
// porter.PorterStemmer() with no arguments). It works on bytes: rouge's
// tokenizer hands it lowercase [a-z0-9] tokens only.
func porterStem(word string) string {
	if s, ok := porterIrregular[word]; ok {
		return s
	}
	if len(word) <= 2 {
		return word
	}
	w := porterStep1a(word)
	w = porterStep1b(w)
	w = porterStep1c(w)
	w = porterStep2(w)
	w = porterStep3(w)
	w = porterStep4(w)
	w = porterStep5a(w)
	return porterStep5b(w)
}

var porterIrregular = map[string]string{
	"sky": "sky", "skies": "sky", "dying": "die", "lying": "lie", "tying": "tie",
	"news": "news", "innings": "inning", "inning": "inning", "outings": "outing",
	"outing": "outing", "cannings": "canning", "canning": "canning", "howe": "howe",
	"proceed": "proceed", "exceed": "exceed", "succeed": "succeed",
}

func isConsonant(w string, i int) bool {
	switch w[i] {
	case 'a', 'e', 'i', 'o', 'u':
		return false
	case 'y':
		return i == 0 || !isConsonant(w, i-1)
	}
	return true
}

// measure counts the "vc" transitions of the stem: Porter's m.
func measure(stem string) int {
	m := 0
	for i := 1; i < len(stem); i++ {
		if !isConsonant(stem, i-1) && isConsonant(stem, i) {
			m++
		}
	}
	return m
}

func positiveMeasure(stem string) bool { return measure(stem) > 0 }

func containsVowel(stem string) bool {
	for i := range len(stem) {
		if !isConsonant(stem, i) {
			return true
		}
	}
	return false
}

func endsDoubleConsonant(w string) bool {
	n := len(w)
	return n >= 2 && w[n-1] == w[n-2] && isConsonant(w, n-1)
}

// endsCVC is condition *o, with NLTK's extension for two-letter stems.
func endsCVC(w string) bool {
	n := len(w)
	if n >= 3 && isConsonant(w, n-3) && !isConsonant(w, n-2) && isConsonant(w, n-1) &&
		w[n-1] != 'w' && w[n-1] != 'x' && w[n-1] != 'y' {
		return true
	}
	return n == 2 && !isConsonant(w, 0) && isConsonant(w, 1)
}

// porterRule replaces suffix by replacement when cond holds for the stem
// (the word without the suffix). suffix "*d" means a double consonant.
type porterRule struct {
	suffix, replacement string
	cond                func(stem string) bool
}

// applyRules applies the first rule whose suffix matches; a matching rule
// whose condition fails stops the search, as in NLTK's _apply_rule_list.
func applyRules(w string, rules []porterRule) string {
	for _, r := range rules {
		if r.suffix == "*d" && endsDoubleConsonant(w) {
			stem := w[:len(w)-2]
			if r.cond == nil || r.cond(stem) {
				return stem + r.replacement
			}
			return w
		}
		if strings.HasSuffix(w, r.suffix) {
			stem := w[:len(w)-len(r.suffix)]
			if r.cond == nil || r.cond(stem) {
				return stem + r.replacement
			}
			return w
		}
	}
	return w
}

func porterStep1a(w string) string {
	if strings.HasSuffix(w, "ies") && len(w) == 4 {
		return w[:len(w)-3] + "ie"
	}
	return applyRules(w, []porterRule{
		{"sses", "ss", nil}, {"ies", "i", nil}, {"ss", "ss", nil}, {"s", "", nil},
	})
}

func porterStep1b(w string) string {
	if strings.HasSuffix(w, "ied") {
		if len(w) == 4 {
			return w[:len(w)-3] + "ie"
		}
		return w[:len(w)-3] + "i"
	}
	if strings.HasSuffix(w, "eed") {
		stem := w[:len(w)-3]
		if measure(stem) > 0 {
			return stem + "ee"
		}
		return w
	}
	var inter string
	ok := false
	for _, suf := range []string{"ed", "ing"} {
		if strings.HasSuffix(w, suf) {
			inter = w[:len(w)-len(suf)]
			if containsVowel(inter) {
				ok = true
				break
			}
		}
	}
	if !ok {
		return w
	}
	last := inter[len(inter)-1]
	return applyRules(inter, []porterRule{
		{"at", "ate", nil}, {"bl", "ble", nil}, {"iz", "ize", nil},
		{"*d", string(last), func(string) bool { return last != 'l' && last != 's' && last != 'z' }},
		{"", "e", func(stem string) bool { return measure(stem) == 1 && endsCVC(stem) }},
	})
}

func porterStep1c(w string) string {
	return applyRules(w, []porterRule{
		{"y", "i", func(stem string) bool { return len(stem) > 1 && isConsonant(stem, len(stem)-1) }},
	})
}

var porterStep2Rules = []porterRule{
	{"ational", "ate", positiveMeasure}, {"tional", "tion", positiveMeasure},
	{"enci", "ence", positiveMeasure}, {"anci", "ance", positiveMeasure},
	{"izer", "ize", positiveMeasure}, {"bli", "ble", positiveMeasure},
	{"alli", "al", positiveMeasure}, {"entli", "ent", positiveMeasure},
	{"eli", "e", positiveMeasure}, {"ousli", "ous", positiveMeasure},
	{"ization", "ize", positiveMeasure}, {"ation", "ate", positiveMeasure},
	{"ator", "ate", positiveMeasure}, {"alism", "al", positiveMeasure},
	{"iveness", "ive", positiveMeasure}, {"fulness", "ful", positiveMeasure},
	{"ousness", "ous", positiveMeasure}, {"aliti", "al", positiveMeasure},
	{"iviti", "ive", positiveMeasure}, {"biliti", "ble", positiveMeasure},
	{"fulli", "ful", positiveMeasure},
	// NLTK's "logi" -> "log" keeps the "l" with the stem when measuring, so
	// that short stems such as "geo" and "theo" qualify.
	{"logi", "log", func(stem string) bool { return positiveMeasure(stem + "l") }},
}

func porterStep2(w string) string {
	if strings.HasSuffix(w, "alli") && positiveMeasure(w[:len(w)-4]) {
		return porterStep2(w[:len(w)-4] + "al")
	}
	return applyRules(w, porterStep2Rules)
}

func porterStep3(w string) string {
	return applyRules(w, []porterRule{
		{"icate", "ic", positiveMeasure}, {"ative", "", positiveMeasure},
		{"alize", "al", positiveMeasure}, {"iciti", "ic", positiveMeasure},
		{"ical", "ic", positiveMeasure}, {"ful", "", positiveMeasure},
		{"ness", "", positiveMeasure},
	})
}

func porterStep4(w string) string {
	gt1 := func(stem string) bool { return measure(stem) > 1 }
	return applyRules(w, []porterRule{
		{"al", "", gt1}, {"ance", "", gt1}, {"ence", "", gt1}, {"er", "", gt1},
		{"ic", "", gt1}, {"able", "", gt1}, {"ible", "", gt1}, {"ant", "", gt1},
		{"ement", "", gt1}, {"ment", "", gt1}, {"ent", "", gt1},
		{"ion", "", func(stem string) bool {
			return measure(stem) > 1 && stem != "" && (stem[len(stem)-1] == 's' || stem[len(stem)-1] == 't')
		}},
		{"ou", "", gt1}, {"ism", "", gt1}, {"ate", "", gt1}, {"iti", "", gt1},
		{"ous", "", gt1}, {"ive", "", gt1}, {"ize", "", gt1},
	})
}

func porterStep5a(w string) string {
	if strings.HasSuffix(w, "e") {
		stem := w[:len(w)-1]
		m := measure(stem)
		if m > 1 || (m == 1 && !endsCVC(stem)) {
			return stem
		}
	}
	return w
}

func porterStep5b(w string) string {
	if strings.HasSuffix(w, "ll") && measure(w[:len(w)-1]) > 1 {
		return w[:len(w)-1]
	}
	return w
}
