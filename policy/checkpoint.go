package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strings"

	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/optimizers/adam"

	"github.com/pmlm-go/pmlm/internal/atomicfile"
)

// ErrCorruptCheckpoint reports a checkpoint file that is truncated, altered
// or not a checkpoint at all.
var ErrCorruptCheckpoint = errors.New("policy: corrupt checkpoint")

// ErrCheckpointMismatch reports a valid checkpoint that does not fit the
// Trainer it is resumed into (other parameter shapes, cases or settings).
var ErrCheckpointMismatch = errors.New("policy: checkpoint does not match the trainer")

// A checkpoint file is: the 8-byte magic, a big-endian uint32 format
// version, a big-endian uint64 payload length, the gob payload, and the
// SHA-256 of the payload. The length and digest catch truncation and bit rot
// before gob sees the bytes.
const (
	checkpointMagic   = "PMLMPCKP"
	checkpointVersion = 1
	headerLen         = len(checkpointMagic) + 4 + 8
)

// savedParam is one parameter with its Adam moments (nil before its first update).
type savedParam struct {
	Value savedTensor
	V, M  []float32
}

type checkpointData struct {
	Policy, Encoder []savedParam
	AdamTimeStep    int
	RNG             []byte
	Pos             position
	Best            []savedTensor
	// Settings that must not change across a resume.
	Cases, BatchSize, Steps int
	Seed                    uint64
	// Origin is TrainerConfig.Origin.
	Origin map[string]string
}

func saveParams(ps []*nn.Param) []savedParam {
	out := make([]savedParam, len(ps))
	for i, p := range ps {
		out[i].Value = savedTensor{Shape: append([]int(nil), p.Shape()...), Data: copyData(p)}
		if s, ok := p.State.(*adam.State); ok && s != nil {
			out[i].V = append([]float32(nil), s.V.Data().F32()...)
			out[i].M = append([]float32(nil), s.M.Data().F32()...)
		}
	}
	return out
}

// loadParams sets values and Adam moments; shapes were checked by the caller.
func loadParams(ps []*nn.Param, saved []savedParam) {
	for i, p := range ps {
		sp := saved[i]
		p.SetData(mat.NewDense[T](mat.WithBacking(sp.Value.Data)).Data())
		p.ZeroGrad()
		if sp.V == nil {
			p.State = nil
			continue
		}
		shape := p.Shape()
		dense := func(data []float32) mat.Matrix {
			return mat.NewDense[T](mat.WithShape(shape...), mat.WithBacking(append([]float32(nil), data...)))
		}
		zeros := func() mat.Matrix { return mat.NewDense[T](mat.WithShape(shape...)) }
		// Buf1..Buf3 are scratch space, overwritten by every update.
		p.State = &adam.State{V: dense(sp.V), M: dense(sp.M), Buf1: zeros(), Buf2: zeros(), Buf3: zeros()}
	}
}

func checkParams(ps []*nn.Param, saved []savedParam, what string) error {
	for i, sp := range saved {
		if i >= len(ps) {
			break
		}
		if (sp.V != nil || sp.M != nil) && (len(sp.V) != len(sp.Value.Data) || len(sp.M) != len(sp.Value.Data)) {
			return fmt.Errorf("%w: %s parameter %d has Adam moments of sizes %d, %d for %d values",
				ErrCorruptCheckpoint, what, i, len(sp.V), len(sp.M), len(sp.Value.Data))
		}
	}
	ts := make([]savedTensor, len(saved))
	for i := range saved {
		ts[i] = saved[i].Value
	}
	return checkTensors(ps, ts, what)
}

func checkTensors(ps []*nn.Param, saved []savedTensor, what string) error {
	if len(saved) != len(ps) {
		return fmt.Errorf("%w: %s has %d parameters, checkpoint %d", ErrCheckpointMismatch, what, len(ps), len(saved))
	}
	for i, p := range ps {
		if !sameShape(p.Shape(), saved[i].Shape) || p.Size() != len(saved[i].Data) {
			return fmt.Errorf("%w: %s parameter %d has shape %v, checkpoint %v with %d values",
				ErrCheckpointMismatch, what, i, p.Shape(), saved[i].Shape, len(saved[i].Data))
		}
	}
	return nil
}

// saveCheckpoint writes the trainer's full state to path atomically. It
// must run between mini-batches (no gradients pending).
func (t *Trainer) saveCheckpoint(path string) error {
	rngState, err := t.pcg.MarshalBinary()
	if err != nil {
		return fmt.Errorf("policy: checkpoint: random state: %w", err)
	}
	np := len(t.cfg.Policy.Params())
	all := saveParams(t.params)
	d := checkpointData{
		Policy: all[:np], Encoder: all[np:],
		AdamTimeStep: t.opt.TimeStep,
		RNG:          rngState,
		Pos:          t.st,
		Best:         t.bestSaved,
		Cases:        t.cfg.Cases.Len(), BatchSize: t.cfg.BatchSize, Steps: t.cfg.Steps, Seed: t.cfg.Seed,
		Origin: t.cfg.Origin,
	}
	var payload bytes.Buffer
	if err := gob.NewEncoder(&payload).Encode(&d); err != nil {
		return fmt.Errorf("policy: checkpoint: encode: %w", err)
	}
	buf := make([]byte, 0, headerLen+payload.Len()+sha256.Size)
	buf = append(buf, checkpointMagic...)
	buf = binary.BigEndian.AppendUint32(buf, checkpointVersion)
	buf = binary.BigEndian.AppendUint64(buf, uint64(payload.Len()))
	buf = append(buf, payload.Bytes()...)
	sum := sha256.Sum256(payload.Bytes())
	buf = append(buf, sum[:]...)
	if err := atomicfile.Write(path, 0o600, func(w io.Writer) error { _, err := w.Write(buf); return err }); err != nil {
		return fmt.Errorf("policy: checkpoint: %w", err)
	}
	return nil
}

