package lm

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"github.com/pmlm-go/pmlm/internal/atomicfile"
)

// A model directory holds three files:
//
//	manifest.json  format, version, shape, training facts, the SHA-256 of
//	               the other files and of its own canonical content
//	vocab.json     the vocabulary's pieces in id order
//	weights.bin    "PMLMLMW1", the number of weights (uint64), then the
//	               weights as little-endian float32 in the layout order
//
// The weights can reproduce training replies, numbers included: a model
// directory trained on patients' replies is patient data.
const (
	Format  = "pmlm-lm"
	Version = 1

	fileManifest = "manifest.json"
	fileVocab    = "vocab.json"
	fileWeights  = "weights.bin"
	weightsMagic = "PMLMLMW1"
)

// Info describes how a model was trained. Save stores it in the manifest
// and Load returns it.
type Info struct {
	// Mode is "general" (the general responder, trained on the corpus of
	// package corpus) or "finetune" (trained on lab histories and
	// replies, the paper's fine-tuned baseline).
	Mode string `json:"mode,omitempty"`
	// Seed, Epochs and Examples are the training run's.
	Seed     uint64 `json:"seed"`
	Epochs   int    `json:"epochs"`
	Examples int    `json:"examples"`
	// DataDigest identifies the training examples (hex SHA-256).
	DataDigest string `json:"data_digest,omitempty"`
	// Split is the time-based split whose training part the model was
	// trained on, as TRAIN_END/VALIDATION_END (cohort.SplitBoundaries's
	// String); empty in models saved before it was recorded, which used
	// the default split.
	Split string `json:"split,omitempty"`
	// MaskedNumbers is true when patient-specific numbers were masked in
	// the replies it was trained on.
	MaskedNumbers bool `json:"masked_numbers"`
	// ValidationPerplexity is the last epoch's, 0 when not measured.
	ValidationPerplexity float64 `json:"validation_perplexity,omitempty"`
}

type manifest struct {
	Format   string            `json:"format"`
	Version  int               `json:"version"`
	Config   Config            `json:"config"`
	Info     Info              `json:"info"`
	Files    map[string]string `json:"files"`
	Checksum string            `json:"checksum"`
}

// canonicalSum is the SHA-256 of the manifest's JSON with an empty
// checksum field.
func (mf manifest) canonicalSum() (string, error) {
	mf.Checksum = ""
	b, err := json.Marshal(mf)
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:]), nil
}

// ErrModelDir is returned by Load for a directory that is not an intact
// model of this format and version, and by Save for a target that holds
// something else than a model directory.
var ErrModelDir = errors.New("lm: unusable model directory")

// Save writes the model to dir. The directory is assembled beside dir and
// exchanged with it (atomicfile.ReplaceDir: crash-safe, leftovers of
// interrupted saves removed). An existing dir is replaced only when it is a model
// directory of this format; anything else there is refused, never deleted.
func (m *Model) Save(dir string, info Info) error {
	if m == nil {
		return fmt.Errorf("%w: nil model", ErrModel)
	}
	if v := info.ValidationPerplexity; math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return fmt.Errorf("lm: save: validation perplexity %v (0 when not measured)", v)
	}
	m.info = info
	return atomicfile.ReplaceDir(dir, checkReplaceable, func(tmp string) error {
		mf := manifest{Format: Format, Version: Version, Config: m.cfg, Info: info, Files: map[string]string{}}
		files := []struct {
			name  string
			write func(io.Writer) error
		}{
			{fileVocab, func(w io.Writer) error { return json.NewEncoder(w).Encode(m.vocab.pieces) }},
			{fileWeights, func(w io.Writer) error { return writeFloats(w, weightsMagic, m.params) }},
		}
		for _, f := range files {
			h := sha256.New()
			err := atomicfile.Write(filepath.Join(tmp, f.name), 0o600, func(w io.Writer) error {
				return f.write(io.MultiWriter(w, h))
			})
			if err != nil {
				return fmt.Errorf("lm: save %s: %w", f.name, err)
			}
			mf.Files[f.name] = hex.EncodeToString(h.Sum(nil))
		}
		var err error
		if mf.Checksum, err = mf.canonicalSum(); err != nil {
			return fmt.Errorf("lm: save: %w", err)
		}
		err = atomicfile.Write(filepath.Join(tmp, fileManifest), 0o600, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(mf)
		})
		if err != nil {
			return fmt.Errorf("lm: save manifest: %w", err)
		}
		return nil
	})
}

