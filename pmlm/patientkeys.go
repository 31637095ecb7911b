package pmlm

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pmlm-go/pmlm/internal/fieldhash"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

// KeySchemeHMAC is the scheme of the patient keys of the models Save
// writes (PatientKeys): the key of a patient is "k" followed by the first
// 16 bytes, in hex, of HMAC-SHA256 over the patient's ID with the
// model's salt.
const KeySchemeHMAC = "hmac-sha256"

// PatientKeys records in the manifest how a model turns a patient's ID into
// the opaque key under which its files (recommender.bin, cases.jsonl,
// train_keys.json) and an external index know the training patients, so
// that a model directory holds no hospital ID. The key of a patient given
// to Respond is computed from its ID to exclude a training patient's own
// record. The keys are pseudonyms, not anonymity: whoever holds the model
// and a list of candidate IDs can compute their keys and find which were
// training patients.
type PatientKeys struct {
	// Scheme is KeySchemeHMAC.
	Scheme string `json:"scheme"`
	// Salt is the HMAC key, in hex.
	Salt string `json:"salt"`
}

// keyer turns patient IDs into a model's keys. A nil *keyer is the
// identity: models saved before PatientKeys keyed their patients by ID.
type keyer struct {
	salt []byte
}

// newKeyer returns the keyer of a training: with salt when given, else
// with a salt derived from the seed and the cohort's digest, so that a
// training is reproducible byte for byte.
func newKeyer(salt []byte, seed uint64, digest string) *keyer {
	if len(salt) == 0 {
		h := sha256.New()
		h.Write([]byte("pmlm patient keys\x00" + digest + "\x00" + strconv.FormatUint(seed, 10)))
		salt = h.Sum(nil)
	}
	return &keyer{salt: append([]byte(nil), salt...)}
}

// keyerOf returns the keyer a manifest records (nil: keyed by ID).
func keyerOf(pk *PatientKeys) (*keyer, error) {
	if pk == nil {
		return nil, nil
	}
	if pk.Scheme != KeySchemeHMAC {
		return nil, fmt.Errorf("%w: %s: patient key scheme %q, want %q", ErrModel, ManifestFile, pk.Scheme, KeySchemeHMAC)
	}
	salt, err := hex.DecodeString(pk.Salt)
	if err != nil || len(salt) < 16 {
		return nil, fmt.Errorf("%w: %s: the patient key salt is not 16 or more bytes in hex", ErrModel, ManifestFile)
	}
	return &keyer{salt: salt}, nil
}

// info returns the manifest's record of k (nil for the identity).
func (k *keyer) info() *PatientKeys {
	if k == nil {
		return nil
	}
	return &PatientKeys{Scheme: KeySchemeHMAC, Salt: hex.EncodeToString(k.salt)}
}

// key returns the key of the patient with the ID.
func (k *keyer) key(id string) string {
	if k == nil {
		return id
	}
	mac := hmac.New(sha256.New, k.salt)
	mac.Write([]byte(id))
	return "k" + hex.EncodeToString(mac.Sum(nil)[:16])
}

// keys returns the keys of the IDs (nil for none).
func (k *keyer) keys(ids []string) []string {
	if len(ids) == 0 {
		return nil
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = k.key(id)
	}
	return out
}

// trainingDigest is the digest of what a model's training patients tell a
// Bayes refinement about them: each patient's key, label and reply, in key
// order, length-prefixed so that no two different records hash alike. The
// manifest records it (DataInfo.TrainingDigest), so that data whose
// patients carry the training keys but edited labels or replies are
// refused rather than used as if they were the model's.
func trainingDigest(k *keyer, patients []*cohort.Patient) string {
	type record struct{ key, label, reply string }
	recs := make([]record, len(patients))
	for i, pt := range patients {
		recs[i] = record{k.key(pt.ID), pt.Label, pt.Response}
	}
	slices.SortFunc(recs, func(a, b record) int { return strings.Compare(a.key, b.key) })
	h := sha256.New()
	w := fieldhash.New(h, binary.LittleEndian)
	for _, r := range recs {
		w.String(r.key)
		w.String(r.label)
		w.String(r.reply)
	}
	return hex.EncodeToString(h.Sum(nil))
}
