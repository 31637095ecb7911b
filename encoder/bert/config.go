package bert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
)

// Config is the subset of a HuggingFace BERT config.json that the forward
// pass depends on. Missing fields take HuggingFace's BertConfig defaults.
type Config struct {
	ModelType             string  `json:"model_type"`
	HiddenSize            int     `json:"hidden_size"`
	NumHiddenLayers       int     `json:"num_hidden_layers"`
	NumAttentionHeads     int     `json:"num_attention_heads"`
	IntermediateSize      int     `json:"intermediate_size"`
	HiddenAct             string  `json:"hidden_act"`
	MaxPositionEmbeddings int     `json:"max_position_embeddings"`
	TypeVocabSize         int     `json:"type_vocab_size"`
	VocabSize             int     `json:"vocab_size"`
	LayerNormEps          float64 `json:"layer_norm_eps"`
	PositionEmbeddingType string  `json:"position_embedding_type"`
	// EmbeddingSize is ALBERT/ELECTRA-style factorised embeddings; BERT has
	// none (0 or equal to HiddenSize).
	EmbeddingSize int `json:"embedding_size"`
}

// maxDim bounds every size read from config.json so that a corrupt file
// fails with an error instead of an enormous allocation.
const maxDim = 1 << 22

// readConfig parses and validates config.json.
func readConfig(path string) (Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Config{}, wrapf(err, "")
	}
	cfg := Config{TypeVocabSize: 2, LayerNormEps: 1e-12, HiddenAct: "gelu", PositionEmbeddingType: "absolute"}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return Config{}, wrapf(jsonPosition(raw, err), "%s", path)
	}
	if err := cfg.validate(); err != nil {
		return Config{}, wrapf(err, "%s", path)
	}
	return cfg, nil
}

func (c Config) validate() error {
	if c.ModelType != "bert" {
		return fmt.Errorf("%w: model_type %q (only \"bert\" is supported)", ErrUnsupported, c.ModelType)
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"hidden_size", c.HiddenSize}, {"num_hidden_layers", c.NumHiddenLayers},
		{"num_attention_heads", c.NumAttentionHeads}, {"intermediate_size", c.IntermediateSize},
		{"max_position_embeddings", c.MaxPositionEmbeddings}, {"type_vocab_size", c.TypeVocabSize},
		{"vocab_size", c.VocabSize},
	} {
		if f.v <= 0 || f.v > maxDim {
			return fmt.Errorf("%w: %s = %d", ErrBadConfig, f.name, f.v)
		}
	}
	if c.HiddenSize%c.NumAttentionHeads != 0 {
		return fmt.Errorf("%w: hidden_size %d is not a multiple of num_attention_heads %d",
			ErrBadConfig, c.HiddenSize, c.NumAttentionHeads)
	}
	if c.EmbeddingSize != 0 && c.EmbeddingSize != c.HiddenSize {
		return fmt.Errorf("%w: embedding_size %d differs from hidden_size %d", ErrUnsupported, c.EmbeddingSize, c.HiddenSize)
	}
	if !(c.LayerNormEps > 0) || math.IsInf(c.LayerNormEps, 0) {
		return fmt.Errorf("%w: layer_norm_eps = %g", ErrBadConfig, c.LayerNormEps)
	}
	if c.PositionEmbeddingType != "absolute" {
		return fmt.Errorf("%w: position_embedding_type %q", ErrUnsupported, c.PositionEmbeddingType)
	}
	if _, err := activationFor(c.HiddenAct); err != nil {
		return err
	}
	return nil
}

// TokenizerConfig holds the tokenizer_config.json settings that change
// BertTokenizer's output. The zero value is not useful; Load fills it from
// the file with HuggingFace's defaults for absent keys.
type TokenizerConfig struct {
	// DoLowerCase lowercases the text (Python str.lower) before WordPiece.
	DoLowerCase bool
	// StripAccents: nil follows DoLowerCase, as in HuggingFace.
	StripAccents *bool
	// TokenizeChineseChars splits every CJK ideograph into its own word.
	TokenizeChineseChars bool
	// UnkToken, ClsToken, SepToken, PadToken, MaskToken name the special
	// tokens; they must be in the vocabulary (PadToken and MaskToken may be
	// absent).
	UnkToken, ClsToken, SepToken, PadToken, MaskToken string
	// ModelMaxLength, when positive and below max_position_embeddings,
	// lowers the truncation length.
	ModelMaxLength int
	// MaxInputCharsPerWord: longer words become UnkToken (HF: 100).
	MaxInputCharsPerWord int
}

