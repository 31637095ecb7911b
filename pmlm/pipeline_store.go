package pmlm

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/pmlm-go/pmlm/encoder"
	"github.com/pmlm-go/pmlm/encoder/mlp"
	"github.com/pmlm-go/pmlm/encoder/wordvec"
	"github.com/pmlm-go/pmlm/llm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/predict"
	"github.com/pmlm-go/pmlm/pmlm/prompt"
	"github.com/pmlm-go/pmlm/policy"
	"github.com/pmlm-go/pmlm/reward"
	"github.com/pmlm-go/pmlm/similarity"
)

// ModelFormat and ModelVersion identify the model directories that Save
// writes. Load refuses other formats and versions.
const (
	ModelFormat  = "pmlm-model"
	ModelVersion = 1
)

// ErrModel marks a model directory that Load cannot use: another format or
// version, a missing or corrupted file.
var ErrModel = errors.New("pmlm: unusable model directory")

// The files of a model directory besides manifest.json.
const (
	filePredictor = "predictor.gob"
	fileRetrieval = "encoder-retrieval.gob"
	filePatient   = "encoder-policy.gob"
	filePolicy    = "policy.gob"
	fileIndex     = "index.gob"
	fileCases     = "cases.jsonl"
)

// manifest is manifest.json: what the directory holds and the SHA-256 of
// every file, so that a corrupted or altered file is detected on load.
type manifest struct {
	Format         string            `json:"format"`
	Version        int               `json:"version"`
	Created        time.Time         `json:"created"`
	TextEncoder    string            `json:"text_encoder"`
	Predictor      string            `json:"predictor"`
	K              int               `json:"k"`
	Steps          int               `json:"steps"`
	PromptTemplate string            `json:"prompt_template"`
	Metrics        []cohort.Metric   `json:"metrics"`
	Labels         []string          `json:"labels"`
	Files          map[string]string `json:"files"` // name → hex SHA-256
}

// indexFile is the recommender's reference set: the training patients'
// retrieval encodings and true labels.
type indexFile struct {
	Vectors [][]float32
	Labels  []string
}

// Save writes every learned part of the pipeline into dir, a versioned
// model directory with a manifest and checksums. The directory is assembled
// beside dir and renamed into place, so dir is either the old model or the
// complete new one. It holds the training patients' coarse prompts and
// doctor replies (the case responder's knowledge): treat it as patient data.
func (p *Pipeline) Save(dir string) error {
	if p.noSelf || p.noPeer {
		return fmt.Errorf("pmlm: save: an ablated pipeline (without self- or peer-informed personalization) cannot be saved")
	}
	mr, ok := p.predictor.(*predict.MiniRocketClassifier)
	if !ok {
		return fmt.Errorf("pmlm: save: predictor %s cannot be saved (only minirocket)", p.predictor.Name())
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	m := manifest{
		Format: ModelFormat, Version: ModelVersion, Created: time.Now().UTC(),
		TextEncoder: p.text.Name(), Predictor: p.predictor.Name(), K: p.k, Steps: p.steps,
		PromptTemplate: p.templateText, Metrics: p.metrics, Labels: p.labels,
		Files: map[string]string{},
	}
	writers := []struct {
		name  string
		write func(io.Writer) error
	}{
		{filePredictor, mr.Save},
		{fileRetrieval, p.retrieval.Save},
		{filePatient, p.patient.Save},
		{filePolicy, p.policy.Save},
		{fileIndex, func(w io.Writer) error {
			return gob.NewEncoder(w).Encode(indexFile{Vectors: p.refVectors, Labels: p.refLabels})
		}},
		{fileCases, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			for _, c := range p.cases {
				if err := enc.Encode(c); err != nil {
					return err
				}
			}
			return nil
		}},
	}
	for _, f := range writers {
		sum, err := writeFileSync(filepath.Join(tmp, f.name), f.write)
		if err != nil {
			return fmt.Errorf("pmlm: save %s: %w", f.name, err)
		}
		m.Files[f.name] = sum
	}
	if _, err := writeFileSync(filepath.Join(tmp, "manifest.json"), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	}); err != nil {
		return err
	}
	// Swap the finished directory into place.
	old := ""
	if _, err := os.Stat(dir); err == nil {
		old = tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			_ = os.Rename(old, dir)
		}
		return err
	}
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}