// checkReplaceable refuses a target that exists and is not a model
// directory of this format.
func checkReplaceable(dir string) error {
	info, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("lm: save: %w", err)
	}
	if !info.IsDir() {
		return fmt.Errorf("%w: %s exists and is not a directory; refusing to replace it", ErrModelDir, dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("lm: save: %w", err)
	}
	if len(entries) == 0 {
		return nil
	}
	var mf manifest
	b, err := os.ReadFile(filepath.Join(dir, fileManifest))
	if err != nil || json.Unmarshal(b, &mf) != nil || mf.Format != Format {
		return fmt.Errorf("%w: %s holds files that are not a %s model; refusing to replace it", ErrModelDir, dir, Format)
	}
	for _, e := range entries {
		if _, ok := mf.Files[e.Name()]; !ok && e.Name() != fileManifest {
			return fmt.Errorf("%w: %s holds %s, which is not part of a model; refusing to replace it", ErrModelDir, dir, e.Name())
		}
	}
	return nil
}

// Load reads a model directory written by Save and checks it whole: the
// manifest's own checksum, format and version, each file's SHA-256, the
// shape, the vocabulary and that every weight is finite.
func Load(dir string) (*Model, Info, error) {
	bad := func(format string, args ...any) (*Model, Info, error) {
		return nil, Info{}, fmt.Errorf("%w: %s: %s", ErrModelDir, dir, fmt.Sprintf(format, args...))
	}
	raw, err := os.ReadFile(filepath.Join(dir, fileManifest))
	if err != nil {
		return nil, Info{}, fmt.Errorf("%w: %w", ErrModelDir, err)
	}
	var mf manifest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&mf); err != nil {
		return bad("%s: %v", fileManifest, err)
	}
	if mf.Format != Format || mf.Version != Version {
		return bad("format %q version %d, want %q version %d", mf.Format, mf.Version, Format, Version)
	}
	if sum, err := mf.canonicalSum(); err != nil || sum != mf.Checksum {
		return bad("%s was altered (its checksum does not match its content)", fileManifest)
	}
	if err := mf.Config.Validate(); err != nil {
		return bad("%v", err)
	}
	read := func(name string) ([]byte, error) {
		want, ok := mf.Files[name]
		if !ok {
			return nil, fmt.Errorf("the manifest lists no %s", name)
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		if s := sha256.Sum256(b); hex.EncodeToString(s[:]) != want {
			return nil, fmt.Errorf("%s is damaged (SHA-256 mismatch)", name)
		}
		return b, nil
	}
	vb, err := read(fileVocab)
	if err != nil {
		return bad("%v", err)
	}
	var pieces []string
	if err := json.Unmarshal(vb, &pieces); err != nil {
		return bad("%s: %v", fileVocab, err)
	}
	wb, err := read(fileWeights)
	if err != nil {
		return bad("%v", err)
	}
	m, err := assemble(mf.Config, mf.Info, pieces, bytes.NewReader(wb))
	if err != nil {
		return bad("%v", err)
	}
	return m, mf.Info, nil
}

// assemble builds a model from its stored parts and checks them: the
// shape, the vocabulary's size and validity, the number of weights and
// that every weight is finite.
func assemble(cfg Config, info Info, pieces []string, weights io.Reader) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if v := info.ValidationPerplexity; math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return nil, fmt.Errorf("validation perplexity %v", v)
	}
	vocab, err := VocabularyFromPieces(pieces)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fileVocab, err)
	}
	if vocab.Size() != cfg.Vocab {
		return nil, fmt.Errorf("the vocabulary has %d pieces, the configuration %d", vocab.Size(), cfg.Vocab)
	}
	lay := cfg.layout()
	if lay.size > maxWeights {
		return nil, fmt.Errorf("%d weights, more than the %d this package reads", lay.size, maxWeights)
	}
	m := &Model{cfg: cfg, vocab: vocab, lay: lay, info: info}
	m.params = make([]float32, m.lay.size)
	if err := readFloats(weights, weightsMagic, m.params); err != nil {
		return nil, fmt.Errorf("%s: %w", fileWeights, err)
	}
	return m, nil
}

// maxWeights bounds the weights a stored model may declare (1 GiB of
// float32), so that a damaged shape cannot exhaust memory before the
// weights are read.
const maxWeights = 1 << 28

// streamMagic starts the one-stream form of a model (WriteModel).
const streamMagic = "PMLMLMS1"

// maxStreamHeader bounds the JSON header of the one-stream form (its
// vocabulary is a few thousand pieces).
const maxStreamHeader = 16 << 20

