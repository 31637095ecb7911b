package pmlm_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/similarity"
)

// Issue 15 item 17: a model directory knows its training patients by
// opaque keys only: no file holds a patient's ID. The exclusions still
// hold after Load: a training patient is not its own neighbour, and the
// case responder does not answer it with its own reply.
func TestModelDirectoryHoldsNoPatientIDs(t *testing.T) {
	p, c := trainedOrFail(t)
	dir := filepath.Join(t.TempDir(), "model")
	require.NoError(t, p.Save(dir))
	m, err := pmlm.ReadManifest(dir)
	require.NoError(t, err)
	require.NotNil(t, m.PatientKeys)
	assert.Equal(t, pmlm.KeySchemeHMAC, m.PatientKeys.Scheme)

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		var found []string
		for _, pt := range c.Patients {
			if bytes.Contains(raw, []byte(pt.ID)) {
				found = append(found, pt.ID)
			}
		}
		assert.Empty(t, found, "%s holds patient IDs", e.Name())
	}
	assert.Contains(t, names, "cases.jsonl", "trained with StoreCases and the case responder")

	q, err := pmlm.Load(context.Background(), dir, pmlm.LoadOptions{})
	require.NoError(t, err)
	b := q.PromptBuilder()
	train, _, _ := c.Split(cohort.DefaultSplit())
	keysOf := func(nb []similarity.Neighbor) []string {
		var out []string
		for _, n := range nb {
			out = append(out, n.Key)
		}
		return out
	}
	for _, pt := range train[:10] {
		key := b.PatientKey(pt.ID)
		assert.NotEqual(t, pt.ID, key)
		nb, err := b.Similar(context.Background(), pt.Matrix(), 3, nil)
		require.NoError(t, err)
		assert.Contains(t, keysOf(nb), key, "unexcluded, a training patient is among its own nearest references")
		nb, err = b.Similar(context.Background(), pt.Matrix(), 3, []string{pt.ID})
		require.NoError(t, err)
		assert.NotContains(t, keysOf(nb), key)
		a, err := q.Respond(context.Background(), pt, pmlm.RespondOptions{Coarse: true})
		require.NoError(t, err)
		assert.NotEqual(t, pt.Response, a.Response.Text)
		assert.NotEqual(t, pt.Response, a.CoarseResponse.Text)
	}
}

// Issue 15 item 17: the case responder's model stores the patients'
// replies only by explicit choice (TrainOptions.StoreCases); Save refuses
// otherwise, saying why and how, and writes nothing.
func TestSaveStoresCasesOnlyByChoice(t *testing.T) {
	c, err := smallCohort()
	require.NoError(t, err)
	p, err := pmlm.Train(context.Background(), c, pmlm.TrainOptions{
		CrossFitFolds: 1, MaxEpisodes: 4, MaxValidation: 2, BatchSize: 4, Epochs: 1, Seed: 3,
	})
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "model")
	err = p.Save(dir)
	require.ErrorIs(t, err, pmlm.ErrStoreCases)
	assert.Contains(t, err.Error(), "StoreCases")
	_, err = os.Stat(dir)
	assert.True(t, os.IsNotExist(err), "nothing written")
}

// The patient keys depend on the salt: two salts give two sets of keys,
// and the default salt is reproducible.
func TestPatientKeysFollowTheSalt(t *testing.T) {
	p, c := trainedOrFail(t)
	id := c.Patients[0].ID
	k1 := p.PromptBuilder().PatientKey(id)
	assert.Regexp(t, `^k[0-9a-f]{32}$`, k1)
	assert.NotEqual(t, k1, p.PromptBuilder().PatientKey(c.Patients[1].ID))
	keys := []string{k1}
	for _, salt := range [][]byte{nil, []byte("0123456789abcdef")} {
		b, err := pmlm.NewPromptBuilder(context.Background(), c, pmlm.TrainOptions{Seed: 7, KeySalt: salt, NoSelfPersonalization: true})
		require.NoError(t, err)
		keys = append(keys, b.PatientKey(id))
	}
	assert.Equal(t, keys[0], keys[1], "the default salt depends on the seed and the data only")
	assert.NotEqual(t, keys[0], keys[2])
	assert.False(t, slices.Contains(keys, id))
}
