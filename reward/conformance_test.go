package reward

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// metricsDir holds the reference test vectors shared by the project.
const metricsDir = "../../shared/testdata/metrics"

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(metricsDir, name))
	if os.IsNotExist(err) {
		t.Skipf("reference vectors %s not present", name)
	}
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v))
}