// streamHeader is the JSON header of the one-stream form.
type streamHeader struct {
	Format  string   `json:"format"`
	Version int      `json:"version"`
	Config  Config   `json:"config"`
	Info    Info     `json:"info"`
	Vocab   []string `json:"vocab"`
}

// WriteModel writes the model and how it was trained (info) as one
// stream, the form in which a PMLM model directory embeds its responder:
// "PMLMLMS1", the length of a JSON header (uint32, little-endian), the
// header (format, version, shape, info, vocabulary), then the weights as
// in weights.bin. Like a model directory it is patient data when the
// model was trained on patients' replies.
func WriteModel(w io.Writer, m *Model, info Info) error {
	if m == nil {
		return fmt.Errorf("%w: nil model", ErrModel)
	}
	if v := info.ValidationPerplexity; math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return fmt.Errorf("lm: write: validation perplexity %v (0 when not measured)", v)
	}
	head, err := json.Marshal(streamHeader{Format: Format, Version: Version, Config: m.cfg, Info: info, Vocab: m.vocab.pieces})
	if err != nil {
		return fmt.Errorf("lm: write: %w", err)
	}
	if _, err := io.WriteString(w, streamMagic); err != nil {
		return fmt.Errorf("lm: write: %w", err)
	}
	if err := binary.Write(w, binary.LittleEndian, uint32(len(head))); err != nil {
		return fmt.Errorf("lm: write: %w", err)
	}
	if _, err := w.Write(head); err != nil {
		return fmt.Errorf("lm: write: %w", err)
	}
	if err := writeFloats(w, weightsMagic, m.params); err != nil {
		return fmt.Errorf("lm: write: %w", err)
	}
	return nil
}

// ReadModel reads what WriteModel wrote and checks it as Load checks a
// model directory (the stream's integrity is its container's job: a PMLM
// model directory records its SHA-256). Errors wrap ErrModelDir.
func ReadModel(r io.Reader) (*Model, Info, error) {
	bad := func(format string, args ...any) (*Model, Info, error) {
		return nil, Info{}, fmt.Errorf("%w: model stream: %s", ErrModelDir, fmt.Sprintf(format, args...))
	}
	br := bufio.NewReader(r)
	pre := make([]byte, len(streamMagic)+4)
	if _, err := io.ReadFull(br, pre); err != nil {
		return bad("header: %v", err)
	}
	if string(pre[:len(streamMagic)]) != streamMagic {
		return bad("not a language model (magic %q)", pre[:len(streamMagic)])
	}
	n := binary.LittleEndian.Uint32(pre[len(streamMagic):])
	if n > maxStreamHeader {
		return bad("header of %d bytes, more than %d", n, maxStreamHeader)
	}
	raw := make([]byte, n)
	if _, err := io.ReadFull(br, raw); err != nil {
		return bad("header: %v", err)
	}
	var h streamHeader
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return bad("header: %v", err)
	}
	if h.Format != Format || h.Version != Version {
		return bad("format %q version %d, want %q version %d", h.Format, h.Version, Format, Version)
	}
	m, err := assemble(h.Config, h.Info, h.Vocab, br)
	if err != nil {
		return bad("%v", err)
	}
	return m, h.Info, nil
}

// writeFloats writes magic, the count and the values.
func writeFloats(w io.Writer, magic string, vals ...[]float32) error {
	if _, err := io.WriteString(w, magic); err != nil {
		return err
	}
	n := 0
	for _, v := range vals {
		n += len(v)
	}
	if err := binary.Write(w, binary.LittleEndian, uint64(n)); err != nil {
		return err
	}
	buf := make([]byte, 4*4096)
	for _, v := range vals {
		for len(v) > 0 {
			k := min(len(v), 4096)
			for i, x := range v[:k] {
				binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(x))
			}
			if _, err := w.Write(buf[:4*k]); err != nil {
				return err
			}
			v = v[k:]
		}
	}
	return nil
}

