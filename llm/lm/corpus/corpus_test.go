package corpus

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testLabels = []string{"normal", "uterine scar", "gestational diabetes", "thalassemia", "placental dysfunction"}

// testCases returns n cases per label of testLabels (none for the last),
// each reply naming its label and its number.
func testCases(n int) []Case {
	var cs []Case
	for _, l := range testLabels[:len(testLabels)-1] {
		for i := range n {
			cs = append(cs, Case{Label: l, Reply: fmt.Sprintf("Advice for %s, reply %d.", l, i)})
		}
	}
	return cs
}

// replyLabel recovers the label a test reply was written for.
func replyLabel(reply string) string {
	for _, l := range testLabels {
		if strings.HasPrefix(reply, "Advice for "+l+",") {
			return l
		}
	}
	return ""
}

func TestBuildDefaults(t *testing.T) {
	cases := testCases(20)
	pairs, err := Build(cases, testLabels, ObstetricIndicators(), Options{Seed: 1, Signatures: ObstetricSignatures()})
	require.NoError(t, err)
	n := Counts(pairs)
	assert.Equal(t, map[Kind]int{
		KindSingle:       DefaultSinglePerCase * len(cases),
		KindDifferential: DefaultDifferentialPerCase * len(cases),
		KindLikelihood:   DefaultLikelihoodPerCase * len(cases),
		KindLab:          DefaultLabPerIndicator * 35,
		KindSignature:    DefaultPerSignature * len(ObstetricSignatures()),
	}, n)
	// Grouped by kind, in the order of Kinds.
	var kinds []Kind
	for _, p := range pairs {
		if len(kinds) == 0 || kinds[len(kinds)-1] != p.Kind {
			kinds = append(kinds, p.Kind)
		}
	}
	assert.Equal(t, Kinds(), kinds)
	for _, p := range pairs {
		assert.NotEmpty(t, strings.TrimSpace(p.Input))
		assert.NotEmpty(t, strings.TrimSpace(p.Output))
		assert.Equal(t, p.Input, strings.TrimSpace(p.Input))
	}
}

func TestBuildIsDeterministic(t *testing.T) {
	a, err := Build(testCases(10), testLabels, ObstetricIndicators(), Options{Seed: 7})
	require.NoError(t, err)
	b, err := Build(testCases(10), testLabels, ObstetricIndicators(), Options{Seed: 7})
	require.NoError(t, err)
	assert.Equal(t, a, b)
	c, err := Build(testCases(10), testLabels, ObstetricIndicators(), Options{Seed: 8})
	require.NoError(t, err)
	assert.NotEqual(t, Inputs(a), Inputs(c))
}

func TestBuildLeavesCasesAlone(t *testing.T) {
	cases := testCases(5)
	before := slices.Clone(cases)
	_, err := Build(cases, testLabels, nil, Options{Seed: 1})
	require.NoError(t, err)
	assert.Equal(t, before, cases)
}

// Every diagnosis pair's reply belongs to a patient whose diagnosis the
// input names, and the candidates are what the input says.
func TestReplyDiagnosisIsAmongCandidates(t *testing.T) {
	pairs, err := Build(testCases(15), testLabels, nil, Options{Seed: 3})
	require.NoError(t, err)
	for _, p := range pairs {
		require.NotEqual(t, KindLab, p.Kind)
		assert.Equal(t, p.Label, replyLabel(p.Output), p.Input)
		require.NotEmpty(t, p.Candidates)
		var names []string
		for _, c := range p.Candidates {
			names = append(names, c.Label)
			assert.Positive(t, c.Weight)
			assert.Contains(t, p.Input, c.Label, "a candidate the input does not name")
			assert.NotEqual(t, "placental dysfunction", c.Label, "a label without cases was named")
		}
		assert.Contains(t, names, p.Label, p.Input)
		// Every label the input names is a candidate.
		for _, l := range testLabels {
			if strings.Contains(strings.ToLower(p.Input), l) {
				assert.Contains(t, names, l, p.Input)
			}
		}
	}
}

