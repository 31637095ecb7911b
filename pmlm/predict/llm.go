package predict

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/tmc/langchaingo/llms"
)

// Channel names one channel of a series for a prompt, e.g. {"ALB", "g/L"}.
type Channel struct {
	Name string
	Unit string
}

// LLMClassifier predicts the label by asking an instruction-tuned language
// model (for example one fine-tuned on prompts of this form and served by
// Ollama, vLLM or any OpenAI-compatible server) with the paper's predictor
// prompt (figure 3): the patient's visits with their lab values, the
// question and the numbered options.
//
// PRIVACY: the prompt carries the patient's raw laboratory values (no
// identifiers). Use LLMClassifier only with a model the hospital hosts
// itself, never with a third-party service.
//
// The model is trained elsewhere: Fit only checks that the classifier's
// classes and channels match the data. Predict parses the label from the
// free-text answer with ParseLabel; an answer that names no option, or
// several, gives Label -1 and no error (scored as a wrong prediction), and
// the raw answer is available from PredictDated. For a recognized label,
// Probs is one-hot: the model gives no probabilities.
type LLMClassifier struct {
	// Model answers the prompt.
	Model llms.Model
	// Channels describes the columns of a series, in order.
	Channels []Channel
	// Classes are the options, in label-index order.
	Classes []string
	// Subject describes the patient in the prompt; empty means
	// "a pregnant patient".
	Subject string
	// CallOptions are passed to Model.GenerateContent; nil means
	// temperature 0 and at most 64 tokens.
	CallOptions []llms.CallOption
}

// ErrUnknownLabel is returned by ParseLabel when an answer names no option
// or several.
var ErrUnknownLabel = errors.New("predict: the answer names no single label")

// Name returns "llm".
func (c *LLMClassifier) Name() string { return "llm" }

// Fit checks that numClasses and the channel count of the series match the
// classifier's Classes and Channels; it does not train the model.
func (c *LLMClassifier) Fit(ctx context.Context, series [][][]float64, labels []int, numClasses int) error {
	if err := checkLabels(series, labels, numClasses); err != nil {
		return fmt.Errorf("predict: llm: %w", err)
	}
	if numClasses != len(c.Classes) {
		return fmt.Errorf("predict: llm: %d classes, but %d options configured", numClasses, len(c.Classes))
	}
	nc, err := numChannels(series)
	if err != nil {
		return fmt.Errorf("predict: llm: %w", err)
	}
	if nc != len(c.Channels) {
		return fmt.Errorf("predict: llm: series have %d channels, but %d are described", nc, len(c.Channels))
	}
	return nil
}

// Predict implements Predictor; the visits are numbered without dates.
func (c *LLMClassifier) Predict(ctx context.Context, s [][]float64) (Prediction, error) {
	p, _, err := c.PredictDated(ctx, s, nil)
	return p, err
}

// PredictDated asks the model about the series whose visits took place on
// the given dates (nil, or one label such as "2021-03-14" per timestep),
// and returns the prediction and the model's raw answer.
func (c *LLMClassifier) PredictDated(ctx context.Context, s [][]float64, dates []string) (Prediction, string, error) {
	if c.Model == nil {
		return Prediction{}, "", errors.New("predict: llm: no model")
	}
	prompt, err := c.Prompt(s, dates)
	if err != nil {
		return Prediction{}, "", err
	}
	opts := c.CallOptions
	if opts == nil {
		opts = []llms.CallOption{llms.WithTemperature(0), llms.WithMaxTokens(64)}
	}
	resp, err := c.Model.GenerateContent(ctx, []llms.MessageContent{
		llms.TextParts(llms.ChatMessageTypeHuman, prompt),
	}, opts...)
	if err != nil {
		return Prediction{}, "", fmt.Errorf("predict: llm: %w", err)
	}
	if resp == nil || len(resp.Choices) == 0 {
		return Prediction{}, "", errors.New("predict: llm: the model returned no choices")
	}
	answer := resp.Choices[0].Content
	label, err := ParseLabel(answer, c.Classes)
	if errors.Is(err, ErrUnknownLabel) {
		return Prediction{Label: -1}, answer, nil
	}
	if err != nil {
		return Prediction{}, answer, err
	}
	probs := make([]float64, len(c.Classes))
	probs[label] = 1
	return Prediction{Label: label, Probs: probs}, answer, nil
}

