package corpus

import (
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func diagnosisPairs(pairs []Pair) []Pair {
	var out []Pair
	for _, p := range pairs {
		if p.Kind == KindSingle || p.Kind == KindDifferential || p.Kind == KindLikelihood {
			out = append(out, p)
		}
	}
	return out
}

// contextCount returns how many context sentences input holds.
func contextCount(input string) int {
	n := 0
	for _, s := range contextSentences {
		if strings.Contains(input, s) {
			n++
		}
	}
	return n
}

func TestContextPresentAndAbsent(t *testing.T) {
	require.GreaterOrEqual(t, len(contextSentences), 80)
	for _, s := range contextSentences {
		assert.NotContains(t, strings.ToLower(s), "normal", "the test labels must not be filtered out of the pool")
		assert.False(t, strings.ContainsAny(s, "0123456789"), "a context sentence holds no number: %q", s)
	}
	all, err := Build(testCases(10), testLabels, nil, Options{Seed: 4, Context: 1, Deletion: -1})
	require.NoError(t, err)
	none, err := Build(testCases(10), testLabels, nil, Options{Seed: 4, Context: -1, Deletion: -1})
	require.NoError(t, err)
	counts := map[int]int{}
	for _, p := range diagnosisPairs(all) {
		n := contextCount(p.Input)
		assert.True(t, n >= 1 && n <= DefaultMaxContext, "%d context sentences in %q", n, p.Input)
		counts[n]++
	}
	assert.Len(t, counts, DefaultMaxContext, "every number of context sentences occurs")
	for _, p := range diagnosisPairs(none) {
		assert.Zero(t, contextCount(p.Input), p.Input)
	}
	two, err := Build(testCases(10), testLabels, nil, Options{Seed: 4, Context: 1, MaxContext: 2, Deletion: -1})
	require.NoError(t, err)
	for _, p := range diagnosisPairs(two) {
		assert.LessOrEqual(t, contextCount(p.Input), 2, p.Input)
	}
}

// Context sentences go before, after and between the diagnosis sentences.
func TestContextPlacement(t *testing.T) {
	pairs, err := Build(testCases(20), testLabels, nil, Options{Seed: 5, Context: 1, Deletion: -1, Preamble: -1})
	require.NoError(t, err)
	var before, after, between int
	for _, p := range diagnosisPairs(pairs) {
		first, last := len(p.Input), -1
		for _, c := range p.Candidates {
			if i := strings.Index(p.Input, c.Label); i >= 0 {
				first = min(first, i)
			}
			if i := strings.LastIndex(p.Input, c.Label); i >= 0 {
				last = max(last, i)
			}
		}
		for _, s := range contextSentences {
			i := strings.Index(p.Input, s)
			switch {
			case i < 0:
			case i < first:
				before++
			case i > last:
				after++
			default:
				between++
			}
		}
	}
	assert.Positive(t, before)
	assert.Positive(t, after)
	assert.Positive(t, between)
}

func TestContextNamesNoLabel(t *testing.T) {
	labels := []string{"breastfeeding", "Family Support"}
	pool := usableContext(labels)
	assert.Less(t, len(pool), len(contextSentences))
	for _, s := range pool {
		assert.NotContains(t, strings.ToLower(s), "breastfeeding")
		assert.NotContains(t, strings.ToLower(s), "family support")
	}
	assert.Empty(t, usableContext([]string{"e"}), "every sentence holds an e")
	// With no usable sentence, Build still works, without context.
	cases := []Case{{Label: "e", Reply: "r"}, {Label: "be", Reply: "s"}}
	pairs, err := Build(cases, []string{"e", "be"}, nil, Options{Seed: 1, Context: 1})
	require.NoError(t, err)
	for _, p := range pairs {
		assert.Zero(t, contextCount(p.Input))
	}
}

// The default inputs spread from a few words to about 150, and long ones
// (above 60 words, like a coarse prompt) are common.
func TestInputLengthsSpread(t *testing.T) {
	pairs, err := Build(testCases(100), testLabels, nil, Options{Seed: 6})
	require.NoError(t, err)
	var n []int
	for _, p := range diagnosisPairs(pairs) {
		n = append(n, len(strings.Fields(p.Input)))
	}
	sort.Ints(n)
	long := len(n) - sort.SearchInts(n, 61)
	t.Logf("words: min %d, median %d, p90 %d, max %d; above 60: %.2f", n[0], n[len(n)/2], n[len(n)*9/10], n[len(n)-1], float64(long)/float64(len(n)))
	assert.LessOrEqual(t, n[0], 10)
	assert.GreaterOrEqual(t, n[len(n)-1], 120)
	assert.LessOrEqual(t, n[len(n)-1], 200)
	assert.InDelta(t, 0.33, float64(long)/float64(len(n)), 0.1)
}

// Deletion never touches the drawn diagnosis's name: every pair's input
// still names its label, and the reply is that label's.
func TestDeletionKeepsTheDrawnDiagnosis(t *testing.T) {
	clean, err := Build(testCases(20), testLabels, nil, Options{Seed: 8, Deletion: -1, Context: -1, Preamble: -1})
	require.NoError(t, err)
	noisy, err := Build(testCases(20), testLabels, nil, Options{Seed: 8, Deletion: 1, DeleteOther: 1, Context: -1, Preamble: -1})
	require.NoError(t, err)
	var cleanWords, noisyWords, dropped int
	for _, p := range diagnosisPairs(clean) {
		cleanWords += len(strings.Fields(p.Input))
	}
	for _, p := range diagnosisPairs(noisy) {
		noisyWords += len(strings.Fields(p.Input))
		assert.Contains(t, p.Input, p.Label)
		assert.Equal(t, p.Label, replyLabel(p.Output))
		var names []string
		for _, c := range p.Candidates {
			names = append(names, c.Label)
			assert.Contains(t, p.Input, c.Label, "a candidate whose name was deleted must leave Candidates")
		}
		assert.Contains(t, names, p.Label)
		if p.Kind == KindDifferential {
			dropped += strings.Count(p.Input, "  ")
		}
	}
	assert.Less(t, noisyWords, cleanWords, "noise deletes words")
	assert.Zero(t, dropped, "words are joined by single spaces")
}

// noisy, on a marked text: it deletes 1 to MaxDeleted words, never the
// drawn candidate's name or count, and with DeleteOther the name or count
// of one other candidate.
func TestNoisyDeletesOnlyWhatItMay(t *testing.T) {
	pool, err := newReplyPool(testCases(2), testLabels)
	require.NoError(t, err)
	g := &generator{rng: rand.New(rand.NewPCG(1, 2)), pool: pool,
		opt: Options{Deletion: 1, MaxDeleted: 10, DeleteOther: 0.5}}
	drawn, other := 1, 2 // uterine scar, gestational diabetes
	text := "Working diagnosis: " + g.nm(drawn) + ". Of ten comparable deliveries: " +
		markCount(drawn, "six") + " with " + g.nm(drawn) + " and " + markCount(other, "4") + " with " + g.nm(other) +
		". The results come from routine blood tests taken at antenatal visits."
	full := joinWords(parseMarked(text), nil)
	require.Equal(t, "Working diagnosis: uterine scar. Of ten comparable deliveries: six with uterine scar and 4 with gestational diabetes. The results come from routine blood tests taken at antenatal visits.", full)
	cands := []Weight{{"uterine scar", 11}, {"gestational diabetes", 4}}
	lost := map[string]int{}
	for range 2000 {
		out, kept := g.noisy(text, drawn, slices.Clone(cands))
		n := len(strings.Fields(full)) - len(strings.Fields(out))
		require.True(t, n >= 1 && n <= 10, "%d words deleted: %q", n, out)
		require.Equal(t, 2, strings.Count(out, "uterine scar"), out)
		require.Contains(t, out, " six ", out)
		switch {
		case !strings.Contains(out, "gestational diabetes"):
			lost["name"]++
			require.Equal(t, cands[:1], kept)
		case !strings.Contains(out, " 4 "):
			lost["count"]++
			require.Equal(t, cands, kept)
		default:
			require.Equal(t, cands, kept)
		}
		if strings.Contains(out, "gestational") != strings.Contains(out, "diabetes") {
			t.Fatalf("half a name deleted: %q", out)
		}
	}
	assert.InDelta(t, 2000*0.5*0.6, lost["name"], 100)
	assert.InDelta(t, 2000*0.5*0.4, lost["count"], 100)

	// MaxDeleted 1 and no DeleteOther: exactly one free word goes.
	g.opt.MaxDeleted, g.opt.DeleteOther = 1, 0
	for range 200 {
		out, kept := g.noisy(text, drawn, slices.Clone(cands))
		require.Equal(t, len(strings.Fields(full))-1, len(strings.Fields(out)), out)
		require.Contains(t, out, "gestational diabetes")
		require.Contains(t, out, " 4 ")
		require.Equal(t, cands, kept)
	}

	g.opt.Deletion = 0
	out, kept := g.noisy(text, drawn, cands)
	assert.Equal(t, full, out)
	assert.Equal(t, cands, kept)
}

// A share Deletion of the diagnosis inputs are noisy.
func TestDeletionShare(t *testing.T) {
	pairs, err := Build(testCases(30), testLabels, nil, Options{Seed: 9, Context: -1, Preamble: -1, Deletion: 0.3})
	require.NoError(t, err)
	// Without context or task sentences, every clean input ends with a
	// full stop or a question mark; a deleted last word seldom leaves one.
	// So count instead the inputs that are none of the clean forms'
	// outputs: rebuild without deletion and compare word counts per kind.
	clean, err := Build(testCases(30), testLabels, nil, Options{Seed: 9, Context: -1, Preamble: -1, Deletion: -1})
	require.NoError(t, err)
	mean := func(ps []Pair) float64 {
		s := 0
		for _, p := range ps {
			s += len(strings.Fields(p.Input))
		}
		return float64(s) / float64(len(ps))
	}
	a, b := mean(diagnosisPairs(clean)), mean(diagnosisPairs(pairs))
	assert.Less(t, b, a)
	assert.Greater(t, b, a-0.3*5.5-1, "about 30 %% of inputs lose 5.5 words on average")
}
