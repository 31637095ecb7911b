package prompt

import (
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/encoder/mlp"
	"github.com/pmlm-go/pmlm/similarity"
)

func TestFromNeighbors(t *testing.T) {
	nb := []similarity.Neighbor{
		{Index: 4, Similarity: 0.9, Label: "thalassemia"},
		{Index: 7, Similarity: 0.8, Label: "normal"},
		{Index: 1, Similarity: 0.7, Label: "normal"},
		{Index: 9, Similarity: 0.5, Label: "uterine scar"},
		{Index: 2, Similarity: 0.4, Label: "thalassemia"},
		{Index: 3, Similarity: 0.2, Label: "gestational diabetes"},
	}
	d := FromNeighbors("normal", nb)
	assert.Equal(t, "normal", d.PredictedLabel)
	assert.Equal(t, 6, d.K)
	// Counts first; thalassemia beats normal on the tie because its first
	// patient is more similar.
	require.Len(t, d.Similar, 4)
	assert.Equal(t, []string{"thalassemia", "normal", "uterine scar", "gestational diabetes"},
		[]string{d.Similar[0].Label, d.Similar[1].Label, d.Similar[2].Label, d.Similar[3].Label})
	assert.Equal(t, []int{2, 2, 1, 1}, []int{d.Similar[0].Count, d.Similar[1].Count, d.Similar[2].Count, d.Similar[3].Count})
	assert.InDelta(t, 0.65, d.Similar[0].MeanSimilarity, 1e-6)
	assert.InDelta(t, 0.75, d.Similar[1].MeanSimilarity, 1e-6)
}

func TestRenderDefault(t *testing.T) {
	tp := Default()
	d := FromNeighbors("gestational diabetes", []similarity.Neighbor{
		{Label: "gestational diabetes"}, {Label: "normal"}, {Label: "gestational diabetes"},
	})
	p, err := tp.Render(d)
	require.NoError(t, err)
	assert.Contains(t, p, "predicted discharge diagnosis is gestational diabetes.")
	assert.Contains(t, p, "among the 3 most similar past patients, the discharge diagnosis was gestational diabetes for 2 and normal for 1.")
	assert.Equal(t, p, Join(Words(p)), "rendered prompts are in canonical word form")
	assert.NotContains(t, p, "\n")

	// Three or more labels get an Oxford-comma list.
	d = FromNeighbors("normal", []similarity.Neighbor{{Label: "a"}, {Label: "b"}, {Label: "c"}})
	p, err = tp.Render(d)
	require.NoError(t, err)
	assert.Contains(t, p, "was a for 1, b for 1, and c for 1.")

	// No neighbours.
	p, err = tp.Render(Data{PredictedLabel: "normal"})
	require.NoError(t, err)
	assert.Contains(t, p, "no similar past patients are available.")
}

// TestDefaultLength keeps the default prompt at 60–120 words for every
// neighbourhood shape of k = 10 over the obstetric labels.
func TestDefaultLength(t *testing.T) {
	labels := []string{"normal", "uterine scar", "gestational diabetes", "umbilical cord entanglement",
		"premature rupture of membranes", "thalassemia", "hypothyroidism in pregnancy",
		"acute fetal distress, heart-rate type", "gestational hypertension",
		"acute fetal distress, amniotic-fluid type", "placental dysfunction", "uterine rupture"}
	rng := rand.New(rand.NewPCG(1, 2))
	tp := Default()
	lo, hi := math.MaxInt, 0
	for trial := 0; trial < 200; trial++ {
		distinct := 1 + rng.IntN(10)
		nb := make([]similarity.Neighbor, 10)
		for i := range nb {
			nb[i].Label = labels[(trial+rng.IntN(distinct))%len(labels)]
		}
		p, err := tp.Render(FromNeighbors(labels[rng.IntN(len(labels))], nb))
		require.NoError(t, err)
		n := len(Words(p))
		lo, hi = min(lo, n), max(hi, n)
	}
	t.Logf("default prompt length over 200 neighbourhoods: %d to %d words", lo, hi)
	assert.GreaterOrEqual(t, lo, 60)
	assert.LessOrEqual(t, hi, 120)
}