// Prompt returns the predictor prompt for a series (paper figure 3).
// Missing values are left out of a visit's line; a visit with no value is
// listed as "no measurements".
func (c *LLMClassifier) Prompt(s [][]float64, dates []string) (string, error) {
	if len(s) == 0 {
		return "", errors.New("predict: llm: series has no visits")
	}
	if dates != nil && len(dates) != len(s) {
		return "", fmt.Errorf("predict: llm: %d dates for %d visits", len(dates), len(s))
	}
	if len(c.Classes) < 2 {
		return "", errors.New("predict: llm: fewer than 2 options")
	}
	subject := c.Subject
	if subject == "" {
		subject = "a pregnant patient"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Here is the health check data of %s, one visit per line:\n", subject)
	for t, row := range s {
		if len(row) != len(c.Channels) {
			return "", fmt.Errorf("predict: llm: visit %d: %d values, want %d", t+1, len(row), len(c.Channels))
		}
		fmt.Fprintf(&b, "Visit %d", t+1)
		if dates != nil {
			fmt.Fprintf(&b, " (%s)", dates[t])
		}
		b.WriteString(": ")
		n := 0
		for i, v := range row {
			if math.IsNaN(v) {
				continue
			}
			if math.IsInf(v, 0) {
				return "", fmt.Errorf("predict: llm: visit %d, channel %s: infinite value", t+1, c.Channels[i].Name)
			}
			if n > 0 {
				b.WriteString(", ")
			}
			b.WriteString(c.Channels[i].Name + " " + strconv.FormatFloat(v, 'f', -1, 64))
			if u := c.Channels[i].Unit; u != "" {
				b.WriteString(" " + u)
			}
			n++
		}
		if n == 0 {
			b.WriteString("no measurements")
		}
		b.WriteString("\n")
	}
	b.WriteString("Which label best describes the patient's condition? Options: ")
	for i, cl := range c.Classes {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%d. %s", i+1, cl)
	}
	b.WriteString(".\nAnswer with exactly one option.")
	return b.String(), nil
}

var (
	answerPrefix = regexp.MustCompile(`(?i)^\s*(?:the\s+)?(?:answer|label|prediction|diagnosis|option)\s*(?:is)?\s*[:=-]?\s*`)
	optionNumber = regexp.MustCompile(`(?i)^(?:option\s*|no\.?\s*|#)?\(?(\d+)\)?[.):]?$`)
	optionInText = regexp.MustCompile(`(?i)\boption\s*\(?(\d+)\)?`)
)

// ParseLabel finds the option an answer names, trying in turn:
//
//  1. the whole answer (without a leading "Answer:"/"Label:" and
//     surrounding quotes, punctuation and space) equals an option,
//     case-insensitively;
//  2. the whole answer is an option number ("3", "3.", "(3)", "Option 3");
//  3. "option N" occurs in the text, with a single N;
//  4. options occur in the text as whole words, case-insensitively; an
//     option found only inside a longer found option ("fetal distress" in
//     "acute fetal distress") does not count, and exactly one must remain.
//
// Otherwise it returns ErrUnknownLabel. Negations ("not gestational
// diabetes") are not understood: prompt the model to answer with the option
// alone.
func ParseLabel(answer string, classes []string) (int, error) {
	norm := func(s string) string {
		return strings.ToLower(strings.Join(strings.Fields(s), " "))
	}
	a := strings.TrimSpace(answer)
	a = answerPrefix.ReplaceAllString(a, "")
	a = strings.Trim(a, " \t\r\n\"'`*.:;!")
	na := norm(a)
	for i, c := range classes {
		if na == norm(c) {
			return i, nil
		}
	}
	if m := optionNumber.FindStringSubmatch(na); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil && n >= 1 && n <= len(classes) {
			return n - 1, nil
		}
		return -1, fmt.Errorf("%w: option %s outside 1..%d", ErrUnknownLabel, m[1], len(classes))
	}
	text := norm(answer)
	if ms := optionInText.FindAllStringSubmatch(text, -1); len(ms) > 0 {
		found := -1
		for _, m := range ms {
			n, err := strconv.Atoi(m[1])
			if err != nil || n < 1 || n > len(classes) || (found >= 0 && found != n-1) {
				found = -2
				break
			}
			found = n - 1
		}
		if found >= 0 {
			return found, nil
		}
	}
	type span struct{ class, start, end int }
	var spans []span
	for i, c := range classes {
		nc := norm(c)
		if nc == "" {
			continue
		}
		for off := 0; ; {
			j := strings.Index(text[off:], nc)
			if j < 0 {
				break
			}
			start, end := off+j, off+j+len(nc)
			if isBoundary(text, start-1) && isBoundary(text, end) {
				spans = append(spans, span{i, start, end})
			}
			off = start + 1
		}
	}
	found := -1
	for _, s := range spans {
		inside := false
		for _, o := range spans {
			if o.class != s.class && o.start <= s.start && s.end <= o.end && o.end-o.start > s.end-s.start {
				inside = true
				break
			}
		}
		if inside {
			continue
		}
		if found >= 0 && found != s.class {
			return -1, fmt.Errorf("%w: several options named", ErrUnknownLabel)
		}
		found = s.class
	}
	if found < 0 {
		return -1, ErrUnknownLabel
	}
	return found, nil
}

// isBoundary reports whether position i of s is outside s or not a letter
// or digit (so that "normal" does not match inside "abnormal").
func isBoundary(s string, i int) bool {
	if i < 0 || i >= len(s) {
		return true
	}
	ch := s[i]
	return !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch >= 0x80)
}
