package llm

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/pmlm-go/pmlm/llm/lm"
)

// ProviderLM is the provider name of the answers of a GenerativeResponder.
const ProviderLM = "pmlm-lm"

// GenerativeResponder answers prompts with a small language model trained
// from scratch (package lm): the offline generative responder, whose answer
// depends on the prompt's words as an LLM's does. It is safe for
// concurrent use.
type GenerativeResponder struct {
	model  *lm.Model
	opt    lm.GenerateOptions
	digest string
	// recent remembers the latest answers: decoding is deterministic, and
	// the RL loop asks the same prompt many times (every episode of a
	// patient starts from its coarse prompt, and greedy refinements
	// repeat).
	recent *lru.Cache[string, Response]
}

// generativeMemory is the number of answers a GenerativeResponder keeps
// in memory (about 1 KiB each).
const generativeMemory = 4096

// NewGenerative returns a GenerativeResponder that decodes with opt
// (greedy by default).
func NewGenerative(m *lm.Model, opt lm.GenerateOptions) (*GenerativeResponder, error) {
	if m == nil {
		return nil, fmt.Errorf("llm: generative responder: %w: nil model", lm.ErrModel)
	}
	if opt.MaxTokens < 0 || opt.Beam < 0 {
		return nil, fmt.Errorf("llm: generative responder: negative max tokens %d or beam %d", opt.MaxTokens, opt.Beam)
	}
	recent, err := lru.New[string, Response](generativeMemory)
	if err != nil {
		return nil, err
	}
	return &GenerativeResponder{model: m, opt: opt, digest: m.Digest(), recent: recent}, nil
}

// Respond writes the model's reply. A reply that reaches the token limit
// is returned with StopReason "length"; an empty reply is ErrEmpty. One of
// the latest few thousand prompts is answered from memory (Cached set):
// the model would write the same reply.
func (r *GenerativeResponder) Respond(ctx context.Context, prompt string) (Response, error) {
	start := time.Now()
	if resp, ok := r.recent.Get(prompt); ok {
		resp.Cached, resp.Latency = true, time.Since(start)
		return resp, nil
	}
	g, err := r.model.Generate(ctx, prompt, r.opt)
	if err != nil {
		return Response{}, err
	}
	resp := Response{
		Text: g.Text, Provider: ProviderLM, Model: r.modelName(),
		PromptTokens: g.PromptTokens, CompletionTokens: g.Tokens, TotalTokens: g.PromptTokens + g.Tokens,
		StopReason: "stop", Latency: time.Since(start),
	}
	if !g.Finished {
		resp.StopReason = "length"
	}
	if g.Text == "" {
		return resp, fmt.Errorf("llm: %s: %w", ProviderLM, ErrEmpty)
	}
	r.recent.Add(prompt, resp)
	return resp, nil
}

// modelName names the weights and the decoding: equal names give equal
// answers.
func (r *GenerativeResponder) modelName() string {
	name := "lm-" + r.digest[:16]
	if r.opt.Beam > 1 {
		name += fmt.Sprintf("-beam%d", r.opt.Beam)
	}
	return name
}

// Identity describes the responder for the response cache: the weights'
// digest and the decoding options.
func (r *GenerativeResponder) Identity() Identity {
	return Identity{Provider: ProviderLM, Model: r.modelName(), Params: Params{MaxTokens: r.opt.MaxTokens}}
}

// Model returns the responder's language model.
func (r *GenerativeResponder) Model() *lm.Model { return r.model }

// GenerativeKind is the saved form of a GenerativeResponder (its Kind):
// a PMLM model directory embeds the responder its policy was trained
// against in this form.
const GenerativeKind = "llm.lm/1"

// Kind names the saved form written by Save.
func (r *GenerativeResponder) Kind() string { return GenerativeKind }

// generativeHeader is the first line of the saved form: the decoding.
type generativeHeader struct {
	MaxTokens int `json:"max_tokens"`
	Beam      int `json:"beam"`
}

// Save writes the responder: one JSON line with the decoding options,
// then the model with how it was trained (lm.WriteModel). The weights can
// reproduce the replies the model was trained on: what Save writes is
// patient data when those were patients' replies.
func (r *GenerativeResponder) Save(w io.Writer) error {
	if err := json.NewEncoder(w).Encode(generativeHeader{MaxTokens: r.opt.MaxTokens, Beam: r.opt.Beam}); err != nil {
		return fmt.Errorf("llm: save the generative responder: %w", err)
	}
	return lm.WriteModel(w, r.model, r.model.Info())
}

// ReadGenerative reads a responder written by GenerativeResponder.Save.
func ReadGenerative(r io.Reader) (*GenerativeResponder, error) {
	br := bufio.NewReader(r)
	line, err := br.ReadSlice('\n')
	if err != nil {
		return nil, fmt.Errorf("llm: generative responder: decoding options: %w", err)
	}
	var h generativeHeader
	if err := json.Unmarshal(line, &h); err != nil {
		return nil, fmt.Errorf("llm: generative responder: decoding options: %w", err)
	}
	m, _, err := lm.ReadModel(br)
	if err != nil {
		return nil, fmt.Errorf("llm: generative responder: %w", err)
	}
	return NewGenerative(m, lm.GenerateOptions{MaxTokens: h.MaxTokens, Beam: h.Beam})
}