// The reply's diagnosis follows the stated weights: over many mixtures,
// each candidate is the reply's diagnosis as often as its weight share
// predicts, and the dominant candidate clearly more often than chance.
func TestReplyFollowsStatedWeights(t *testing.T) {
	pairs, err := Build(testCases(50), testLabels, nil, Options{Seed: 11, SinglePerCase: -1, DifferentialPerCase: 10, LikelihoodPerCase: 10, Deletion: -1})
	require.NoError(t, err)
	for _, kind := range []Kind{KindDifferential, KindLikelihood} {
		var expTop, gotTop, varTop, uniform float64
		for _, p := range pairs {
			if p.Kind != kind || len(p.Candidates) < 2 {
				continue
			}
			total, best := 0.0, 0
			for i, c := range p.Candidates {
				total += c.Weight
				if c.Weight > p.Candidates[best].Weight {
					best = i
				}
			}
			q := p.Candidates[best].Weight / total
			expTop += q
			varTop += q * (1 - q)
			uniform += 1 / float64(len(p.Candidates))
			if p.Label == p.Candidates[best].Label {
				gotTop++
			}
		}
		require.Positive(t, varTop, kind)
		sd := math.Sqrt(varTop)
		assert.InDelta(t, expTop, gotTop, 4*sd, "%s: the dominant candidate won %v times, expected %v", kind, gotTop, expTop)
		assert.Greater(t, gotTop, uniform+6*sd, "%s: the weights must matter", kind)
	}
}

// With a leading diagnosis, its weight is the counts' weight plus
// LeadWeight of the total.
func TestLeadWeight(t *testing.T) {
	pairs, err := Build(testCases(10), testLabels, nil, Options{Seed: 2, SinglePerCase: -1, LikelihoodPerCase: -1, Lead: 1, LeadWeight: 2, Deletion: -1})
	require.NoError(t, err)
	for _, p := range pairs {
		var lead string
		for _, f := range leadForms {
			prefix := strings.SplitN(f, "%s", 2)[0]
			if i := strings.Index(p.Input, prefix); i >= 0 {
				rest := p.Input[i+len(prefix):]
				lead = rest[:strings.Index(rest, ".")]
			}
		}
		require.NotEmpty(t, lead, p.Input)
		var leadW, total float64
		for _, c := range p.Candidates {
			total += c.Weight
			if c.Label == lead {
				leadW = c.Weight
			}
		}
		// total = counts + bonus, bonus = 2 × counts.
		assert.GreaterOrEqual(t, leadW, total*2/3-1e-9, p.Input)
	}
}

// Many labels and candidates: counts stay positive (a percentage split
// of 100 cannot hold more than 100 candidates).
func TestManyCandidates(t *testing.T) {
	var labels []string
	var cases []Case
	for i := range 150 {
		l := fmt.Sprintf("condition %d", i)
		labels = append(labels, l)
		cases = append(cases, Case{Label: l, Reply: "advice " + l})
	}
	pairs, err := Build(cases, labels, nil, Options{Seed: 9, MaxCandidates: 1000, SinglePerCase: -1, LikelihoodPerCase: -1})
	require.NoError(t, err)
	for _, p := range pairs {
		for _, c := range p.Candidates {
			require.Positive(t, c.Weight, p.Input)
		}
		assert.Equal(t, "advice "+p.Label, p.Output)
	}
}

func TestCaseHasNoIdentifier(t *testing.T) {
	ty := reflect.TypeFor[Case]()
	var fields []string
	for i := range ty.NumField() {
		fields = append(fields, ty.Field(i).Name)
	}
	assert.Equal(t, []string{"Label", "Reply"}, fields, "a Case carries a diagnosis and a reply, nothing that identifies a patient")
}

