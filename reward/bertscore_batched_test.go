package reward

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/encoder"
	"github.com/pmlm-go/pmlm/encoder/bert"
)

// batchedTolerance bounds |batched − exact| on P, R and F: the batched
// path rounds unit vectors to float32 and sums in float32.
const batchedTolerance = 1e-5

// clinicalWords is the vocabulary of the random sentences below.
var clinicalWords = strings.Fields(`severe preeclampsia with elevated blood pressure delivered by cesarean
at 34 weeks normal vaginal delivery healthy baby girl apgar postpartum hemorrhage treated oxytocin and
transfusion of two units gestational diabetes controlled insulin induction 39 the patient was monitored
closely labour induced magnesium sulfate given for seizure prophylaxis headache visual disturbance
proteinuria platelets liver enzymes fetal growth restriction ultrasound doppler breech presentation
epidural analgesia uncomplicated recovery discharged on day three follow up clinic xyzzyq unknownword`)

// randomText draws n words from clinicalWords with some punctuation.
func randomText(rng *rand.Rand, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(clinicalWords[rng.IntN(len(clinicalWords))])
		if rng.IntN(12) == 0 {
			b.WriteString([]string{",", ";", "."}[rng.IntN(3)])
		}
	}
	return b.String()
}

// randomPairs returns n candidates of 0 to 40 words, each with 1 to 3
// references of 0 to 40 words; about one text in ten is empty.
func randomPairs(rng *rand.Rand, n int) ([]string, [][]string) {
	length := func() int {
		if rng.IntN(10) == 0 {
			return 0
		}
		return 1 + rng.IntN(40)
	}
	cands := make([]string, n)
	refs := make([][]string, n)
	for i := range cands {
		cands[i] = randomText(rng, length())
		for range 1 + rng.IntN(3) {
			refs[i] = append(refs[i], randomText(rng, length()))
		}
	}
	return cands, refs
}

func requireScoresClose(t *testing.T, want, got *BERTScores) {
	t.Helper()
	require.Len(t, got.Pairs, len(want.Pairs))
	for i := range want.Pairs {
		assert.InDelta(t, want.Pairs[i].P, got.Pairs[i].P, batchedTolerance, "pair %d P", i)
		assert.InDelta(t, want.Pairs[i].R, got.Pairs[i].R, batchedTolerance, "pair %d R", i)
		assert.InDelta(t, want.Pairs[i].F, got.Pairs[i].F, batchedTolerance, "pair %d F", i)
	}
	assert.InDelta(t, want.Mean.F, got.Mean.F, batchedTolerance)
	assert.Equal(t, want.Warnings, got.Warnings)
	assert.Equal(t, want.Embedder, got.Embedder)
}

func TestBERTScoreBatchedMatchesExact(t *testing.T) {
	ctx := context.Background()
	vecs := defaultVectors(t)
	rng := rand.New(rand.NewPCG(8, 3))
	cands, refs := randomPairs(rng, 40)
	// Make sure the edge cases are there whatever the draw.
	cands = append(cands, "", "blood pressure", "")
	refs = append(refs, []string{"normal delivery"}, []string{"", "blood pressure normal"}, []string{""})
	for _, idf := range []bool{false, true} {
		for _, idfDocs := range [][]string{nil, clinicalRefs[0]} {
			t.Run(fmt.Sprintf("idf=%v/docs=%d", idf, len(idfDocs)), func(t *testing.T) {
				opts := BERTScoreOptions{IDF: idf, IDFDocs: idfDocs, Baseline: &Baseline{P: 0.2, R: 0.25, F: 0.22}}
				exact, err := NewBERTScorer(vecs, opts).Score(ctx, cands, refs)
				require.NoError(t, err)
				opts.Batched = true
				s := NewBERTScorer(vecs, opts)
				defer func() { require.NoError(t, s.Close()) }()
				got, err := s.Score(ctx, cands, refs)
				require.NoError(t, err)
				requireScoresClose(t, exact, got)
				assert.NotEmpty(t, exact.Warnings, "the draw must contain empty texts")
				t.Logf("batched on %s", s.Accelerator())
			})
		}
	}
}

// TestBERTScoreBatchedPaddingNeverWins pads a short pair whose similarities
// are all negative (toy "c" against "d" between [CLS] and [SEP]: its best is
// −√2/2) with a longer pair of the same call: a padded zero must not become
// a maximum.
func TestBERTScoreBatchedPaddingNeverWins(t *testing.T) {
	ctx := context.Background()
	cands := []string{"c a", "a b c d a b"}
	refs := [][]string{{"d"}, {"a b c d a b c"}}
	exact, err := NewBERTScorer(newToy(), BERTScoreOptions{}).Score(ctx, cands, refs)
	require.NoError(t, err)
	require.InDelta(t, -r2/2, exact.Pairs[0].P, 1e-12, "the case needs a negative best similarity")
	s := NewBERTScorer(newToy(), BERTScoreOptions{Batched: true})
	got, err := s.Score(ctx, cands, refs)
	require.NoError(t, err)
	requireScoresClose(t, exact, got)
	require.NoError(t, s.Close())
	// A closed scorer makes a new multiplier on the next batched call.
	got, err = s.Score(ctx, cands, refs)
	require.NoError(t, err)
	requireScoresClose(t, exact, got)
	require.NoError(t, s.Close())
}

