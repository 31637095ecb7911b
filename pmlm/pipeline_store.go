package pmlm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/pmlm-go/pmlm/encoder"
	"github.com/pmlm-go/pmlm/encoder/mlp"
	"github.com/pmlm-go/pmlm/internal/atomicfile"
	"github.com/pmlm-go/pmlm/llm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/prompt"
	"github.com/pmlm-go/pmlm/reward"
	"github.com/pmlm-go/pmlm/similarity"
)

// ModelFormat and ModelVersion identify the model directories that Save
// writes. Load refuses other formats and versions.
const (
	ModelFormat  = "pmlm-model"
	ModelVersion = 2
)

// ManifestFile is the name of the manifest in a model directory.
const ManifestFile = "manifest.json"

// The roles of the parts of a model directory (keys of Manifest.Parts).
const (
	PartPredictor     = "predictor"
	PartEncoder       = "encoder"
	PartPolicyEncoder = "policy_encoder"
	PartRecommender   = "recommender"
	PartPolicy        = "policy"
	// PartResponder is the responder the policy was trained against, when
	// it can be saved (the generative LM: llm.GenerativeKind); Load
	// answers with it unless LoadOptions.Responder replaces it.
	PartResponder = "responder"
)

// fileCases holds the training patients' coarse prompts and doctor replies,
// the knowledge of the default case responder.
const fileCases = "cases.jsonl"

// fileTrainKeys holds the training patients' keys (a sorted JSON array)
// of a model whose responder is not the case responder, which stores no
// replies.
const fileTrainKeys = "train_keys.json"

// Manifest is manifest.json, the description of a model directory: which
// part of which kind lies in which file with which SHA-256, the data the
// model was trained on, the responder that trained the policy, and a
// checksum over the manifest's own canonical content.
type Manifest struct {
	// Format is ModelFormat and Version the schema version (ModelVersion).
	Format  string `json:"format"`
	Version int    `json:"version"`
	// Created is not written any more (nil): a model directory holds no
	// timestamp, so that two trainings with the same seed and settings
	// give identical bytes. Manifests written before keep theirs, which
	// their checksum covers.
	Created *time.Time `json:"created,omitempty"`
	// Parts maps a role (PartPredictor, ...) to the saved part. Each part's
	// file carries its own format version, checked by its loader.
	Parts map[string]Part `json:"parts"`
	// Files maps the other files of the directory to their hex SHA-256.
	Files map[string]string `json:"files"`
	// TextEncoder names the embedder of the policy and of BERTScore.
	TextEncoder string `json:"text_encoder"`
	// Responder is the identity of the responder the policy was trained
	// against (no secrets: provider and model only).
	Responder ResponderInfo `json:"responder"`
	// Data describes what the model was trained on.
	Data DataInfo `json:"data"`
	// K, Steps and PromptTemplate configure the prompts.
	K              int    `json:"k"`
	Steps          int    `json:"steps"`
	PromptTemplate string `json:"prompt_template"`
	// Actions is the policy's action set (TrainOptions.Actions); empty in
	// the manifests of older versions, which refine by deletion only.
	Actions string `json:"actions,omitempty"`
	// Index describes the external index the recommender queries (nil
	// when the recommender is saved in the directory).
	Index *IndexInfo `json:"index,omitempty"`
	// PatientKeys says how the patients' IDs become the opaque keys the
	// directory's files hold instead (nil in older manifests, whose files
	// hold the IDs).
	PatientKeys *PatientKeys `json:"patient_keys,omitempty"`
	// Checksum is the hex SHA-256 of the manifest's canonical content: its
	// JSON encoding (encoding/json, fields in declaration order, map keys
	// sorted) with Checksum empty.
	Checksum string `json:"checksum"`
}

// Part is one saved part of a model directory.
type Part struct {
	// Kind is the part's Saver.Kind, the key of its loader.
	Kind string `json:"kind"`
	// File is the part's file in the directory, SHA256 its hex SHA-256.
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
}

// ResponderInfo identifies a responder without secrets.
type ResponderInfo struct {
	// Provider and Model are the llm.Identity's (the responder's Go type
	// as the provider when it has no identity).
	Provider string `json:"provider"`
	Model    string `json:"model"`
}