func TestBuildErrors(t *testing.T) {
	good := testCases(2)
	inds := ObstetricIndicators()
	badInd := inds[0]
	badInd.Low, badInd.High = 9, 5
	for name, tc := range map[string]struct {
		cases  []Case
		labels []string
		inds   []Indicator
		opt    Options
	}{
		"no cases":            {nil, testLabels, inds, Options{}},
		"no labels":           {good, nil, inds, Options{}},
		"empty label":         {good, append([]string{""}, testLabels...), inds, Options{}},
		"duplicate label":     {good, append([]string{"normal"}, testLabels...), inds, Options{}},
		"unknown case label":  {[]Case{{Label: "flu", Reply: "rest"}}, testLabels, inds, Options{}},
		"empty reply":         {[]Case{{Label: "normal", Reply: "  "}}, testLabels, inds, Options{}},
		"bad indicator":       {good, testLabels, []Indicator{badInd}, Options{}},
		"one candidate":       {good, testLabels, inds, Options{MaxCandidates: 1}},
		"share above one":     {good, testLabels, inds, Options{Lead: 1.5}},
		"NaN option":          {good, testLabels, inds, Options{Preamble: math.NaN()}},
		"nothing asked for":   {good, testLabels, nil, Options{SinglePerCase: -1, DifferentialPerCase: -1, LikelihoodPerCase: -1}},
		"infinite LeadWeight": {good, testLabels, inds, Options{LeadWeight: math.Inf(1)}},
		"huge LeadWeight":     {good, testLabels, inds, Options{LeadWeight: 1e9}},
		"too many pairs":      {good, testLabels, inds, Options{SinglePerCase: math.MaxInt / 4}},
		"Context above one":   {good, testLabels, inds, Options{Context: 1.5}},
		"NaN Deletion":        {good, testLabels, inds, Options{Deletion: math.NaN()}},
		"DeleteOther above 1": {good, testLabels, inds, Options{DeleteOther: 2}},
		"infinite Context":    {good, testLabels, inds, Options{Context: math.Inf(1)}},
		"huge MaxContext":     {good, testLabels, inds, Options{MaxContext: MaxMaxContext + 1}},
		"huge MaxDeleted":     {good, testLabels, inds, Options{MaxDeleted: MaxMaxDeleted + 1}},
		"label with a mark":   {[]Case{{Label: "a\ue001b", Reply: "r"}}, []string{"a\ue001b"}, inds, Options{}},
		"label with 2 spaces": {[]Case{{Label: "a  b", Reply: "r"}}, []string{"a  b"}, inds, Options{}},
		"label with a margin": {[]Case{{Label: " a", Reply: "r"}}, []string{" a"}, inds, Options{}},
	} {
		t.Run(name, func(t *testing.T) {
			pairs, err := Build(tc.cases, tc.labels, tc.inds, tc.opt)
			require.ErrorIs(t, err, ErrInput)
			assert.Nil(t, pairs)
		})
	}
}

func TestIndicatorValidate(t *testing.T) {
	for _, in := range ObstetricIndicators() {
		require.NoError(t, in.Validate(), in.Name)
	}
	base := Indicator{Name: "X", Description: "x", Min: 0, Max: 10, Low: 2, High: 8}
	for name, mod := range map[string]func(*Indicator){
		"empty name":        func(in *Indicator) { in.Name = " " },
		"empty description": func(in *Indicator) { in.Description = "" },
		"NaN min":           func(in *Indicator) { in.Min = math.NaN() },
		"inverted range":    func(in *Indicator) { in.Min, in.Max = 10, 0 },
		"bound outside":     func(in *Indicator) { in.High = 11 },
		"inverted interval": func(in *Indicator) { in.Low, in.High = 8, 2 },
		"decimals":          func(in *Indicator) { in.Decimals = 7 },
	} {
		in := base
		mod(&in)
		assert.ErrorIs(t, in.Validate(), ErrInput, name)
	}
	assert.NoError(t, base.Validate())
}