// writeFileSync writes a file through write, syncs it, and returns the hex
// SHA-256 of its contents.
func writeFileSync(path string, write func(io.Writer) error) (string, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	bw := bufio.NewWriter(io.MultiWriter(f, h))
	if err := write(bw); err != nil {
		f.Close()
		return "", err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), f.Close()
}

// LoadOptions supplies the parts of a pipeline that a model directory does
// not hold.
type LoadOptions struct {
	// Text must be given when the model was trained with an embedder other
	// than the embedded word vectors; its Name must match the manifest's.
	Text encoder.TextEncoder
	// Responder replaces the default case responder built from the saved
	// training cases.
	Responder llm.Responder
}

// Load reads a model directory written by Save. It fails with an error
// wrapping ErrModel for another format or version, a missing file, or a file
// whose checksum does not match the manifest.
func Load(ctx context.Context, dir string, opts LoadOptions) (*Pipeline, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrModel, err)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%w: manifest.json: %v", ErrModel, err)
	}
	if m.Format != ModelFormat {
		return nil, fmt.Errorf("%w: %s: format %q, want %q", ErrModel, dir, m.Format, ModelFormat)
	}
	if m.Version != ModelVersion {
		return nil, fmt.Errorf("%w: %s: format version %d, this library reads version %d", ErrModel, dir, m.Version, ModelVersion)
	}
	files := map[string][]byte{}
	for _, name := range []string{filePredictor, fileRetrieval, filePatient, filePolicy, fileIndex, fileCases} {
		want, ok := m.Files[name]
		if !ok {
			return nil, fmt.Errorf("%w: manifest lists no %s", ErrModel, name)
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrModel, err)
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != want {
			return nil, fmt.Errorf("%w: %s is corrupted: SHA-256 %s, manifest says %s", ErrModel, name, got, want)
		}
		files[name] = b
	}
	p := &Pipeline{metrics: m.Metrics, labels: m.Labels, k: m.K, steps: m.Steps, templateText: m.PromptTemplate}
	if p.template, err = prompt.NewTemplate(m.PromptTemplate); err != nil {
		return nil, fmt.Errorf("%w: prompt template: %v", ErrModel, err)
	}
	switch {
	case opts.Text != nil:
		if opts.Text.Name() != m.TextEncoder {
			return nil, fmt.Errorf("pmlm: load: the model was trained with text encoder %q, got %q", m.TextEncoder, opts.Text.Name())
		}
		p.text = opts.Text
	case m.TextEncoder == wordvec.DefaultName:
		if p.text, err = wordvec.Default(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("pmlm: load: the model needs text encoder %q: pass it in LoadOptions.Text", m.TextEncoder)
	}
	if p.predictor, err = predict.LoadMiniRocket(bytes.NewReader(files[filePredictor])); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrModel, filePredictor, err)
	}
	if p.retrieval, err = mlp.Load(bytes.NewReader(files[fileRetrieval])); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrModel, fileRetrieval, err)
	}
	if p.patient, err = mlp.Load(bytes.NewReader(files[filePatient])); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrModel, filePatient, err)
	}
	if p.policy, err = policy.Load(bytes.NewReader(files[filePolicy])); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrModel, filePolicy, err)
	}
	var idx indexFile
	if err := gob.NewDecoder(bytes.NewReader(files[fileIndex])).Decode(&idx); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrModel, fileIndex, err)
	}
	p.refVectors, p.refLabels = idx.Vectors, idx.Labels
	if p.index, err = similarity.NewExact(idx.Vectors, idx.Labels); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrModel, fileIndex, err)
	}
	if p.cases, err = llm.ReadCases(bytes.NewReader(files[fileCases]), fileCases); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrModel, err)
	}
	if len(p.cases) != p.index.Len() {
		return nil, fmt.Errorf("%w: %d training cases but %d indexed patients", ErrModel, len(p.cases), p.index.Len())
	}
	if err := p.setResponder(ctx, opts.Responder); err != nil {
		return nil, err
	}
	p.scorer = reward.NewBERTScorer(p.text, reward.BERTScoreOptions{})
	return p, nil
}