// DataInfo describes the data a model was trained on: the metric catalogue
// and label set (a cohort to answer must use the same), the split, the
// cohort's digest and the ablation flags.
type DataInfo struct {
	// Metrics is the metric catalogue and Labels the label set.
	Metrics []cohort.Metric `json:"metrics"`
	Labels  []string        `json:"labels"`
	// Split is the time-based split and Digest the cohort's digest
	// (cohort.Cohort.Digest).
	Split  cohort.SplitBoundaries `json:"split"`
	Digest string                 `json:"digest"`
	// TrainingDigest is the digest of the training patients' keys, labels
	// and replies: Pipeline.TrainingPatients refuses data whose training
	// patients differ from it. Empty in manifests written before it was
	// recorded: their training patients are matched by key only.
	TrainingDigest string `json:"training_digest,omitempty"`
	// NoSelfPersonalization and NoPeerPersonalization are the ablation
	// flags of TrainOptions.
	NoSelfPersonalization bool `json:"no_self_personalization"`
	NoPeerPersonalization bool `json:"no_peer_personalization"`
	// Read is how the cohort was read (TrainOptions.Read); the commands
	// that answer with the model read cohorts the same way by default.
	// Nil in manifests written before it was recorded: those models were
	// trained on cohorts read with the defaults.
	Read *ReadSettings `json:"read,omitempty"`
}

// ReadSettings are the cohort reader's settings (cohort.ReadOptions) a
// model's cohort was read with, recorded in its manifest.
type ReadSettings struct {
	// MaxVisits is the largest number of visits a patient could have
	// (0: cohort.DefaultMaxVisits).
	MaxVisits int `json:"max_visits,omitempty"`
	// Lenient is true when invalid rows were skipped instead of failing.
	Lenient bool `json:"lenient,omitempty"`
}

// Options returns the reader's options with these settings.
func (r ReadSettings) Options() cohort.ReadOptions {
	return cohort.ReadOptions{MaxVisits: r.withDefaults().MaxVisits, Lenient: r.Lenient}
}

// withDefaults fills in cohort.DefaultMaxVisits for 0.
func (r ReadSettings) withDefaults() ReadSettings {
	if r.MaxVisits == 0 {
		r.MaxVisits = cohort.DefaultMaxVisits
	}
	return r
}

// IndexInfo records an external index (ExternalIndex) in the manifest.
type IndexInfo struct {
	// Location names the index without secrets (for Weaviate
	// weaviate://HOST:PORT/COLLECTION?grpc=PORT&tenant=NAME).
	Location string `json:"location"`
	// EncoderVersion is the version of the encoder whose vectors the index
	// holds: the encoder part's SHA-256 (EncoderVersion).
	EncoderVersion string `json:"encoder_version"`
}

// ExternalIndex is implemented by a recommender whose vectors live outside
// the model directory, in a database shared with other models (package
// similarity/weaviate). Save records its location and encoder version in
// the manifest; Save and Load refuse an index whose encoder version is not
// the model's encoder's.
type ExternalIndex interface {
	similarity.Recommender
	// Location names the index without secrets.
	Location() string
	// EncoderVersion is the version of the encoder whose vectors the index
	// answers with.
	EncoderVersion() string
}