func TestInterpret(t *testing.T) {
	var hgb Indicator
	for _, in := range ObstetricIndicators() {
		if in.Name == "HGB" {
			hgb = in
		}
	}
	assert.Equal(t, "A haemoglobin of 95 g/L is below the reference interval of 110–150 g/L: "+hgb.Below+".", hgb.Interpret(95))
	assert.Equal(t, "A haemoglobin of 120 g/L is within the reference interval of 110–150 g/L: normal.", hgb.Interpret(120))
	assert.Contains(t, hgb.Interpret(160), "is above the reference interval of 110–150 g/L: haemoconcentration")
	// Bounds are inside the interval.
	assert.Equal(t, 0, hgb.Class(110))
	assert.Equal(t, 0, hgb.Class(150))

	upper := Indicator{Name: "TBA", Description: "total bile acid", Unit: "µmol/L", Min: 0, Max: 500, Low: math.NaN(), High: 10, Decimals: 1}
	assert.Equal(t, "A total bile acid of 4.0 µmol/L is under the upper reference limit of 10.0 µmol/L: normal.", upper.Interpret(4))
	assert.Equal(t, "A total bile acid of 14.0 µmol/L is above the upper reference limit of 10.0 µmol/L: high; recheck and read it with the rest of the panel.", upper.Interpret(14))

	none := Indicator{Name: "P-LCC", Description: "large platelet count", Unit: "10^9/L", Min: 0, Max: 400, Low: math.NaN(), High: math.NaN()}
	assert.Equal(t, "No reference interval in pregnancy is established for large platelet count; 72 10^9/L lies within the measurable range of 0–400 10^9/L and is read together with the related indices.", none.Interpret(72))

	ph := Indicator{Name: "pH", Description: "urine pH", Min: 4.5, Max: 9, Low: 4.6, High: 8, Decimals: 1}
	assert.Equal(t, "A urine pH of 6.5 is within the reference interval of 4.6–8: normal.", ph.Interpret(6.5))
	alb := Indicator{Name: "ALB", Description: "albumin", Unit: "g/L", Min: 15, Max: 60, Low: 23, High: 42}
	assert.True(t, strings.HasPrefix(alb.Interpret(30), "An albumin of 30 g/L"))
}

// Lab outputs state the class of the value the input shows, and the
// values cover all three zones.
func TestLabPairsAreHonest(t *testing.T) {
	inds := ObstetricIndicators()
	pairs, err := Build(testCases(1), testLabels, inds, Options{Seed: 5, SinglePerCase: -1, DifferentialPerCase: -1, LikelihoodPerCase: -1, LabPerIndicator: 60})
	require.NoError(t, err)
	require.Len(t, pairs, 60*len(inds))
	seen := map[string]bool{}
	for _, p := range pairs {
		require.Equal(t, KindLab, p.Kind)
		assert.Empty(t, p.Label)
		assert.Nil(t, p.Candidates)
		for _, w := range []string{"below", "within", "above", "under", "No reference interval"} {
			if strings.Contains(p.Output, w) {
				seen[w] = true
			}
		}
	}
	for _, w := range []string{"below", "within", "above", "under", "No reference interval"} {
		assert.True(t, seen[w], w)
	}
	// One value per input: the output is the interpretation of exactly
	// that value.
	for _, in := range inds {
		for _, v := range []float64{in.Min, in.Max, (in.Min + in.Max) / 2} {
			out := in.Interpret(v)
			assert.Contains(t, out, in.Format(v))
		}
	}
}

func TestTrend(t *testing.T) {
	assert.Equal(t, "falling", Trend(128, 104))
	assert.Equal(t, "rising", Trend(104, 128))
	assert.Equal(t, "stable", Trend(120, 117))
	assert.Equal(t, "stable", Trend(0, 0))
}

