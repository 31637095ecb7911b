package reward

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// ROUGE types, named as rouge_score names them. "rouge1" … "rouge9" are
// n-gram overlaps; see ParseROUGEType.
const (
	ROUGE1    = "rouge1"
	ROUGE2    = "rouge2"
	ROUGEL    = "rougeL"
	ROUGELsum = "rougeLsum"
)

// PRF is a precision, recall and F-measure triple.
type PRF struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	FMeasure  float64 `json:"fmeasure"`
}

func newPRF(p, r float64) PRF {
	f := 0.0
	if p+r > 0 {
		f = 2 * p * r / (p + r)
	}
	return PRF{p, r, f}
}

// ROUGE computes ROUGE as Google's rouge_score package does: its tokenizer
// (lowercase, non-alphanumerics to spaces, optional Porter stemming of
// tokens longer than 3 characters), n-gram overlap, LCS for rougeL, and
// the summary-level union LCS over newline-separated sentences for
// rougeLsum. It is safe for concurrent use.
type ROUGE struct {
	types []string
	stem  bool
}

var reROUGEN = regexp.MustCompile(`^rouge[0-9]$`)

// NewROUGE returns a scorer for the given types (rouge1 … rouge9, rougeL,
// rougeLsum); stem enables NLTK's Porter stemmer as rouge_score's
// use_stemmer does.
func NewROUGE(types []string, stem bool) (*ROUGE, error) {
	if len(types) == 0 {
		return nil, fmt.Errorf("rouge: no type given")
	}
	for _, t := range types {
		if t == ROUGEL || t == ROUGELsum {
			continue
		}
		if !reROUGEN.MatchString(t) || t == "rouge0" {
			return nil, fmt.Errorf("rouge: invalid type %q (want rouge1…rouge9, rougeL or rougeLsum)", t)
		}
	}
	return &ROUGE{types: slices.Clone(types), stem: stem}, nil
}

// Types returns the ROUGE types the scorer computes.
func (r *ROUGE) Types() []string { return slices.Clone(r.types) }

// Score compares a prediction with one target (rouge_score's
// score(target, prediction); note the order).
func (r *ROUGE) Score(target, prediction string) map[string]PRF {
	out := make(map[string]PRF, len(r.types))
	var tt, pt []string
	if len(r.types) != 1 || r.types[0] != ROUGELsum {
		tt, pt = r.Tokenize(target), r.Tokenize(prediction)
	}
	for _, typ := range r.types {
		switch typ {
		case ROUGEL:
			out[typ] = scoreLCS(tt, pt)
		case ROUGELsum:
			out[typ] = summaryLevelLCS(r.sentences(target), r.sentences(prediction))
		default:
			n, _ := strconv.Atoi(typ[len("rouge"):])
			out[typ] = scoreNgrams(ngramCounts(tt, n, n), ngramCounts(pt, n, n))
		}
	}
	return out
}

// ScoreMulti compares a prediction with several targets and keeps, per
// type, the score of the target with the highest F-measure (the first on
// ties), as rouge_score's score_multi does.
func (r *ROUGE) ScoreMulti(targets []string, prediction string) map[string]PRF {
	best := make(map[string]PRF, len(r.types))
	for i, t := range targets {
		s := r.Score(t, prediction)
		for k, v := range s {
			if i == 0 || v.FMeasure > best[k].FMeasure {
				best[k] = v
			}
		}
	}
	return best
}

// Tokenize is rouge_score's tokenize.tokenize with this scorer's stemming.
func (r *ROUGE) Tokenize(text string) []string {
	text = strings.ToLower(text)
	raw := strings.FieldsFunc(text, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9')
	})
	if r.stem {
		for i, t := range raw {
			if len(t) > 3 {
				raw[i] = porterStem(t)
			}
		}
	}
	return raw
}

func (r *ROUGE) sentences(text string) [][]string {
	var out [][]string
	for s := range strings.SplitSeq(text, "\n") {
		if s != "" {
			out = append(out, r.Tokenize(s))
		}
	}
	return out
}

func scoreNgrams(target, prediction map[string]int) PRF {
	inter, nt, np := 0, 0, 0
	for g, c := range target {
		inter += min(c, prediction[g])
		nt += c
	}
	for _, c := range prediction {
		np += c
	}
	return newPRF(float64(inter)/float64(max(np, 1)), float64(inter)/float64(max(nt, 1)))
}

func scoreLCS(target, prediction []string) PRF {
	if len(target) == 0 || len(prediction) == 0 {
		return PRF{}
	}
	l := lcsTable(target, prediction)[len(target)][len(prediction)]
	return newPRF(float64(l)/float64(len(prediction)), float64(l)/float64(len(target)))
}

func lcsTable(ref, can []string) [][]int {
	t := make([][]int, len(ref)+1)
	for i := range t {
		t[i] = make([]int, len(can)+1)
	}
	for i := 1; i <= len(ref); i++ {
		for j := 1; j <= len(can); j++ {
			if ref[i-1] == can[j-1] {
				t[i][j] = t[i-1][j-1] + 1
			} else {
				t[i][j] = max(t[i-1][j], t[i][j-1])
			}
		}
	}
	return t
}

// lcsIndices backtracks one LCS of ref and can and returns the indices in
// ref of its tokens, as rouge_score's _backtrack_norec does.
func lcsIndices(ref, can []string) []int {
	t := lcsTable(ref, can)
	var idx []int
	i, j := len(ref), len(can)
	for i > 0 && j > 0 {
		switch {
		case ref[i-1] == can[j-1]:
			idx = append(idx, i-1)
			i--
			j--
		case t[i][j-1] > t[i-1][j]:
			j--
		default:
			i--
		}
	}
	slices.Reverse(idx)
	return idx
}

// unionLCS returns the tokens of ref at the union of its LCS indices with
// each candidate sentence, in ref order.
func unionLCS(ref []string, cands [][]string) []string {
	set := map[int]bool{}
	for _, c := range cands {
		for _, i := range lcsIndices(ref, c) {
			set[i] = true
		}
	}
	idx := make([]int, 0, len(set))
	for i := range set {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	out := make([]string, len(idx))
	for k, i := range idx {
		out[k] = ref[i]
	}
	return out
}

// summaryLevelLCS is rouge_score's _summary_level_lcs (ROUGE-Lsum): union
// LCS hits, each token counted at most as often as it occurs on both sides.
func summaryLevelLCS(ref, can [][]string) PRF {
	if len(ref) == 0 || len(can) == 0 {
		return PRF{}
	}
	m, n := 0, 0
	cntR, cntC := map[string]int{}, map[string]int{}
	for _, s := range ref {
		m += len(s)
		for _, t := range s {
			cntR[t]++
		}
	}
	for _, s := range can {
		n += len(s)
		for _, t := range s {
			cntC[t]++
		}
	}
	if m == 0 || n == 0 {
		return PRF{}
	}
	hits := 0
	for _, r := range ref {
		for _, t := range unionLCS(r, can) {
			if cntC[t] > 0 && cntR[t] > 0 {
				hits++
				cntC[t]--
				cntR[t]--
			}
		}
	}
	return newPRF(float64(hits)/float64(n), float64(hits)/float64(m))
}
