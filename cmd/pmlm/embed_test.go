package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/encoder/use"
)

func runEmbed(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"embed"}, args...), &env{stdout: &out, stderr: &errOut})
	return code, out.String(), errOut.String()
}

func TestEmbedJSON(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("Rest, eat a balanced diet and keep the wound clean. ", 20)
	f := writeFile(t, dir, "s.txt", "Final diagnosis: gestational diabetes.\r\nplatelet count 112 ×10⁹/L\n"+long+"\n")
	code, out, errOut := runEmbed(t, "--text", "use", "--json", f)
	require.Equal(t, 0, code, errOut)
	m, err := use.Default()
	require.NoError(t, err)
	want, err := m.Documents(context.Background(), []string{"Final diagnosis: gestational diabetes.", "platelet count 112 ×10⁹/L", long})
	require.NoError(t, err)
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	n := 0
	for ; sc.Scan(); n++ {
		var rec embedRecord
		require.NoError(t, json.Unmarshal(sc.Bytes(), &rec))
		assert.Equal(t, n+1, rec.Line)
		require.Len(t, rec.Vector, 512)
		assert.Equal(t, want[n].Vector, rec.Vector)
		require.Len(t, rec.IDs, len(want[n].Tokens))
		for i, tk := range want[n].Tokens {
			assert.Equal(t, tk.ID, rec.IDs[i])
			assert.Equal(t, tk.Piece, rec.Pieces[i])
		}
		assert.Equal(t, want[n].Windows, rec.Windows)
	}
	assert.Equal(t, 3, n)
	assert.Greater(t, want[2].Windows, 1, "a long line is read in windows")
}

func TestEmbedErrors(t *testing.T) {
	dir := t.TempDir()
	gap := writeFile(t, dir, "gap.txt", "one\n\ntwo\n")
	ok := writeFile(t, dir, "ok.txt", "one\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--text", "use", gap}, "gap.txt:2: empty line"},
		{[]string{"--text", "use", filepath.Join(dir, "missing.txt")}, "missing.txt"},
		{[]string{"--text", "glove", ok}, "only use has sentence vectors"},
		{[]string{"--text", "use", writeFile(t, dir, "empty.txt", "")}, "no lines"},
	} {
		code, _, errOut := runEmbed(t, tc.args...)
		assert.NotEqual(t, 0, code, "%v", tc.args)
		assert.Contains(t, errOut, tc.want, "%v", tc.args)
	}
}