func TestNGramOverlap(t *testing.T) {
	corpus := []string{"Discharge diagnosis: thalassemia.", "Likely gestational diabetes, possibly normal."}
	prompts := []string{"Her diagnosis: thalassemia, likely."}
	// Tokens: her diagnosis thalassemia likely.
	got, err := NGramOverlap(corpus, prompts, 1)
	require.NoError(t, err)
	assert.InDelta(t, 3.0/4, got, 1e-12)
	got, err = NGramOverlap(corpus, prompts, 2)
	require.NoError(t, err)
	assert.InDelta(t, 1.0/3, got, 1e-12) // "diagnosis thalassemia"
	got, err = NGramOverlap(corpus, prompts, 3)
	require.NoError(t, err)
	assert.Zero(t, got)
	got, err = NGramOverlap(prompts, prompts, 4)
	require.NoError(t, err)
	assert.Equal(t, 1.0, got)

	_, err = NGramOverlap(corpus, prompts, 0)
	assert.ErrorIs(t, err, ErrInput)
	_, err = NGramOverlap(corpus, prompts, 5)
	assert.ErrorIs(t, err, ErrInput, "the prompt has only 4 words")
	_, err = NGramOverlap(corpus, nil, 1)
	assert.ErrorIs(t, err, ErrInput)
	assert.Equal(t, []string{"10", "9", "l", "heart", "rate"}, Tokens("10^9/L, heart-rate"))
}

// TestShowSample prints a few pairs of each kind with -v, for reading.
func TestShowSample(t *testing.T) {
	pairs, err := Build(testCases(10), testLabels, ObstetricIndicators(), Options{Seed: 1, Signatures: ObstetricSignatures()})
	require.NoError(t, err)
	shown := map[Kind]int{}
	for _, p := range pairs {
		if shown[p.Kind] < 6 {
			shown[p.Kind]++
			t.Logf("%-12s %s\n%14s→ %.300s", p.Kind, p.Input, "", p.Output)
		}
	}
}

func TestWithKnowledge(t *testing.T) {
	known := ObstetricIndicators()
	catalogue := []Indicator{
		{Name: "HGB", Description: "hemoglobin", Unit: "g/L", Min: 30, Max: 200},
		{Name: "HGB2", Description: "haemoglobin", Unit: "g/L", Min: 30, Max: 200},              // unknown name
		{Name: "ALT", Description: "alanine aminotransferase", Unit: "µkat/L", Min: 0, Max: 50}, // other unit
		{Name: "PLT", Description: "platelets", Unit: "10^9/L", Min: 200, Max: 900},             // interval outside
		{Name: "CRP", Description: "C-reactive protein", Unit: "mg/L", Min: 0, Max: 5},
	}
	got := WithKnowledge(catalogue, known)
	require.Len(t, got, len(catalogue))
	assert.Equal(t, "hemoglobin", got[0].Description, "the catalogue's own words are kept")
	assert.Equal(t, 110.0, got[0].Low)
	assert.Equal(t, 150.0, got[0].High)
	assert.NotEmpty(t, got[0].Below)
	for _, in := range got[1:] {
		assert.True(t, math.IsNaN(in.Low) && math.IsNaN(in.High), in.Name)
		assert.Empty(t, in.Below+in.Above+in.Source, in.Name)
		assert.NoError(t, in.Validate())
	}
	assert.Equal(t, []int{0, 0, 1, 0, 2}, []int{got[0].Decimals, got[1].Decimals, got[2].Decimals, got[3].Decimals, got[4].Decimals})
}

