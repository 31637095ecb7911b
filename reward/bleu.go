package reward

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"unicode"
)

// BLEU smoothing methods, named as sacrebleu names them.
const (
	SmoothNone  = "none"
	SmoothFloor = "floor"
	SmoothAddK  = "add-k"
	SmoothExp   = "exp"
)

// BLEU tokenizers, named as sacrebleu names them.
const (
	Tokenize13a  = "13a"
	TokenizeNone = "none"
	TokenizeIntl = "intl"
	TokenizeChar = "char"
)

// ErrEmptyReference is returned when every reference of a segment is empty:
// sacrebleu refuses such a segment too.
var ErrEmptyReference = errors.New("reward: empty BLEU reference")

// BLEUOptions configures a BLEU scorer. The zero value is sacrebleu's
// default corpus BLEU: 13a tokenization, exponential smoothing, order 4,
// no effective order.
type BLEUOptions struct {
	// Tokenize is one of Tokenize13a (default when empty), TokenizeNone,
	// TokenizeIntl, TokenizeChar.
	Tokenize string
	// Lowercase folds case before tokenizing.
	Lowercase bool
	// Smooth is one of SmoothExp (default when empty), SmoothNone,
	// SmoothFloor, SmoothAddK.
	Smooth string
	// SmoothValue is the floor or k; nil means sacrebleu's default for the
	// method (0.1 for floor, 1 for add-k).
	SmoothValue *float64
	// MaxOrder is the largest n-gram order; 0 means 4.
	MaxOrder int
	// EffectiveOrder averages only over the orders that have at least one
	// n-gram in the hypothesis, as sacrebleu's sentence_bleu does.
	EffectiveOrder bool
}

// BLEUScore is a BLEU result with the statistics behind it.
type BLEUScore struct {
	// Score is BLEU on sacrebleu's 0–100 scale.
	Score float64
	// Counts[n-1] is the number of clipped n-gram matches, Totals[n-1] the
	// number of hypothesis n-grams.
	Counts, Totals []int
	// Precisions are the (smoothed) n-gram precisions, 0–100.
	Precisions []float64
	// BP is the brevity penalty.
	BP float64
	// SysLen and RefLen are the hypothesis and effective reference lengths.
	SysLen, RefLen int
}

// BLEU computes BLEU as sacrebleu 2.x does. It is safe for concurrent use.
type BLEU struct {
	tokenize    func(string) string
	lowercase   bool
	smooth      string
	smoothValue float64
	maxOrder    int
	effective   bool
}

// NewBLEU returns a BLEU scorer, or an error for an unknown tokenizer or
// smoothing method.
func NewBLEU(opts BLEUOptions) (*BLEU, error) {
	b := &BLEU{lowercase: opts.Lowercase, maxOrder: opts.MaxOrder, effective: opts.EffectiveOrder}
	if b.maxOrder == 0 {
		b.maxOrder = 4
	}
	if b.maxOrder < 0 {
		return nil, fmt.Errorf("bleu: max order %d < 1", opts.MaxOrder)
	}
	switch opts.Tokenize {
	case "", Tokenize13a:
		b.tokenize = tokenize13a
	case TokenizeNone:
		b.tokenize = func(s string) string { return s }
	case TokenizeIntl:
		b.tokenize = tokenizeIntl
	case TokenizeChar:
		b.tokenize = tokenizeChar
	default:
		return nil, fmt.Errorf("bleu: unknown tokenizer %q (want 13a, none, intl or char)", opts.Tokenize)
	}
	b.smooth = opts.Smooth
	if b.smooth == "" {
		b.smooth = SmoothExp
	}
	switch b.smooth {
	case SmoothNone, SmoothExp:
	case SmoothFloor:
		b.smoothValue = 0.1
	case SmoothAddK:
		b.smoothValue = 1
	default:
		return nil, fmt.Errorf("bleu: unknown smoothing %q (want none, floor, add-k or exp)", opts.Smooth)
	}
	if opts.SmoothValue != nil {
		b.smoothValue = *opts.SmoothValue
	}
	return b, nil
}