// DefaultTokenizerConfig is BertTokenizer's default: lowercase, strip
// accents, split CJK characters.
func DefaultTokenizerConfig() TokenizerConfig {
	return TokenizerConfig{
		DoLowerCase: true, TokenizeChineseChars: true,
		UnkToken: "[UNK]", ClsToken: "[CLS]", SepToken: "[SEP]", PadToken: "[PAD]", MaskToken: "[MASK]",
		MaxInputCharsPerWord: 100,
	}
}

// readTokenizerConfig parses tokenizer_config.json. Special tokens may be
// plain strings or AddedToken objects ({"content": "[UNK]", ...}).
func readTokenizerConfig(path string) (TokenizerConfig, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return TokenizerConfig{}, wrapf(err, "")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return TokenizerConfig{}, wrapf(jsonPosition(raw, err), "%s", path)
	}
	tc := DefaultTokenizerConfig()
	fail := func(key string, err error) (TokenizerConfig, error) {
		return TokenizerConfig{}, wrapf(err, "%s: key %q", path, key)
	}
	if v, ok := fields["do_lower_case"]; ok {
		if err := json.Unmarshal(v, &tc.DoLowerCase); err != nil {
			return fail("do_lower_case", err)
		}
	}
	if v, ok := fields["tokenize_chinese_chars"]; ok {
		if err := json.Unmarshal(v, &tc.TokenizeChineseChars); err != nil {
			return fail("tokenize_chinese_chars", err)
		}
	}
	if v, ok := fields["strip_accents"]; ok && string(bytes.TrimSpace(v)) != "null" {
		var b bool
		if err := json.Unmarshal(v, &b); err != nil {
			return fail("strip_accents", err)
		}
		tc.StripAccents = &b
	}
	if v, ok := fields["do_basic_tokenize"]; ok {
		var b bool
		if err := json.Unmarshal(v, &b); err != nil {
			return fail("do_basic_tokenize", err)
		}
		if !b {
			return fail("do_basic_tokenize", fmt.Errorf("%w: false", ErrUnsupported))
		}
	}
	if v, ok := fields["model_max_length"]; ok {
		// HF writes 1e30-ish sentinels ("VERY_LARGE_INTEGER") here.
		var f float64
		if err := json.Unmarshal(v, &f); err != nil {
			return fail("model_max_length", err)
		}
		if f > 0 && f < maxDim {
			tc.ModelMaxLength = int(f)
		}
	}
	for key, dst := range map[string]*string{
		"unk_token": &tc.UnkToken, "cls_token": &tc.ClsToken, "sep_token": &tc.SepToken,
		"pad_token": &tc.PadToken, "mask_token": &tc.MaskToken,
	} {
		v, ok := fields[key]
		if !ok || string(bytes.TrimSpace(v)) == "null" {
			continue
		}
		s, err := specialTokenString(v)
		if err != nil {
			return fail(key, err)
		}
		*dst = s
	}
	return tc, nil
}

func specialTokenString(v json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		return s, nil
	}
	var obj struct {
		Content *string `json:"content"`
	}
	if err := json.Unmarshal(v, &obj); err != nil {
		return "", err
	}
	if obj.Content == nil {
		return "", errors.New("AddedToken without \"content\"")
	}
	return *obj.Content, nil
}

// readVocab reads vocab.txt as HuggingFace's load_vocab does: line i (after
// universal-newline splitting) is id i; a token listed twice maps to its
// last line.
func readVocab(path string) ([]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, wrapf(err, "")
	}
	text := strings.ReplaceAll(string(raw), "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	text = strings.TrimSuffix(text, "\n")
	if text == "" {
		return nil, fmt.Errorf("%w: %s: empty vocabulary", ErrBadVocab, path)
	}
	return strings.Split(text, "\n"), nil
}

// jsonPosition adds line and column to a JSON syntax error.
func jsonPosition(raw []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var off int64
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	default:
		return err
	}
	if off > int64(len(raw)) {
		off = int64(len(raw))
	}
	line := 1 + bytes.Count(raw[:off], []byte("\n"))
	col := off - int64(bytes.LastIndexByte(raw[:off], '\n'))
	return fmt.Errorf("line %d, column %d: %w", line, col, err)
}