func readCheckpoint(path string) (*checkpointData, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("policy: resume: %w", err)
	}
	if len(raw) < headerLen || string(raw[:len(checkpointMagic)]) != checkpointMagic {
		return nil, fmt.Errorf("%w: %s: not a policy checkpoint (%d bytes, bad header)", ErrCorruptCheckpoint, path, len(raw))
	}
	if v := binary.BigEndian.Uint32(raw[len(checkpointMagic):]); v != checkpointVersion {
		return nil, fmt.Errorf("%w: %s: format version %d, want %d", ErrCorruptCheckpoint, path, v, checkpointVersion)
	}
	n := binary.BigEndian.Uint64(raw[len(checkpointMagic)+4:])
	if want := uint64(headerLen) + n + sha256.Size; uint64(len(raw)) != want {
		return nil, fmt.Errorf("%w: %s: %d bytes, header says %d (truncated or padded)", ErrCorruptCheckpoint, path, len(raw), want)
	}
	payload := raw[headerLen : headerLen+int(n)]
	sum := sha256.Sum256(payload)
	if !bytes.Equal(sum[:], raw[headerLen+int(n):]) {
		return nil, fmt.Errorf("%w: %s: checksum mismatch", ErrCorruptCheckpoint, path)
	}
	var d checkpointData
	if err := gob.NewDecoder(bytes.NewReader(payload)).Decode(&d); err != nil {
		return nil, fmt.Errorf("%w: %s: decode: %v", ErrCorruptCheckpoint, path, err)
	}
	return &d, nil
}

// originDiff lists the entries in which a checkpoint's origin and the
// trainer's differ ("" when they agree), sorted by name.
func originDiff(saved, now map[string]string) string {
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(now)) {
		old, ok := saved[k]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%s: not recorded, now %q", k, now[k]))
		case old != now[k]:
			diffs = append(diffs, fmt.Sprintf("%s: checkpoint %q, now %q", k, old, now[k]))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(saved)) {
		if _, ok := now[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: checkpoint %q, not set now", k, saved[k]))
		}
	}
	return strings.Join(diffs, "; ")
}

// Resume loads a checkpoint written by Train (TrainerConfig.CheckpointPath)
// into t: the policy's and encoder's weights and Adam moments, Adam's step
// count, the random state, the position (epoch, mini-batch, case order),
// the baseline and the best epoch so far. The next Train call continues
// where the checkpointed run stopped. t must be built with the same cases,
// batch size, steps, seed and Origin, and parameters of the same shapes. Nothing is
// changed when Resume fails.
//
// Not restored: the state of the policy's dropout generator (MLP keeps its
// own; the Policy interface does not expose it), and spago accumulates
// gradients in a nondeterministic order; so a resumed run visits the same
// cases with the same per-episode random sources, but its weights drift
// from an uninterrupted run's within dropout and floating-point noise.
func (t *Trainer) Resume(path string) error {
	d, err := readCheckpoint(path)
	if err != nil {
		return err
	}
	if d.Cases != t.cfg.Cases.Len() || d.BatchSize != t.cfg.BatchSize || d.Steps != t.cfg.Steps || d.Seed != t.cfg.Seed {
		return fmt.Errorf("%w: %s: written for %d cases, batch %d, %d steps, seed %d; trainer has %d, %d, %d, %d",
			ErrCheckpointMismatch, path, d.Cases, d.BatchSize, d.Steps, d.Seed,
			t.cfg.Cases.Len(), t.cfg.BatchSize, t.cfg.Steps, t.cfg.Seed)
	}
	if diff := originDiff(d.Origin, t.cfg.Origin); diff != "" {
		return fmt.Errorf("%w: %s was written for other data or settings: %s", ErrCheckpointMismatch, path, diff)
	}
	np := len(t.cfg.Policy.Params())
	if err := checkParams(t.params[:np], d.Policy, "policy"); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := checkParams(t.params[np:], d.Encoder, "encoder"); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if d.Best != nil {
		if err := checkTensors(t.params, d.Best, "best weights"); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	if d.Pos.Order != nil && len(d.Pos.Order) != d.Cases || d.AdamTimeStep < 1 {
		return fmt.Errorf("%w: %s: inconsistent position", ErrCorruptCheckpoint, path)
	}
	pcg := new(rand.PCG)
	if err := pcg.UnmarshalBinary(d.RNG); err != nil {
		return fmt.Errorf("%w: %s: random state: %v", ErrCorruptCheckpoint, path, err)
	}
	loadParams(t.params[:np], d.Policy)
	loadParams(t.params[np:], d.Encoder)
	// adam.New starts at TimeStep 1; IncExample also recomputes the
	// bias-corrected step size from it.
	t.opt.TimeStep = d.AdamTimeStep - 1
	t.opt.IncExample()
	*t.pcg = *pcg
	t.st = d.Pos
	t.bestSaved = d.Best
	return nil
}