// Corpus scores hypotheses against reference streams: refStreams[k][i] is
// the k-th reference of hyps[i], as sacrebleu's corpus_score takes them.
// Empty references of a segment are skipped (a segment may have fewer
// references than others); a segment whose references are all empty is an
// error.
func (b *BLEU) Corpus(hyps []string, refStreams [][]string) (BLEUScore, error) {
	if len(refStreams) == 0 {
		return BLEUScore{}, errors.New("bleu: no reference stream")
	}
	for k, s := range refStreams {
		if len(s) != len(hyps) {
			return BLEUScore{}, fmt.Errorf("bleu: reference stream %d has %d segments, want %d (one per hypothesis)", k, len(s), len(hyps))
		}
	}
	stats := make([]int, 2+2*b.maxOrder)
	refs := make([]string, len(refStreams))
	for i, h := range hyps {
		for k := range refStreams {
			refs[k] = refStreams[k][i]
		}
		seg, err := b.segmentStats(h, refs)
		if err != nil {
			return BLEUScore{}, fmt.Errorf("segment %d: %w", i, err)
		}
		for j, v := range seg {
			stats[j] += v
		}
	}
	return b.fromStats(stats), nil
}

// Sentence scores one hypothesis against its references (sacrebleu's
// sentence_score). Pair it with EffectiveOrder, as sacrebleu's sentence_bleu
// does, or most short sentences score 0.
func (b *BLEU) Sentence(hyp string, refs []string) (BLEUScore, error) {
	stats, err := b.segmentStats(hyp, refs)
	if err != nil {
		return BLEUScore{}, err
	}
	return b.fromStats(stats), nil
}

func (b *BLEU) fromStats(stats []int) BLEUScore {
	n := b.maxOrder
	return ComputeBLEU(stats[2:2+n], stats[2+n:], stats[0], stats[1], b.smooth, b.smoothValue, b.effective)
}

func (b *BLEU) preprocess(s string) string {
	if b.lowercase {
		s = strings.ToLower(s)
	}
	return b.tokenize(strings.TrimRightFunc(s, isPySpace))
}

// segmentStats returns [hypLen, refLen, correct_1..n, total_1..n].
func (b *BLEU) segmentStats(hyp string, refs []string) ([]int, error) {
	var refNgrams map[string]int
	var refLens []int
	for _, r := range refs {
		if r == "" {
			continue
		}
		toks := pyFields(b.preprocess(r))
		ng := ngramCounts(toks, 1, b.maxOrder)
		refLens = append(refLens, len(toks))
		if refNgrams == nil {
			refNgrams = ng
			continue
		}
		for g, c := range ng {
			refNgrams[g] = max(refNgrams[g], c)
		}
	}
	if refLens == nil {
		return nil, ErrEmptyReference
	}
	hypToks := pyFields(b.preprocess(hyp))
	hypNgrams, hypLen := ngramCounts(hypToks, 1, b.maxOrder), len(hypToks)
	stats := make([]int, 2+2*b.maxOrder)
	stats[0] = hypLen
	stats[1] = closestRefLen(hypLen, refLens)
	for g, c := range hypNgrams {
		n := strings.Count(g, "\x00") // order-1
		stats[2+b.maxOrder+n] += c
		if rc, ok := refNgrams[g]; ok {
			stats[2+n] += min(c, rc)
		}
	}
	return stats, nil
}

// closestRefLen is sacrebleu's "closest" reference length: the one nearest
// to the hypothesis length, the shorter on ties.
func closestRefLen(hypLen int, refLens []int) int {
	bestDiff, best := -1, -1
	for _, l := range refLens {
		d := hypLen - l
		if d < 0 {
			d = -d
		}
		if bestDiff == -1 || d < bestDiff {
			bestDiff, best = d, l
		} else if d == bestDiff && l < best {
			best = l
		}
	}
	return best
}

// ngramCounts counts the n-grams of orders minOrder..maxOrder, keyed by their
// tokens joined with NUL (a NUL inside a token is escaped first, so the
// number of NULs in a key is its order minus one).
func ngramCounts(tokens []string, minOrder, maxOrder int) map[string]int {
	counts := make(map[string]int, len(tokens)*(maxOrder-minOrder+1))
	var sb strings.Builder
	for n := minOrder; n <= maxOrder; n++ {
		for i := 0; i+n <= len(tokens); i++ {
			sb.Reset()
			for j := i; j < i+n; j++ {
				if j > i {
					sb.WriteByte(0)
				}
				sb.WriteString(escapeNUL(tokens[j]))
			}
			counts[sb.String()]++
		}
	}
	return counts
}

// escapeNUL keeps the n-gram key unambiguous for tokens that contain NUL.
func escapeNUL(t string) string {
	if strings.IndexByte(t, 0) < 0 {
		return t
	}
	return strings.ReplaceAll(t, "\x00", "\uFFFD\uFFFE")
}