// EncoderVersion returns the version of a patient encoder: the hex SHA-256
// of its saved form (Saver), which is also its part's SHA-256 in a saved
// model's manifest. Vectors made by encoders of different versions must
// never be compared.
func EncoderVersion(enc encoder.Encoder) (string, error) {
	s, ok := enc.(Saver)
	if !ok {
		return "", fmt.Errorf("%w: the encoder (%T) does not implement pmlm.Saver, so it has no version", ErrNotSaveable, enc)
	}
	h := sha256.New()
	if err := s.Save(h); err != nil {
		return "", fmt.Errorf("pmlm: encoder version: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// checkIndex refuses an external index whose encoder version is not the
// model's (encoderSHA, the encoder part's SHA-256).
func checkIndex(r similarity.Recommender, encoderSHA string) (*IndexInfo, error) {
	x, ok := r.(ExternalIndex)
	if !ok {
		return nil, nil
	}
	if x.EncoderVersion() != encoderSHA {
		return nil, fmt.Errorf("%w: the index %s holds vectors of encoder version %s, but the model's encoder is version %s: rebuild the index with this model (pmlm train --index)",
			ErrModel, x.Location(), x.EncoderVersion(), encoderSHA)
	}
	return &IndexInfo{Location: x.Location(), EncoderVersion: x.EncoderVersion()}, nil
}

// checksum returns the hex SHA-256 of m's canonical content.
func (m Manifest) checksum() (string, error) {
	m.Checksum = ""
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// ReadManifest reads and checks the manifest of a model directory: format,
// version and checksum. It does not read the parts.
func ReadManifest(dir string) (*Manifest, error) {
	raw, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrModel, err)
	}
	return parseManifest(dir, raw)
}

// parseManifest decodes and checks the manifest raw of the model directory
// dir (named in errors).
func parseManifest(dir string, raw []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrModel, ManifestFile, err)
	}
	if m.Format != ModelFormat {
		return nil, fmt.Errorf("%w: %s: format %q, want %q", ErrModel, dir, m.Format, ModelFormat)
	}
	if m.Version != ModelVersion {
		return nil, fmt.Errorf("%w: %s: format version %d, this library reads version %d", ErrModel, dir, m.Version, ModelVersion)
	}
	sum, err := m.checksum()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrModel, ManifestFile, err)
	}
	if sum != m.Checksum {
		return nil, fmt.Errorf("%w: %s is corrupted or was edited: checksum %s, recorded %s", ErrModel, ManifestFile, sum, m.Checksum)
	}
	return &m, nil
}

// String returns "provider/model" (the provider alone without a model).
func (r ResponderInfo) String() string {
	if r.Model == "" {
		return r.Provider
	}
	return r.Provider + "/" + r.Model
}

// responderInfo identifies r: its llm.Identity where it has one.
func responderInfo(r llm.Responder) ResponderInfo {
	if id, ok := r.(llm.Identified); ok {
		i := id.Identity()
		return ResponderInfo{Provider: i.Provider, Model: i.Model}
	}
	return ResponderInfo{Provider: fmt.Sprintf("%T", r)}
}

// Save writes every learned part of the pipeline into dir, a versioned
// model directory with a manifest and checksums. Every part must implement
// Saver (all built-in parts do); otherwise Save fails with ErrNotSaveable.
// The directory is assembled beside dir and exchanged with it
// (atomicfile.ReplaceDir), so dir is either the old model or the complete
// new one, even after a kill; leftovers of interrupted saves are removed.
// Save replaces only an empty directory or a model directory it wrote
// (nothing else in it); anything else fails with ErrNotModelDir.
//
// The directory knows the training patients only by opaque keys
// (PatientKeys), never by ID. With the offline case responder it holds
// their coarse prompts and doctor replies (cases.jsonl, the responder's
// knowledge), and Save refuses unless the pipeline was trained with
// TrainOptions.StoreCases (ErrStoreCases); with another responder it holds
// their keys only (train_keys.json). When the responder is the generative
// LM it holds the LM's weights, which can reproduce the replies it was
// trained on: treat a model directory as patient data.
func (p *Pipeline) Save(dir string) error {
	b := p.builder
	if responderInfo(p.responder).Provider == llm.ProviderCase && !p.storeCases {
		return ErrStoreCases
	}
	parts := []struct {
		role string
		part any
	}{{PartEncoder, b.encoder}, {PartRecommender, b.recommender}, {PartPolicy, p.policy}}
	if b.predictor != nil {
		parts = append(parts, struct {
			role string
			part any
		}{PartPredictor, b.predictor})
	}
	if p.patient != nil {
		parts = append(parts, struct {
			role string
			part any
		}{PartPolicyEncoder, p.patient})
	}
	// The responder is saved when it can be (the generative LM); the case
	// responder is rebuilt from the saved cases, an external LLM is
	// given again at Load.
	if _, ok := p.responder.(Saver); ok {
		parts = append(parts, struct {
			role string
			part any
		}{PartResponder, p.responder})
	}
	savers := make(map[string]Saver, len(parts))
	for _, pt := range parts {
		s, ok := pt.part.(Saver)
		if !ok {
			return fmt.Errorf("%w: the %s (%T) does not implement pmlm.Saver", ErrNotSaveable, pt.role, pt.part)
		}
		savers[pt.role] = s
	}

	return atomicfile.ReplaceDir(dir, checkReplaceable, func(tmp string) error { return p.write(tmp, savers) })
}

