package reward

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type bleuCase struct {
	ID           string          `json:"id"`
	Hyps         []string        `json:"hyps"`
	Refs         [][]string      `json:"refs"`
	Kwargs       map[string]any  `json:"kwargs"`
	Expect       *float64        `json:"expect"`
	Eps          float64         `json:"eps"`
	SmoothValue  json.RawMessage `json:"smooth_value"`
	SmoothMethod string          `json:"smooth_method"`
	ExpectCounts []int           `json:"expect_counts"`
	ExpectTotals []int           `json:"expect_totals"`
	Correct      []int           `json:"correct"`
	Total        []int           `json:"total"`
	SysLen       int             `json:"sys_len"`
	RefLen       int             `json:"ref_len"`
	Exact        bool            `json:"exact"`
}

type bleuFile struct {
	Corpus   []bleuCase `json:"corpus_bleu"`
	MaxOrder []struct {
		Order  int    `json:"order"`
		Expect string `json:"expect"`
	}
	Raw      []bleuCase
	Compute  []bleuCase
	Sentence struct {
		Ref   string `json:"REF"`
		Sys   string `json:"SYS"`
		Cases []struct {
			Smooth    string   `json:"smooth"`
			Value     *float64 `json:"value"`
			Lowercase bool     `json:"lowercase"`
			Tok       string   `json:"tok"`
			Expect    float64  `json:"expect"`
		} `json:"cases"`
	}
	Zero struct {
		Expect float64  `json:"all_smoothings_expect"`
		Cases  []string `json:"cases"`
	}
}

func loadBLEUCases(t *testing.T) bleuFile {
	var f bleuFile
	readJSON(t, "sacrebleu_bleu_cases.json", &f)
	// The section names carry commas, which struct tags cannot spell.
	var sections map[string]json.RawMessage
	readJSON(t, "sacrebleu_bleu_cases.json", &sections)
	for key, raw := range sections {
		var dst any
		switch {
		case strings.HasPrefix(key, "max_ngram_order "):
			dst = &f.MaxOrder
		case strings.HasPrefix(key, "raw_corpus_bleu "):
			dst = &f.Raw
		case strings.HasPrefix(key, "compute_bleu("):
			dst = &f.Compute
		case strings.HasPrefix(key, "sentence_bleu zero "):
			dst = &f.Zero
		case strings.HasPrefix(key, "sentence_bleu "):
			dst = &f.Sentence
		default:
			continue
		}
		require.NoError(t, json.Unmarshal(raw, dst), key)
	}
	// Guard against a renamed key silently emptying a section.
	require.NotEmpty(t, f.Corpus)
	require.NotEmpty(t, f.MaxOrder)
	require.NotEmpty(t, f.Raw)
	require.NotEmpty(t, f.Compute)
	require.NotEmpty(t, f.Sentence.Cases)
	require.NotEmpty(t, f.Zero.Cases)
	return f
}

func mustBLEU(t *testing.T, o BLEUOptions) *BLEU {
	t.Helper()
	b, err := NewBLEU(o)
	require.NoError(t, err)
	return b
}

func TestBLEUSacrebleuCorpus(t *testing.T) {
	f := loadBLEUCases(t)
	for _, c := range f.Corpus {
		t.Run(c.ID, func(t *testing.T) {
			o := BLEUOptions{}
			for k, v := range c.Kwargs {
				switch k {
				case "tokenize":
					o.Tokenize = v.(string)
				case "smooth_method":
					o.Smooth = v.(string)
				default:
					t.Fatalf("unhandled kwarg %s", k)
				}
			}
			got, err := mustBLEU(t, o).Corpus(c.Hyps, c.Refs)
			require.NoError(t, err)
			require.NotNil(t, c.Expect)
			assert.InDelta(t, *c.Expect, got.Score, c.Eps)
		})
	}
	hyps, refs := f.Corpus[0].Hyps, f.Corpus[0].Refs
	for _, c := range f.MaxOrder {
		t.Run(fmt.Sprintf("order%d", c.Order), func(t *testing.T) {
			got, err := mustBLEU(t, BLEUOptions{MaxOrder: c.Order}).Corpus(hyps, refs)
			require.NoError(t, err)
			assert.Equal(t, c.Expect, strconv.FormatFloat(got.Score, 'f', 2, 64))
		})
	}
}