func TestCustomTemplate(t *testing.T) {
	tp, err := NewTemplate("Predicted: {{.PredictedLabel}}. Peers:{{range .Similar}} {{.Label}} ({{.Count}}, {{printf \"%.2f\" .MeanSimilarity}}){{end}}")
	require.NoError(t, err)
	p, err := tp.Render(FromNeighbors("normal", []similarity.Neighbor{{Label: "x", Similarity: 0.5}}))
	require.NoError(t, err)
	assert.Equal(t, "Predicted: normal. Peers: x (1, 0.50)", p)

	// A template cannot reach what Data does not hold.
	for _, bad := range []string{"{{.ID}}", "{{.Values}}", "{{.PatientID}}", "{{range .Visits}}{{end}}", "{{.PredictedLabel", "{{nosuchfunc 1}}"} {
		_, err := NewTemplate(bad)
		assert.Error(t, err, bad)
	}
}

func TestRenderRejectsBadData(t *testing.T) {
	tp := Default()
	for _, d := range []Data{
		{},
		{PredictedLabel: " "},
		{PredictedLabel: "normal", K: 2, Similar: []LabelCount{{Label: "a", Count: 1}}},
		{PredictedLabel: "normal", K: 1, Similar: []LabelCount{{Label: "", Count: 1}}},
		{PredictedLabel: "normal", K: 0, Similar: []LabelCount{{Label: "a", Count: 0}}},
	} {
		_, err := tp.Render(d)
		assert.ErrorIs(t, err, ErrData, "%+v", d)
	}
}

// TestNoIdentifiersOrValues runs the whole path — visits → encoder →
// recommender → prompt — over patients whose identifiers and laboratory
// values are distinctive, and checks that none of them reaches a prompt and
// that the only numbers in a prompt are neighbour counts.
func TestNoIdentifiersOrValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	labels := []string{"normal", "thalassemia", "uterine scar"}
	const n, metrics = 40, 6
	ids := make([]string, n)
	patients := make([][][]float64, n)
	truth := make([]string, n)
	var values []float64
	for i := range patients {
		ids[i] = fmt.Sprintf("PID-%04d-QZX%d", 7000+i, 91*i+13)
		truth[i] = labels[i%3]
		visits := make([][]float64, 1+rng.IntN(5))
		for v := range visits {
			row := make([]float64, metrics)
			for m := range row {
				// Distinctive values: 5 significant digits, never a
				// small integer.
				row[m] = 1234.5678 + 97.31*float64(i) + 11.17*float64(m) + rng.Float64()
				values = append(values, row[m])
			}
			visits[v] = row
		}
		patients[i] = visits
	}
	std, err := mlp.FitStandardizer(patients)
	require.NoError(t, err)
	enc, err := mlp.New(mlp.Config{MaxVisits: 5, Metrics: metrics, Hidden: 16, Out: 8}, std, 5)
	require.NoError(t, err)
	vecs := make([][]float32, n)
	for i, p := range patients {
		vecs[i], err = enc.Encode(p)
		require.NoError(t, err)
	}
	rec, err := similarity.NewExact(vecs, truth)
	require.NoError(t, err)
	number := regexp.MustCompile(`[0-9]+`)
	tp := Default()
	for i := range patients {
		nb, err := rec.TopK(vecs[i], 10, i)
		require.NoError(t, err)
		d := FromNeighbors(labels[(i+1)%3], nb)
		p, err := tp.Render(d)
		require.NoError(t, err)
		for _, id := range ids {
			assert.NotContains(t, p, id)
			assert.NotContains(t, p, strings.TrimPrefix(id, "PID-")[:4])
		}
		for _, v := range values {
			for _, f := range []string{"%g", "%.1f", "%.2f", "%.0f"} {
				assert.NotContains(t, p, fmt.Sprintf(f, v))
			}
		}
		allowed := map[string]bool{strconv.Itoa(d.K): true}
		for _, c := range d.Similar {
			allowed[strconv.Itoa(c.Count)] = true
		}
		for _, num := range number.FindAllString(p, -1) {
			assert.True(t, allowed[num], "prompt %q holds the number %s, which is no count", p, num)
		}
	}
}
