package llm

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadCases(t *testing.T) {
	in := `{"id":"p1","prompt":"predicted label anemia","reply":"Oral iron."}

{"id":"p2","prompt":"predicted label normal","reply":"Routine check."}
`
	cases, err := ReadCases(strings.NewReader(in), "cases.jsonl")
	require.NoError(t, err)
	assert.Equal(t, []Case{
		{ID: "p1", Prompt: "predicted label anemia", Reply: "Oral iron."},
		{ID: "p2", Prompt: "predicted label normal", Reply: "Routine check."},
	}, cases)

	// No final newline, CRLF line ends.
	cases, err = ReadCases(strings.NewReader("{\"id\":\"a\",\"prompt\":\"x\",\"reply\":\"y\"}\r\n{\"id\":\"b\",\"prompt\":\"x\",\"reply\":\"z\"}"), "f")
	require.NoError(t, err)
	assert.Len(t, cases, 2)
}

func TestReadCasesErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "f: llm: no training case to answer from: no case in the file"},
		{`{"id":"a","prompt":"x","reply":"y"}` + "\n" + `{"id":"a","prompt":"x","reply":"z"}`, `f:2: the ID "a" is already used on line 1`},
		{`{"id":"a","prompt":"x"}`, `f:1: missing field "reply"`},
		{`{"id":"a","prompt":"x","reply":"  "}`, `f:1: empty field "reply"`},
		{`{"id":"a","prompt":"x","reply":"y","extra":1}`, `f:1: json: unknown field "extra"`},
		{`{"id":"a","prompt":"x","reply":7}`, `f:1:32: field "reply": want a string, got JSON number`},
		{`{"id":"a" "prompt":"x"}`, `f:1:11: invalid JSON`},
		{`{"id":"a","prompt":"x","reply":"y"`, `f:1:35: invalid JSON: unexpected end of line`},
		{`{"id":"a","prompt":"x","reply":"y"} trailing`, `f:1:37: unexpected text after the JSON object`},
		{`[1,2]`, `f:1:1: want a JSON object, got JSON array`},
	} {
		_, err := ReadCases(strings.NewReader(tc.in), "f")
		require.Error(t, err, tc.in)
		assert.Contains(t, err.Error(), tc.want, tc.in)
	}
}

func FuzzReadCases(f *testing.F) {
	f.Add(`{"id":"p1","prompt":"a b","reply":"c"}` + "\n")
	f.Add(`{"id":"a","prompt":"x","reply":"y"}` + "\n" + `{"id":"a","prompt":"x","reply":"z"}`)
	f.Add(`{"id":"a" "prompt":"x"}`)
	f.Add("\n\n[1]\n")
	f.Add(`{"id":null}`)
	f.Fuzz(func(t *testing.T, in string) {
		cases, err := ReadCases(strings.NewReader(in), "fuzz")
		if err != nil {
			assert.True(t, strings.HasPrefix(err.Error(), "fuzz:"), err.Error())
			return
		}
		require.NotEmpty(t, cases)
		ids := map[string]bool{}
		for _, c := range cases {
			require.False(t, ids[c.ID])
			ids[c.ID] = true
			require.NotEmpty(t, strings.TrimSpace(c.Reply))
		}
	})
}