// write writes the parts, the cases and the manifest into the empty
// directory tmp.
func (p *Pipeline) write(tmp string, savers map[string]Saver) error {
	b := p.builder
	m := Manifest{
		Format: ModelFormat, Version: ModelVersion,
		Parts: map[string]Part{}, Files: map[string]string{},
		TextEncoder: p.text.Name(), Responder: responderInfo(p.responder),
		Data: DataInfo{Metrics: p.metrics, Labels: b.labels, Split: p.split, Digest: p.digest, TrainingDigest: p.trainDigest,
			NoSelfPersonalization: b.noSelf, NoPeerPersonalization: b.noPeer, Read: &p.read},
		K: b.k, Steps: p.steps, PromptTemplate: b.templateText,
	}
	if p.actions != ActionsDelete {
		m.Actions = p.actions // deletion-only manifests stay as older versions wrote them
	}
	for role, s := range savers {
		file := role + ".bin"
		sum, err := writeHashed(filepath.Join(tmp, file), s.Save)
		if err != nil {
			return fmt.Errorf("pmlm: save the %s: %w", role, err)
		}
		m.Parts[role] = Part{Kind: s.Kind(), File: file, SHA256: sum}
	}
	// The patients' replies are stored only when the case responder needs
	// them to answer; otherwise only the training patients' keys (for
	// the exclusions), which recommender.bin holds anyway.
	file, write := fileTrainKeys, func(w io.Writer) error {
		keys := make([]string, len(p.cases))
		for i, c := range p.cases {
			keys[i] = c.ID
		}
		slices.Sort(keys)
		return json.NewEncoder(w).Encode(keys)
	}
	if m.Responder.Provider == llm.ProviderCase {
		file, write = fileCases, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			for _, c := range p.cases {
				if err := enc.Encode(c); err != nil {
					return err
				}
			}
			return nil
		}
	}
	sum, err := writeHashed(filepath.Join(tmp, file), write)
	if err != nil {
		return fmt.Errorf("pmlm: save %s: %w", file, err)
	}
	m.Files[file] = sum
	if m.Index, err = checkIndex(b.recommender, m.Parts[PartEncoder].SHA256); err != nil {
		return err
	}
	m.PatientKeys = b.keys.info()
	if m.Checksum, err = m.checksum(); err != nil {
		return fmt.Errorf("pmlm: save: %w", err)
	}
	if _, err := writeHashed(filepath.Join(tmp, ManifestFile), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	}); err != nil {
		return fmt.Errorf("pmlm: save: %w", err)
	}
	return nil
}

// checkReplaceable refuses to let Save replace what exists at dir unless
// it is an empty directory or a model directory written by Save, holding
// only the files its manifest lists: Save deletes the old directory.
func checkReplaceable(dir string) error {
	info, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("pmlm: save: %w", err)
	}
	if !info.IsDir() {
		return fmt.Errorf("%w: %s exists and is not a directory; refusing to replace it", ErrNotModelDir, dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("pmlm: save: %w", err)
	}
	if len(entries) == 0 {
		return nil
	}
	var m Manifest
	raw, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil || json.Unmarshal(raw, &m) != nil || m.Format != ModelFormat {
		return fmt.Errorf("%w: %s holds files and no pmlm model manifest; refusing to replace it", ErrNotModelDir, dir)
	}
	known := map[string]bool{ManifestFile: true}
	for name := range m.Files {
		known[name] = true
	}
	for _, pt := range m.Parts {
		known[pt.File] = true
	}
	for _, e := range entries {
		if !known[e.Name()] || !e.Type().IsRegular() {
			return fmt.Errorf("%w: %s holds %s, which is not part of the model; refusing to replace it", ErrNotModelDir, dir, e.Name())
		}
	}
	return nil
}

