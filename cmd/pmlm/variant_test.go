package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/pmlm/experiment"
)

func TestVariantFlags(t *testing.T) {
	var v variantFlags
	require.NoError(t, v.Set("blend:baseline-decay=0.9,entropy-bonus=0.001"))
	require.NoError(t, v.Set("more:actions=replace,warm-start=true,episodes=1694,epochs=3,lr=0.0005"))
	assert.Equal(t, variantFlags{
		{Name: "blend", BaselineDecay: 0.9, EntropyBonus: 0.001},
		{Name: "more", Actions: "replace", WarmStart: true, Episodes: 1694, Epochs: 3, LearningRate: 0.0005},
	}, v)
	for _, bad := range []string{"noname", ":actions=replace", "x:actions", "x:rate=1", "x:lr=fast", "x:episodes=many", "x:warm-start=maybe"} {
		assert.Error(t, v.Set(bad), bad)
	}
	assert.Len(t, []experiment.Refinement(v), 2, "bad values are not added")
}