func TestBERTScoreAccelerator(t *testing.T) {
	assert.Empty(t, NewBERTScorer(newToy(), BERTScoreOptions{}).Accelerator())
	s := NewBERTScorer(newToy(), BERTScoreOptions{Batched: true})
	assert.NotEmpty(t, s.Accelerator())
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close twice")
}

// doctorReplies returns n synthetic doctor replies of about words words
// each, drawn from clinicalWords.
func doctorReplies(rng *rand.Rand, n, words int) ([]string, [][]string) {
	cands := make([]string, n)
	refs := make([][]string, n)
	for i := range cands {
		cands[i] = randomText(rng, words)
		refs[i] = []string{randomText(rng, words)}
	}
	return cands, refs
}

// BenchmarkBERTScoreBatched scores 64 pairs of about 150-token texts
// over the embedded word vectors, on the exact float64 path and batched;
// the mixed-* variants draw every text's length from 10 to 150 words, where
// padding to the longest text wastes most. The references are cached after
// the first call, as in training.
func BenchmarkBERTScoreBatched(b *testing.B) {
	vecs := defaultVectors(b)
	cands, refs := doctorReplies(rand.New(rand.NewPCG(1, 2)), 64, 140)
	e, err := vecs.Encode(context.Background(), cands[0])
	require.NoError(b, err)
	b.Logf("%d tokens in the first candidate", len(e.Tokens))
	rng := rand.New(rand.NewPCG(5, 6))
	mixedC, mixedR := make([]string, 64), make([][]string, 64)
	for i := range mixedC {
		mixedC[i] = randomText(rng, 10+rng.IntN(141))
		mixedR[i] = []string{randomText(rng, 10+rng.IntN(141))}
	}
	for _, batched := range []bool{false, true} {
		name := "exact"
		if batched {
			name = "batched"
		}
		b.Run(name, func(b *testing.B) {
			benchScore(b, vecs, BERTScoreOptions{Batched: batched}, cands, refs)
		})
		b.Run("mixed-"+name, func(b *testing.B) {
			benchScore(b, vecs, BERTScoreOptions{Batched: batched}, mixedC, mixedR)
		})
	}
}

func benchScore(b *testing.B, enc encoder.TextEncoder, opts BERTScoreOptions, cands []string, refs [][]string) {
	ctx := context.Background()
	s := NewBERTScorer(enc, opts)
	defer s.Close()
	if _, err := s.Score(ctx, cands, refs); err != nil { // fill the reference cache
		b.Fatal(err)
	}
	if opts.Batched {
		b.Logf("accelerator: %s", s.Accelerator())
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Score(ctx, cands, refs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(cands))/b.Elapsed().Seconds(), "pairs/s")
}

// BenchmarkBERTScoreBERTBase scores pairs of 128-token texts with a random
// bert-base (layer 9): candidates are re-encoded every call, so the BERT
// forward dominates. Building the model takes seconds; skipped with -short.
func BenchmarkBERTScoreBERTBase(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a bert-base")
	}
	cfg := bert.BaseConfig()
	vocab := make([]string, cfg.VocabSize)
	copy(vocab, []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"})
	for i := 5; i < len(vocab); i++ {
		vocab[i] = fmt.Sprintf("w%d", i)
	}
	m, err := bert.NewRandom(cfg, bert.DefaultTokenizerConfig(), vocab, rand.New(rand.NewPCG(1, 1)),
		bert.Options{Layer: bert.LayerOf(9), Name: "random-bert-base"})
	require.NoError(b, err)
	rng := rand.New(rand.NewPCG(4, 4))
	text := func() string { // 126 words + [CLS] + [SEP] = 128 tokens
		w := make([]string, 126)
		for i := range w {
			w[i] = vocab[5+rng.IntN(len(vocab)-5)]
		}
		return strings.Join(w, " ")
	}
	const pairs = 4
	cands := make([]string, pairs)
	refs := make([][]string, pairs)
	for i := range cands {
		cands[i], refs[i] = text(), []string{text()}
	}
	e, err := m.Encode(context.Background(), cands[0])
	require.NoError(b, err)
	require.Len(b, e.Tokens, 128)
	for _, batched := range []bool{false, true} {
		name := "exact"
		if batched {
			name = "batched"
		}
		b.Run(name, func(b *testing.B) {
			benchScore(b, m, BERTScoreOptions{Batched: batched}, cands, refs)
		})
	}
}
