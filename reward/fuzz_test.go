package reward

import (
	"math"
	"strings"
	"testing"
)

func FuzzReadBaseline(f *testing.F) {
	f.Add("LAYER,P,R,F\n0,0.1,0.2,0.3\n9,0.8,0.8,0.8\n", 9)
	f.Add("LAYER,P,R,F\n", 0)
	f.Add("", 0)
	f.Fuzz(func(t *testing.T, text string, layer int) {
		b, err := ReadBaseline(strings.NewReader(text), "f.tsv", layer)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.tsv") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if b.Layer != layer || b.P >= 1 || b.R >= 1 || b.F >= 1 || math.IsNaN(b.P+b.R+b.F) {
			t.Fatalf("bad baseline %+v for layer %d", b, layer)
		}
	})
}

// FuzzMetrics feeds arbitrary text to the tokenizers and scorers: no panic,
// scores in range, and a text scores perfectly against itself.
func FuzzMetrics(f *testing.F) {
	f.Add("The dog bit the man.", "It wasn't surprising.")
	f.Add("3.5-4, &quot;x&quot; <skipped>-\nend", "")
	f.Add("Ünïcödé — 「テスト」 ½", "a\x00b")
	rouge, err := NewROUGE([]string{ROUGE1, ROUGE2, ROUGEL, ROUGELsum}, true)
	if err != nil {
		f.Fatal(err)
	}
	var bleus []*BLEU
	for _, tok := range []string{Tokenize13a, TokenizeNone, TokenizeIntl, TokenizeChar} {
		b, err := NewBLEU(BLEUOptions{Tokenize: tok, EffectiveOrder: true})
		if err != nil {
			f.Fatal(err)
		}
		bleus = append(bleus, b)
	}
	f.Fuzz(func(t *testing.T, hyp, ref string) {
		for _, b := range bleus {
			s, err := b.Sentence(hyp, []string{ref})
			if err != nil {
				if ref != "" {
					t.Fatalf("unexpected error: %v", err)
				}
				continue
			}
			if s.Score < 0 || s.Score > 100+1e-9 || math.IsNaN(s.Score) {
				t.Fatalf("BLEU %v out of range", s.Score)
			}
		}
		for typ, s := range rouge.Score(ref, hyp) {
			for _, v := range []float64{s.Precision, s.Recall, s.FMeasure} {
				if v < 0 || v > 1 || math.IsNaN(v) {
					t.Fatalf("%s %+v out of range", typ, s)
				}
			}
		}
		if len(rouge.Tokenize(hyp)) > 0 {
			if s := rouge.Score(hyp, hyp)[ROUGE1]; s.FMeasure != 1 {
				t.Fatalf("rouge1 of a text against itself = %v", s.FMeasure)
			}
		}
	})
}
