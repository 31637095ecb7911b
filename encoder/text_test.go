package encoder

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestWordVectorsPoolsPieces(t *testing.T) {
	e := &Encoded{
		Tokens:   []string{"[CLS]", "play", "##ing", "ball", "[SEP]"},
		Vectors:  [][]float32{{9, 9}, {1, 2}, {3, 4}, {5, 6}, {9, 9}},
		WordOf:   []int{-1, 0, 0, 1, -1},
		NumWords: 3, // the third word was truncated away
	}
	assert.Equal(t, [][]float32{{2, 3}, {5, 6}, {0, 0}}, e.WordVectors())
	assert.Equal(t, []string{"a", "b"}, Words(" a\tb \n"))
}
