package lm

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSplitPieces(t *testing.T) {
	assert.Equal(t, []string{"Haemoglobin", " 1", "0", "8", " g", "/", "L", ",", " low", "."},
		splitPieces("  Haemoglobin 108 g/L, low."))
	assert.Equal(t, []string{"×", "1", "0", "⁹", "/", "L"}, splitPieces("×10⁹/L"))
	assert.Equal(t, []string{"a", " b"}, splitPieces("a \n\t b"))
	assert.Empty(t, splitPieces(" \n "))
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	v := tinyVocab(t)
	for _, s := range []string{
		"Discharge diagnosis: gestational diabetes.",
		"Check glucose 6 weeks after delivery, 42-day check.",
		"An unseen word: thalassaemia 3.5 ×10¹²/L", // spelled with characters
	} {
		ids := v.Encode(s)
		got := v.Decode(ids)
		if strings.ContainsRune(got, '\uFFFD') {
			continue
		}
		for _, id := range ids {
			require.GreaterOrEqual(t, id, 0)
			require.Less(t, id, v.Size())
		}
		if !containsUnk(ids) {
			assert.Equal(t, s, got)
		}
	}
	// Frequent words are single pieces; digits always are.
	assert.Len(t, v.Encode("Discharge"), 1)
	assert.Len(t, v.Encode("42"), 2)
}

func containsUnk(ids []int) bool {
	for _, id := range ids {
		if id == UnkID {
			return true
		}
	}
	return false
}

func TestUnknownCharacters(t *testing.T) {
	v := tinyVocab(t)
	ids := v.Encode("glucose ☃")
	assert.Equal(t, UnkID, ids[len(ids)-1])
	assert.Equal(t, "glucose", v.Decode(ids))
}

func TestVocabularyDeterministicAndRebuildable(t *testing.T) {
	texts := []string{"b a a c", "c c c a", "9 8 d"}
	v1, err := NewVocabulary(texts, 2)
	require.NoError(t, err)
	v2, err := NewVocabulary(texts, 2)
	require.NoError(t, err)
	assert.Equal(t, v1.Pieces(), v2.Pieces())
	v3, err := VocabularyFromPieces(v1.Pieces())
	require.NoError(t, err)
	assert.Equal(t, v1.Encode("c a b d"), v3.Encode("c a b d"))
}

func TestVocabularyErrors(t *testing.T) {
	_, err := NewVocabulary(nil, 1)
	require.ErrorIs(t, err, ErrVocabulary)
	for _, pieces := range [][]string{
		{"<pad>"},
		{"<pad>", "<unk>", "<bos>", "<sep>", "<eos>", "a b"},
		{"<pad>", "<unk>", "<bos>", "<sep>", "<eos>", "a", "a"},
		{"<unk>", "<pad>", "<bos>", "<sep>", "<eos>"},
		{"<pad>", "<unk>", "<bos>", "<sep>", "<eos>", ""},
		{"<pad>", "<unk>", "<bos>", "<sep>", "<eos>", "ab1"},
	} {
		_, err := VocabularyFromPieces(pieces)
		require.ErrorIs(t, err, ErrVocabulary, "%q", pieces)
	}
}

func FuzzEncodeDecode(f *testing.F) {
	v, err := NewVocabulary([]string{"Haemoglobin 108 g/L is low.", "Platelets 271 ×10⁹/L."}, 1)
	require.NoError(f, err)
	f.Add("Haemoglobin 95 g/L")
	f.Add("  spaced\tout\n")
	f.Add("\xff\xfe")
	f.Fuzz(func(t *testing.T, s string) {
		ids := v.Encode(s)
		for _, id := range ids {
			if id < 0 || id >= v.Size() || id == BosID || id == SepID || id == EosID || id == PadID {
				t.Fatalf("id %d out of range or special", id)
			}
		}
		out := v.Decode(ids)
		if !utf8.ValidString(out) {
			t.Fatalf("decoded text is not valid UTF-8: %q", out)
		}
		if !containsUnk(ids) && utf8.ValidString(s) && strings.Join(strings.Fields(s), " ") != out {
			t.Fatalf("round trip: %q → %q", s, out)
		}
	})
}