// ComputeBLEU is sacrebleu's BLEU.compute_bleu: BLEU (0–100) from matched
// n-gram counts, hypothesis n-gram totals and lengths. smoothValue is used
// by floor and add-k only. The slices are not modified.
func ComputeBLEU(correct, total []int, sysLen, refLen int, smooth string, smoothValue float64, effectiveOrder bool) BLEUScore {
	order := len(correct)
	res := BLEUScore{
		Counts:     append([]int(nil), correct...),
		Totals:     append([]int(nil), total...),
		Precisions: make([]float64, order),
		SysLen:     sysLen,
		RefLen:     refLen,
		BP:         1,
	}
	if sysLen < refLen {
		if sysLen > 0 {
			res.BP = math.Exp(1 - float64(refLen)/float64(sysLen))
		} else {
			res.BP = 0
		}
	}
	anyMatch := false
	for _, c := range correct {
		anyMatch = anyMatch || c != 0
	}
	if !anyMatch {
		return res
	}
	smoothMteval := 1.0
	effOrder := order
	for n := 1; n <= order; n++ {
		c, t := float64(correct[n-1]), float64(total[n-1])
		if smooth == SmoothAddK && n > 1 {
			c += smoothValue
			t += smoothValue
		}
		if t == 0 {
			break
		}
		if effectiveOrder {
			effOrder = n
		}
		if c == 0 {
			switch smooth {
			case SmoothExp:
				smoothMteval *= 2
				res.Precisions[n-1] = 100 / (smoothMteval * t)
			case SmoothFloor:
				res.Precisions[n-1] = 100 * smoothValue / t
			}
		} else {
			res.Precisions[n-1] = 100 * c / t
		}
	}
	sum := 0.0
	for _, p := range res.Precisions[:effOrder] {
		if p == 0 {
			sum += -9999999999 // sacrebleu's my_log(0)
		} else {
			sum += math.Log(p)
		}
	}
	res.Score = res.BP * math.Exp(sum/float64(effOrder))
	return res
}

// isPySpace reports the characters Python's str.rstrip removes by default.
func isPySpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x1f, 0x85:
		return true
	}
	return r > 0x7f && unicode.IsSpace(r)
}

// pyFields splits like Python's str.split() with no argument.
func pyFields(s string) []string { return strings.FieldsFunc(s, isPySpace) }

var (
	re13aPunct      = regexp.MustCompile(`([\{-\~\[-\x60 -\&\(-\+\:-\@\/])`)
	re13aPeriodPre  = regexp.MustCompile(`([^0-9])([\.,])`)
	re13aPeriodPost = regexp.MustCompile(`([\.,])([^0-9])`)
	re13aDash       = regexp.MustCompile(`([0-9])(-)`)

	reIntlPunctPre  = regexp.MustCompile(`(\P{N})(\p{P})`)
	reIntlPunctPost = regexp.MustCompile(`(\p{P})(\P{N})`)
	reIntlSymbol    = regexp.MustCompile(`(\p{S})`)
)

// tokenize13a is sacrebleu's Tokenizer13a (mteval-v13a.pl).
func tokenize13a(line string) string {
	line = strings.ReplaceAll(line, "<skipped>", "")
	line = strings.ReplaceAll(line, "-\n", "")
	line = strings.ReplaceAll(line, "\n", " ")
	if strings.Contains(line, "&") {
		line = strings.ReplaceAll(line, "&quot;", `"`)
		line = strings.ReplaceAll(line, "&amp;", "&")
		line = strings.ReplaceAll(line, "&lt;", "<")
		line = strings.ReplaceAll(line, "&gt;", ">")
	}
	line = " " + line + " "
	line = re13aPunct.ReplaceAllString(line, " ${1} ")
	line = re13aPeriodPre.ReplaceAllString(line, "${1} ${2} ")
	line = re13aPeriodPost.ReplaceAllString(line, " ${1} ${2}")
	line = re13aDash.ReplaceAllString(line, "${1} ${2} ")
	return strings.Join(pyFields(line), " ")
}

// tokenizeIntl is sacrebleu's TokenizerV14International.
func tokenizeIntl(line string) string {
	line = reIntlPunctPre.ReplaceAllString(line, "${1} ${2} ")
	line = reIntlPunctPost.ReplaceAllString(line, " ${1} ${2}")
	line = reIntlSymbol.ReplaceAllString(line, " ${1} ")
	return strings.Join(pyFields(line), " ")
}

// tokenizeChar is sacrebleu's TokenizerChar: every character a token.
func tokenizeChar(line string) string {
	var sb strings.Builder
	for i, r := range line {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteRune(r)
	}
	return sb.String()
}
