package api_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/pmlm/api"
)

// jsonFields returns the JSON member names of a struct type, embedded
// structs flattened, and those without omitempty.
func jsonFields(t reflect.Type) (all, required []string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if f.Anonymous && tag == "" {
			a, r := jsonFields(f.Type)
			all, required = append(all, a...), append(required, r...)
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		all = append(all, name)
		if !strings.Contains(opts, "omitempty") {
			required = append(required, name)
		}
	}
	return all, required
}

// TestSchemasMatchTheGoTypes checks every schema of the OpenAPI document
// against the Go type of the same name: the same members, and the members
// Go always writes are the required ones.
func TestSchemasMatchTheGoTypes(t *testing.T) {
	var doc struct {
		OpenAPI    string `json:"openapi"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]any `json:"properties"`
				Required   []string       `json:"required"`
			} `json:"schemas"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(api.OpenAPI(), &doc))
	assert.Equal(t, "3.1.0", doc.OpenAPI)
	types := map[string]any{
		"Visit": api.Visit{}, "PatientRequest": api.PatientRequest{}, "LabelCount": api.LabelCount{},
		"Deletion": api.Deletion{}, "Skipped": api.Skipped{}, "PromptResponse": api.PromptResponse{},
		"Answer": api.Answer{}, "RespondResponse": api.RespondResponse{}, "ScoreRequest": api.ScoreRequest{},
		"Scores": api.Scores{}, "ScoreResponse": api.ScoreResponse{}, "Metric": api.Metric{},
		"Responder": api.Responder{}, "ModelResponse": api.ModelResponse{}, "Health": api.Health{},
		"Problem": api.Problem{}, "FieldError": api.FieldError{}, "Bayes": api.Bayes{},
	}
	assert.Len(t, doc.Components.Schemas, len(types), "a schema without a Go type or the reverse")
	for name, v := range types {
		s, ok := doc.Components.Schemas[name]
		require.True(t, ok, "no schema %s", name)
		all, required := jsonFields(reflect.TypeOf(v))
		props := make([]string, 0, len(s.Properties))
		for p := range s.Properties {
			props = append(props, p)
		}
		assert.ElementsMatch(t, all, props, name)
		assert.ElementsMatch(t, required, s.Required, name)
	}
}
