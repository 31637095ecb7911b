package pmlm

import (
	"fmt"
	"slices"

	"github.com/pmlm-go/pmlm/policy"
	"github.com/pmlm-go/pmlm/similarity"
)

// The optional interfaces through which Load compares the parts with the
// manifest and with each other. The built-in parts implement them; a
// plug-in part that does not is checked as far as it can be.
type (
	// classified is a fitted label predictor that knows its number of
	// classes and of input channels (predict.GBDTClassifier,
	// predict.MiniRocketClassifier, predict.NeuralClassifier).
	classified interface {
		NumClasses() int
		NumChannels() int
	}
	// metricReader is a patient encoder that knows its number of metrics
	// per visit (encoder/mlp.MLP).
	metricReader interface{ NumMetrics() int }
	// configured is a policy that knows its input sizes (policy.MLP).
	configured interface{ Config() policy.Config }
	// referenced is a recommender that lists its references
	// (similarity.Exact).
	referenced interface{ References() []similarity.Reference }
)

// checkManifest verifies that the fields of a manifest (checksum already
// verified) fit the parts Load read with it, so that an edited manifest
// whose checksum was recomputed, or a part from another model, fails here
// with the field named instead of answering wrongly.
func (p *Pipeline) checkManifest(m *Manifest) error {
	b := p.builder
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s does not fit its parts: %s", ErrModel, ManifestFile, fmt.Sprintf(format, args...))
	}
	if m.K < 1 {
		return bad("k is %d, must be at least 1", m.K)
	}
	if m.Steps < 1 {
		return bad("steps is %d, must be at least 1", m.Steps)
	}
	if r := m.Data.Read; r != nil && r.MaxVisits < 0 {
		return bad("data.read.max_visits is %d, must not be negative", r.MaxVisits)
	}
	if len(m.Data.Metrics) == 0 {
		return bad("data.metrics is empty")
	}
	if len(m.Data.Labels) < 2 {
		return bad("data.labels has %d labels, need at least 2", len(m.Data.Labels))
	}
	seen := make(map[string]bool, len(m.Data.Labels))
	for _, l := range m.Data.Labels {
		if l == "" || seen[l] {
			return bad("data.labels has an empty or repeated label %q", l)
		}
		seen[l] = true
	}
	names := make(map[string]bool, len(m.Data.Metrics))
	for _, mt := range m.Data.Metrics {
		if mt.Name == "" || names[mt.Name] {
			return bad("data.metrics has an empty or repeated metric %q", mt.Name)
		}
		names[mt.Name] = true
	}
	if c, ok := b.predictor.(classified); ok {
		if n := c.NumClasses(); n != len(m.Data.Labels) {
			return bad("data.labels has %d labels, the predictor (%s) predicts %d classes", len(m.Data.Labels), m.Parts[PartPredictor].File, n)
		}
		if n := c.NumChannels(); n != len(m.Data.Metrics) {
			return bad("data.metrics has %d metrics, the predictor (%s) reads %d", len(m.Data.Metrics), m.Parts[PartPredictor].File, n)
		}
	}
	for _, enc := range []struct {
		role string
		part any
	}{{PartEncoder, b.encoder}, {PartPolicyEncoder, p.patient}} {
		if r, ok := enc.part.(metricReader); ok {
			if n := r.NumMetrics(); n != len(m.Data.Metrics) {
				return bad("data.metrics has %d metrics, the %s (%s) reads %d per visit", len(m.Data.Metrics), enc.role, m.Parts[enc.role].File, n)
			}
		}
	}
	patientDim := b.encoder.Dim()
	if p.patient != nil {
		if p.patient.Dim() != patientDim {
			return bad("the policy encoder gives vectors of %d, the encoder of %d", p.patient.Dim(), patientDim)
		}
	}
	if r, ok := b.recommender.(referenced); ok {
		for i, ref := range r.References() {
			if len(ref.Vector) != patientDim {
				return bad("the recommender's reference %d has length %d, the encoder gives %d", i, len(ref.Vector), patientDim)
			}
			if !slices.Contains(m.Data.Labels, ref.Label) {
				return bad("the recommender's reference %d has label %q, which data.labels lacks", i, ref.Label)
			}
		}
	}
	if c, ok := p.policy.(configured); ok {
		cfg := c.Config()
		if cfg.WordDim != p.text.Dim() {
			return bad("the policy reads word vectors of %d, the text encoder %q gives %d", cfg.WordDim, p.text.Name(), p.text.Dim())
		}
		if cfg.PatientDim != patientDim {
			return bad("the policy reads patient vectors of %d, the encoder gives %d", cfg.PatientDim, patientDim)
		}
	}
	return nil
}