// writeHashed writes a file atomically through write and returns the hex
// SHA-256 of its contents.
func writeHashed(path string, write func(io.Writer) error) (string, error) {
	h := sha256.New()
	err := atomicfile.Write(path, 0o600, func(w io.Writer) error { return write(io.MultiWriter(w, h)) })
	return hex.EncodeToString(h.Sum(nil)), err
}

// LoadOptions supplies what a model directory does not hold.
type LoadOptions struct {
	// Text must be given when the model was trained with an embedder other
	// than the embedded word vectors; its Name must match the manifest's.
	Text encoder.TextEncoder
	// Responder answers the prompts instead of the model's own responder:
	// the one it embeds (the generative LM) or else the case responder
	// built from the saved training cases. It must be given when the model
	// embeds neither what the policy was trained against (an external LLM;
	// the manifest's Responder says which). A responder other than the one
	// the policy was trained against is allowed (the policy then refines
	// prompts for another reader) and reported through Warn.
	Responder llm.Responder
	// Warn, if set, receives warnings about the loaded model, such as a
	// Responder other than the one the policy was trained against.
	Warn func(msg string)
	// Loaders holds the loaders of the part kinds that are not built in;
	// the built-in kinds (DefaultLoaders) need no entry.
	Loaders Loaders
}

// Load reads a model directory written by Save. It fails with an error
// wrapping ErrModel for another format or version, a missing file (the
// error also wraps fs.ErrNotExist), a file whose checksum does not match
// the manifest, or a part whose kind has no loader.
func Load(ctx context.Context, dir string, opts LoadOptions) (*Pipeline, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	read := func(name, want string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrModel, err)
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != want {
			return nil, fmt.Errorf("%w: %s is corrupted: SHA-256 %s, manifest says %s", ErrModel, name, got, want)
		}
		return b, nil
	}
	builtin := DefaultLoaders()
	keys, err := keyerOf(m.PatientKeys)
	if err != nil {
		return nil, err
	}
	b := &PromptBuilder{labels: m.Data.Labels, k: m.K, noSelf: m.Data.NoSelfPersonalization,
		noPeer: m.Data.NoPeerPersonalization, templateText: m.PromptTemplate, keys: keys}
	p := &Pipeline{metrics: m.Data.Metrics, builder: b, steps: m.Steps, split: m.Data.Split, digest: m.Data.Digest,
		trainDigest: m.Data.TrainingDigest, read: ReadSettings{}.withDefaults()}
	if m.Data.Read != nil {
		p.read = m.Data.Read.withDefaults()
	}
	if p.actions, err = checkActions(m.Actions); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrModel, ManifestFile, err)
	}
	if b.template, err = prompt.NewTemplate(m.PromptTemplate); err != nil {
		return nil, fmt.Errorf("%w: prompt template: %w", ErrModel, err)
	}
	switch {
	case opts.Text != nil:
		if opts.Text.Name() != m.TextEncoder {
			return nil, fmt.Errorf("%w: the model was trained with text encoder %q, got %q", ErrOptions, m.TextEncoder, opts.Text.Name())
		}
		p.text = opts.Text
	case isBuiltinText(m.TextEncoder):
		if p.text, err = BuiltinTextEncoder(m.TextEncoder); err != nil {
			return nil, fmt.Errorf("pmlm: text encoder %q: %w", m.TextEncoder, err)
		}
	default:
		return nil, fmt.Errorf("%w: the model needs text encoder %q: pass it in LoadOptions.Text", ErrOptions, m.TextEncoder)
	}

	if b.predictor, _, err = loadPart(m, PartPredictor, !b.noSelf, opts.Loaders.Predictors, builtin.Predictors, read); err != nil {
		return nil, err
	}
	if b.encoder, _, err = loadPart(m, PartEncoder, true, opts.Loaders.Encoders, builtin.Encoders, read); err != nil {
		return nil, err
	}
	enc, found, err := loadPart(m, PartPolicyEncoder, false, opts.Loaders.Encoders, builtin.Encoders, read)
	if err != nil {
		return nil, err
	}
	if found {
		d, ok := enc.(mlp.Differentiable)
		if !ok {
			return nil, fmt.Errorf("%w: the policy encoder of kind %q is not differentiable", ErrModel, m.Parts[PartPolicyEncoder].Kind)
		}
		p.patient = d
	}
	if b.recommender, _, err = loadPart(m, PartRecommender, true, opts.Loaders.Recommenders, builtin.Recommenders, read); err != nil {
		return nil, err
	}
	info, err := checkIndex(b.recommender, m.Parts[PartEncoder].SHA256)
	switch {
	case err != nil:
		return nil, err
	case (info == nil) != (m.Index == nil) || (info != nil && info.EncoderVersion != m.Index.EncoderVersion):
		return nil, fmt.Errorf("%w: the manifest records index %+v, the recommender loaded is %+v", ErrModel, m.Index, info)
	}
	if p.policy, _, err = loadPart(m, PartPolicy, true, opts.Loaders.Policies, builtin.Policies, read); err != nil {
		return nil, err
	}
	p.freeze()

	if err := p.checkManifest(m); err != nil {
		return nil, err
	}

	if p.trainKeys, err = p.readTrainingCases(m, read); err != nil {
		return nil, err
	}
	responder := opts.Responder
	if responder == nil {
		if responder, _, err = loadPart(m, PartResponder, false, opts.Loaders.Responders, builtin.Responders, read); err != nil {
			return nil, err
		}
		if responder == nil && m.Responder.Provider != llm.ProviderCase {
			return nil, fmt.Errorf("%w: the model's policy was trained against responder %s, which the model does not embed; pass it in LoadOptions.Responder (the offline case responder is not a stand-in for it)",
				ErrOptions, m.Responder)
		}
	}
	if err := p.setResponder(ctx, responder); err != nil {
		return nil, err
	}
	if got := responderInfo(p.responder); got != m.Responder && opts.Warn != nil {
		opts.Warn(fmt.Sprintf("the model's policy was trained against responder %s; answering with %s", m.Responder, got))
	}
	p.scorer = reward.NewBERTScorer(p.text, reward.BERTScoreOptions{})
	return p, nil
}

