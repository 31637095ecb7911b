// Package prompt builds the coarse personalized prompt of the PMLM paper
// (section 4.2, figure 4): a background that explains the data and the
// task, the patient's predicted label (self-informed personalization) and
// the true labels of the most similar past patients (peer-informed
// personalization). The prompt policy then refines it by deleting words.
//
// Privacy by construction: a template only sees Data, which holds label
// strings and counts and has no field that could carry a patient
// identifier or a laboratory value.
package prompt

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"
	"text/template"

	"github.com/pmlm-go/pmlm/encoder"
	"github.com/pmlm-go/pmlm/similarity"
)

// Words splits a prompt into the words the prompt policy scores and
// deletes: the whitespace-separated fields, the same split as
// encoder.Words, so that word j of the policy is word j of the text
// encoder. Join(Words(p)) == p for every prompt that Render returns.
func Words(p string) []string { return encoder.Words(p) }

// Join puts words back together with single spaces, the inverse of Words
// on rendered prompts.
func Join(words []string) string { return strings.Join(words, " ") }

// LabelCount is one label among the similar patients.
type LabelCount struct {
	// Label is a discharge diagnosis.
	Label string
	// Count is how many of the similar patients have it.
	Count int
	// MeanSimilarity is the mean cosine similarity of those patients to
	// the target patient, in [-1, 1]. The default template does not show
	// it.
	MeanSimilarity float64
}

// Data is everything a template can show. It deliberately has no field
// for identifiers or laboratory values.
type Data struct {
	// PredictedLabel is the predictor's label for the target patient.
	PredictedLabel string
	// K is the number of similar patients consulted.
	K int
	// Similar lists the similar patients' labels, most frequent first
	// (ties: the label of the more similar patient first).
	Similar []LabelCount
}

// FromNeighbors summarizes the recommender's answer for the template:
// the neighbours' labels with counts and mean similarities. Neighbour
// indices are not kept.
func FromNeighbors(predicted string, neighbors []similarity.Neighbor) Data {
	d := Data{PredictedLabel: predicted, K: len(neighbors)}
	pos := map[string]int{}
	for _, n := range neighbors {
		i, ok := pos[n.Label]
		if !ok {
			i = len(d.Similar)
			pos[n.Label] = i
			d.Similar = append(d.Similar, LabelCount{Label: n.Label})
		}
		c := &d.Similar[i]
		c.MeanSimilarity += (float64(n.Similarity) - c.MeanSimilarity) / float64(c.Count+1)
		c.Count++
	}
	// Neighbours arrive most similar first, so first-appearance order
	// breaks count ties by similarity.
	sort.SliceStable(d.Similar, func(i, j int) bool { return d.Similar[i].Count > d.Similar[j].Count })
	return d
}

// ErrData marks Data that cannot be rendered: an empty label, or counts
// that do not add up to K.
var ErrData = errors.New("prompt: invalid data")

func (d Data) validate() error {
	if strings.TrimSpace(d.PredictedLabel) == "" {
		return fmt.Errorf("%w: empty predicted label", ErrData)
	}
	total := 0
	for i, c := range d.Similar {
		if strings.TrimSpace(c.Label) == "" || c.Count <= 0 {
			return fmt.Errorf("%w: similar label %d: %q with count %d", ErrData, i, c.Label, c.Count)
		}
		total += c.Count
	}
	if total != d.K {
		return fmt.Errorf("%w: label counts add up to %d, K is %d", ErrData, total, d.K)
	}
	return nil
}

// DefaultText is the default template: clear English, 60 to 120 words
// for k = 10 over the obstetric labels, short enough that the policy's n
// deletions matter and long enough that they leave the meaning.
const DefaultText = `Background: the data are the laboratory examinations of a pregnant patient
over the course of her pregnancy.
Task: write the discharge advice her doctor would give her after delivery.
Patient: her predicted discharge diagnosis is {{.PredictedLabel}}.
Similar patients:
{{- if .Similar}} among the {{.K}} most similar past patients, the discharge diagnosis was
{{- range $i, $c := .Similar}}{{sep $i (len $.Similar)}} {{$c.Label}} for {{$c.Count}}{{end}}.
{{- else}} no similar past patients are available.{{end}}
Please give clear, specific and personalized discharge advice for this patient.`

// Template renders Data into a prompt. It is immutable and safe for
// concurrent use.
type Template struct {
	t *template.Template
}

// funcs are the helpers a template may call:
//
//	plural n one many — one when n == 1, else many
//	sep i n           — the separator before item i of an English list of n
//	                    items: "", ",", or " and"/", and" before the last
var funcs = template.FuncMap{
	"plural": func(n int, one, many string) string {
		if n == 1 {
			return one
		}
		return many
	},
	"sep": func(i, n int) string {
		switch {
		case i == 0:
			return ""
		case i < n-1:
			return ","
		case n == 2:
			return " and"
		default:
			return ", and"
		}
	},
}

// NewTemplate parses a text/template over Data (see DefaultText and the
// functions plural and sep). It fails on a syntax error and on a template
// that cannot render an example Data, such as one naming a field Data does
// not have.
func NewTemplate(text string) (*Template, error) {
	t, err := template.New("prompt").Funcs(funcs).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("prompt: template: %w", err)
	}
	tp := &Template{t: t}
	sample := Data{PredictedLabel: "normal", K: 3, Similar: []LabelCount{{"normal", 2, 0.9}, {"thalassemia", 1, 0.8}}}
	if _, err := tp.Render(sample); err != nil {
		return nil, err
	}
	if _, err := tp.Render(Data{PredictedLabel: "normal"}); err != nil {
		return nil, err
	}
	return tp, nil
}

// Default returns the template of DefaultText.
func Default() *Template {
	t, err := NewTemplate(DefaultText)
	if err != nil {
		panic("prompt: DefaultText does not parse: " + err.Error()) // a bug in this package
	}
	return t
}

// Render returns the prompt for d, with every run of white space (line
// breaks included) collapsed to one space, so that Join(Words(p)) == p.
func (t *Template) Render(d Data) (string, error) {
	if err := d.validate(); err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := t.t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("prompt: render: %w", err)
	}
	return Join(Words(b.String())), nil
}
