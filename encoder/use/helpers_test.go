package use

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// The embedded model, decoded once for all tests of the package.
var (
	defaultOnce  sync.Once
	defaultModel *Model
	defaultErr   error
)

func testModel(t testing.TB) *Model {
	t.Helper()
	defaultOnce.Do(func() { defaultModel, defaultErr = Default() })
	require.NoError(t, defaultErr)
	return defaultModel
}

// readGzipJSON decodes a gzip-compressed JSON test file.
func readGzipJSON(t testing.TB, name string, v any) {
	t.Helper()
	f, err := os.Open(name)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	require.NoError(t, json.NewDecoder(zr).Decode(v))
}

// tokenizerCases are the package's own tokenizer outputs
// (internal/usegen/reference).
type tokenizerCases struct {
	Cases []struct {
		Text string `json:"text"`
		IDs  []int  `json:"ids"`
	} `json:"cases"`
}

// modelCases are the TF.js graph's outputs on texts run alone.
type modelCases struct {
	Backend string `json:"backend"`
	TFJS    string `json:"tfjs"`
	Cases   []struct {
		Text   string      `json:"text"`
		IDs    []int       `json:"ids"`
		Vector []float32   `json:"vector"`
		Layer0 [][]float32 `json:"layer0"`
		Layer1 [][]float32 `json:"layer1"`
	} `json:"cases"`
}