// readFloats reads what writeFloats wrote into vals, which must have
// exactly the stored count, and refuses non-finite values.
func readFloats(r io.Reader, magic string, vals ...[]float32) error {
	br := bufio.NewReader(r)
	head := make([]byte, len(magic)+8)
	if _, err := io.ReadFull(br, head); err != nil {
		return fmt.Errorf("header: %w", err)
	}
	if string(head[:len(magic)]) != magic {
		return fmt.Errorf("not a weights file (magic %q)", head[:len(magic)])
	}
	want := 0
	for _, v := range vals {
		want += len(v)
	}
	if n := binary.LittleEndian.Uint64(head[len(magic):]); n != uint64(want) {
		return fmt.Errorf("holds %d values, the configuration needs %d", n, want)
	}
	buf := make([]byte, 4*4096)
	idx := 0
	for _, v := range vals {
		for len(v) > 0 {
			k := min(len(v), 4096)
			if _, err := io.ReadFull(br, buf[:4*k]); err != nil {
				return fmt.Errorf("value %d: %w", idx, err)
			}
			for i := range v[:k] {
				x := math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
					return fmt.Errorf("value %d is %v", idx+i, x)
				}
				v[i] = x
			}
			idx += k
			v = v[k:]
		}
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return fmt.Errorf("trailing data after %d values", want)
	}
	return nil
}

// checkpointState is what a checkpoint holds besides the weights and the
// optimizer's moments.
type checkpointState struct {
	Config               Config    `json:"config"`
	Pieces               []string  `json:"pieces"`
	Step                 int       `json:"step"`
	AdamSteps            int       `json:"adam_steps"`
	Digest               [32]byte  `json:"digest"`
	TrainLoss            []float64 `json:"train_loss"`
	ValidationPerplexity []float64 `json:"validation_perplexity"`
}

var errNoCheckpoint = errors.New("lm: no checkpoint")

const checkpointMagic = "PMLMLMC1"

// writeCheckpoint stores the run's state: a JSON header, the weights and
// Adam's moments, and a SHA-256 of everything before it.
func writeCheckpoint(path string, m *Model, a *adamW, st checkpointState) error {
	st.Config, st.Pieces, st.AdamSteps = m.cfg, m.vocab.pieces, a.t
	st.TrainLoss = finite(st.TrainLoss)
	st.ValidationPerplexity = finite(st.ValidationPerplexity)
	head, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("lm: checkpoint: %w", err)
	}
	err = atomicfile.Write(path, 0o600, func(w io.Writer) error {
		h := sha256.New()
		mw := io.MultiWriter(w, h)
		if _, err := io.WriteString(mw, checkpointMagic); err != nil {
			return err
		}
		if err := binary.Write(mw, binary.LittleEndian, uint32(len(head))); err != nil {
			return err
		}
		if _, err := mw.Write(head); err != nil {
			return err
		}
		if err := writeFloats(mw, weightsMagic, m.params, a.m, a.v); err != nil {
			return err
		}
		_, err := w.Write(h.Sum(nil))
		return err
	})
	if err != nil {
		return fmt.Errorf("lm: checkpoint %s: %w", path, err)
	}
	return nil
}

// finite maps NaN (not measured) to 0 so the header stays valid JSON.
func finite(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			out[i] = x
		}
	}
	return out
}

// readCheckpoint restores m and a from path. It returns errNoCheckpoint
// when there is no file, and ErrCheckpoint when the file is damaged or was
// written by another run (other examples, options, shape or vocabulary).
func readCheckpoint(path string, m *Model, a *adamW, digest [32]byte) (checkpointState, error) {
	var st checkpointState
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, errNoCheckpoint
	}
	if err != nil {
		return st, fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	bad := func(format string, args ...any) (checkpointState, error) {
		return checkpointState{}, fmt.Errorf("%w: %s: %s", ErrCheckpoint, path, fmt.Sprintf(format, args...))
	}
	if len(b) < len(checkpointMagic)+4+sha256.Size || string(b[:len(checkpointMagic)]) != checkpointMagic {
		return bad("not a checkpoint of this format")
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if s := sha256.Sum256(body); !bytes.Equal(s[:], sum) {
		return bad("damaged (SHA-256 mismatch)")
	}
	n := int(binary.LittleEndian.Uint32(body[len(checkpointMagic):]))
	off := len(checkpointMagic) + 4
	if n > len(body)-off {
		return bad("header length %d out of range", n)
	}
	if err := json.Unmarshal(body[off:off+n], &st); err != nil {
		return bad("header: %v", err)
	}
	if st.Digest != digest {
		return bad("it belongs to another training run (other examples, options, shape or vocabulary); delete it or drop --resume")
	}
	if st.Config != m.cfg || len(st.Pieces) != len(m.vocab.pieces) {
		return bad("its model shape differs from this run's")
	}
	if err := readFloats(bytes.NewReader(body[off+n:]), weightsMagic, m.params, a.m, a.v); err != nil {
		return bad("%v", err)
	}
	a.t = st.AdamSteps
	return st, nil
}
