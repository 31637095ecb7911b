package llm

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ReadCases reads training cases in JSON Lines: one object
// {"id": ..., "prompt": ..., "reply": ...} per line; blank lines are
// skipped. Errors name the file (name), line and column. IDs must be
// unique and no field may be empty.
func ReadCases(r io.Reader, name string) ([]Case, error) {
	br := bufio.NewReader(r)
	var cases []Case
	firstLine := map[string]int{}
	for line := 1; ; line++ {
		text, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if trimmed := bytes.TrimSpace(text); len(trimmed) > 0 {
			c, perr := parseCaseLine(text)
			if perr != nil {
				return nil, fmt.Errorf("%s:%d:%s", name, line, perr)
			}
			if prev, dup := firstLine[c.ID]; dup {
				return nil, fmt.Errorf("%s:%d: the ID %q is already used on line %d", name, line, c.ID, prev)
			}
			firstLine[c.ID] = line
			cases = append(cases, c)
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	if len(cases) == 0 {
		return nil, fmt.Errorf("%s: %w: no case in the file", name, ErrNoCase)
	}
	return cases, nil
}

// parseCaseLine decodes one line; its error text starts with the column
// ("12: ...") or, when no column applies, a space. For JSON errors the
// column is the byte where the decoder stopped: at or just after the fault.
func parseCaseLine(line []byte) (Case, error) {
	var raw struct {
		ID     *string `json:"id"`
		Prompt *string `json:"prompt"`
		Reply  *string `json:"reply"`
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return Case{}, fmt.Errorf("%d: invalid JSON: %v", syn.Offset, syn)
		case errors.As(err, &typ) && typ.Field == "":
			return Case{}, fmt.Errorf("%d: want a JSON object, got JSON %s", typ.Offset, typ.Value)
		case errors.As(err, &typ):
			return Case{}, fmt.Errorf("%d: field %q: want a string, got JSON %s", typ.Offset, typ.Field, typ.Value)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return Case{}, fmt.Errorf("%d: invalid JSON: unexpected end of line", len(bytes.TrimRight(line, "\r\n"))+1)
		}
		return Case{}, fmt.Errorf(" %v", err)
	}
	after := line[dec.InputOffset():]
	if rest := bytes.TrimLeft(after, " \t\r\n"); len(rest) > 0 {
		col := int(dec.InputOffset()) + len(after) - len(rest) + 1
		return Case{}, fmt.Errorf("%d: unexpected text after the JSON object", col)
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"id", raw.ID}, {"prompt", raw.Prompt}, {"reply", raw.Reply}} {
		if f.v == nil {
			return Case{}, fmt.Errorf(" missing field %q", f.name)
		}
		if strings.TrimSpace(*f.v) == "" {
			return Case{}, fmt.Errorf(" empty field %q", f.name)
		}
	}
	return Case{ID: *raw.ID, Prompt: *raw.Prompt, Reply: *raw.Reply}, nil
}