func TestSignatures(t *testing.T) {
	inds := ObstetricIndicators()
	sigs := ObstetricSignatures()
	names := map[string]bool{}
	for _, in := range inds {
		names[in.Name] = true
	}
	for _, s := range sigs {
		require.NoError(t, s.Validate())
		for _, sg := range s.Signs {
			assert.True(t, names[sg.Name], "%s: unknown indicator %s", s.Condition, sg.Name)
		}
	}
	pairs, err := Build(testCases(1), testLabels, inds, Options{Seed: 4, SinglePerCase: -1, DifferentialPerCase: -1,
		LikelihoodPerCase: -1, LabPerIndicator: -1, Signatures: sigs, PerSignature: 40})
	require.NoError(t, err)
	require.Len(t, pairs, 40*len(sigs))
	valueForms := 0
	for i, p := range pairs {
		s := sigs[i/40]
		assert.Equal(t, KindSignature, p.Kind)
		assert.True(t, strings.HasSuffix(p.Output, s.Text), p.Output)
		if strings.Contains(p.Input, s.Condition) {
			continue // a question about the condition
		}
		// Values showing the pattern: every sign's indicator is named, and
		// the output says which way each value lies.
		valueForms++
		for _, sg := range s.Signs {
			assert.Contains(t, p.Input, sg.Name+" ")
		}
		low := strings.Count(p.Output, " is low")
		high := strings.Count(p.Output, " is high")
		want := 0
		for _, sg := range s.Signs {
			if sg.Dir < 0 {
				want++
			}
		}
		assert.LessOrEqual(t, low, want, p.Output)
		assert.LessOrEqual(t, high, len(s.Signs)-want, p.Output)
		assert.GreaterOrEqual(t, low+high, len(s.Signs)-1, "rounding may put at most one value on a bound: %s", p.Output)
	}
	assert.Greater(t, valueForms, 100)

	_, err = Build(testCases(1), testLabels, inds, Options{Signatures: []Signature{{Condition: "x", Text: "y", Signs: []Sign{{"HGB", 2}}}}})
	assert.ErrorIs(t, err, ErrInput)
	_, err = Build(testCases(1), testLabels, append(inds, inds[0]), Options{})
	assert.ErrorIs(t, err, ErrInput, "an indicator listed twice")
}

// FuzzBuild: whatever the labels, replies and options, Build returns an
// ErrInput error or pairs that keep its promises; it never panics.
func FuzzBuild(f *testing.F) {
	f.Add("normal", "thalassemia", "Rest and iron.", 2, 2, 1, 3, 4, 0.4, 0.5, 0.4, uint64(1))
	f.Add("a", "a", "", 0, 0, 0, 0, 0, 0.0, 0.0, 0.0, uint64(2))
	f.Add("x, y", "%s %d", "reply", -1, 5, 5, -1, 2, 1.0, 100.0, 1.0, uint64(3))
	f.Fuzz(func(t *testing.T, l1, l2, reply string, single, diff, lik, lab, maxCand int, lead, leadW, pre float64, seed uint64) {
		clamp := func(n int) int { return max(-1, min(n, 5)) } // keep the corpus small
		opt := Options{Seed: seed, SinglePerCase: clamp(single), DifferentialPerCase: clamp(diff), LikelihoodPerCase: clamp(lik),
			LabPerIndicator: clamp(lab), MaxCandidates: maxCand, Lead: lead, LeadWeight: leadW, Preamble: pre,
			Signatures: ObstetricSignatures()[:2], PerSignature: clamp(lab)}
		cases := []Case{{Label: l1, Reply: reply}, {Label: l2, Reply: reply + "."}}
		pairs, err := Build(cases, []string{l1, l2}, ObstetricIndicators()[:3], opt)
		if err != nil {
			require.ErrorIs(t, err, ErrInput)
			return
		}
		require.NotEmpty(t, pairs)
		for _, p := range pairs {
			if p.Kind == KindLab || p.Kind == KindSignature {
				continue
			}
			var names []string
			for _, c := range p.Candidates {
				names = append(names, c.Label)
				require.True(t, c.Weight > 0 && !math.IsInf(c.Weight, 0))
			}
			require.Contains(t, names, p.Label)
		}
	})
}