// readTrainingCases reads the training cases (cases.jsonl, into p.cases)
// of a model whose responder is the case responder, or else the training
// patients' keys (train_keys.json), and returns the keys.
func (p *Pipeline) readTrainingCases(m *Manifest, read func(name, sha string) ([]byte, error)) (map[string]bool, error) {
	var keys []string
	if want, ok := m.Files[fileCases]; ok {
		raw, err := read(fileCases, want)
		if err != nil {
			return nil, err
		}
		if p.cases, err = llm.ReadCases(bytes.NewReader(raw), fileCases); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrModel, err)
		}
		p.storeCases = true // stored by choice when it was saved
		for _, c := range p.cases {
			keys = append(keys, c.ID)
		}
	} else {
		want, ok := m.Files[fileTrainKeys]
		if !ok {
			return nil, fmt.Errorf("%w: the manifest lists neither %s nor %s", ErrModel, fileCases, fileTrainKeys)
		}
		raw, err := read(fileTrainKeys, want)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(raw, &keys); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrModel, fileTrainKeys, err)
		}
	}
	set := make(map[string]bool, len(keys))
	for _, k := range keys {
		if k == "" || set[k] {
			return nil, fmt.Errorf("%w: an empty or repeated training patient key %q", ErrModel, k)
		}
		set[k] = true
	}
	return set, nil
}

// loadPart reads the part of the role from the model directory with the
// loader of its kind (user's first, then built-in); found is false for an
// optional part the manifest does not list.
func loadPart[T any](m *Manifest, role string, required bool, user, builtin map[string]func(io.Reader) (T, error),
	read func(name, sha string) ([]byte, error)) (part T, found bool, err error) {
	pt, ok := m.Parts[role]
	if !ok {
		if required {
			return part, false, fmt.Errorf("%w: the manifest lists no %s", ErrModel, role)
		}
		return part, false, nil
	}
	raw, err := read(pt.File, pt.SHA256)
	if err != nil {
		return part, false, err
	}
	load, err := lookup(user, builtin, role, pt.Kind)
	if err != nil {
		return part, false, err
	}
	if part, err = load(bytes.NewReader(raw)); err != nil {
		return part, false, fmt.Errorf("%w: %s: %w", ErrModel, pt.File, err)
	}
	return part, true, nil
}