func TestBLEUSacrebleuRaw(t *testing.T) {
	f := loadBLEUCases(t)
	for _, c := range f.Raw {
		t.Run(c.ID, func(t *testing.T) {
			o := BLEUOptions{Tokenize: TokenizeNone, Smooth: SmoothFloor, EffectiveOrder: true}
			if s := strings.TrimSpace(string(c.SmoothValue)); s != "" && s != "null" {
				v, err := strconv.ParseFloat(s, 64)
				require.NoError(t, err)
				o.SmoothValue = &v
			}
			got, err := mustBLEU(t, o).Corpus(c.Hyps, c.Refs)
			require.NoError(t, err)
			if c.ExpectCounts != nil {
				assert.Equal(t, c.ExpectCounts, got.Counts)
				assert.Equal(t, c.ExpectTotals, got.Totals)
			}
			if c.Expect != nil {
				assert.InDelta(t, *c.Expect, got.Score/100, 1e-9)
			}
			require.True(t, c.Expect != nil || c.ExpectCounts != nil, "case checks nothing")
		})
	}
}

func TestBLEUSacrebleuCompute(t *testing.T) {
	f := loadBLEUCases(t)
	for _, c := range f.Compute {
		t.Run(c.ID, func(t *testing.T) {
			var sv float64
			switch c.SmoothMethod {
			case SmoothFloor:
				sv = 0.1
			case SmoothAddK:
				sv = 1
			}
			if s := strings.TrimSpace(string(c.SmoothValue)); s != "" && s != "null" {
				v, err := strconv.ParseFloat(s, 64)
				require.NoError(t, err)
				sv = v
			}
			got := ComputeBLEU(c.Correct, c.Total, c.SysLen, c.RefLen, c.SmoothMethod, sv, false)
			require.NotNil(t, c.Expect)
			if c.Exact {
				assert.Equal(t, *c.Expect, got.Score/100)
			} else {
				assert.InDelta(t, *c.Expect, got.Score/100, 1e-9)
			}
		})
	}
}

func TestBLEUSacrebleuSentence(t *testing.T) {
	f := loadBLEUCases(t)
	s := f.Sentence
	for i, c := range s.Cases {
		t.Run(fmt.Sprintf("%d_%s_%s", i, c.Smooth, c.Tok), func(t *testing.T) {
			b := mustBLEU(t, BLEUOptions{Tokenize: c.Tok, Smooth: c.Smooth, SmoothValue: c.Value, Lowercase: c.Lowercase, EffectiveOrder: true})
			got, err := b.Sentence(s.Sys, []string{s.Ref})
			require.NoError(t, err)
			assert.InDelta(t, c.Expect, got.Score, 1e-3)
		})
	}
	for _, name := range f.Zero.Cases {
		t.Run("zero_"+name, func(t *testing.T) {
			o := BLEUOptions{EffectiveOrder: true}
			method, arg, hasArg := strings.Cut(strings.TrimSuffix(name, ")"), "(")
			o.Smooth = method
			if hasArg && arg != "None" {
				v, err := strconv.ParseFloat(arg, 64)
				require.NoError(t, err)
				o.SmoothValue = &v
			}
			got, err := mustBLEU(t, o).Sentence("this is a cat", []string{"okay thanks"})
			require.NoError(t, err)
			assert.Equal(t, f.Zero.Expect, got.Score)
		})
	}
}

func TestBLEUErrors(t *testing.T) {
	_, err := NewBLEU(BLEUOptions{Tokenize: "zh"})
	require.ErrorContains(t, err, "unknown tokenizer")
	_, err = NewBLEU(BLEUOptions{Smooth: "bogus"})
	require.ErrorContains(t, err, "unknown smoothing")
	b := mustBLEU(t, BLEUOptions{})
	_, err = b.Corpus([]string{"a", "b"}, [][]string{{"a"}})
	require.ErrorContains(t, err, "reference stream 0 has 1 segments, want 2")
	_, err = b.Corpus([]string{"a"}, [][]string{{""}, {""}})
	require.ErrorIs(t, err, ErrEmptyReference)
	// An empty reference in one stream is skipped, as sacrebleu does.
	withGap, err := b.Corpus([]string{"the cat sat on the mat"}, [][]string{{"the cat sat on the mat"}, {""}})
	require.NoError(t, err)
	assert.InDelta(t, 100.0, withGap.Score, 1e-9)
}

func TestTokenize13a(t *testing.T) {
	// Hand-derived from the mteval-v13a rules: punctuation split off,
	// periods and commas kept inside numbers, dash split after a digit.
	assert.Equal(t, "Hello , world ! 3.5 and 1,000 . a-b 2 - 3 \" & < >",
		tokenize13a("Hello, world! 3.5 and 1,000. a-b 2-3 &quot; &amp; &lt; &gt;"))
}
