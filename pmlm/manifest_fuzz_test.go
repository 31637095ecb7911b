package pmlm

import (
	"encoding/json"
	"testing"
)

// FuzzParseManifest feeds arbitrary bytes to the manifest reader: an error
// is fine, a panic is not, and an accepted manifest re-encodes to the same
// checksum.
func FuzzParseManifest(f *testing.F) {
	m := Manifest{Format: ModelFormat, Version: ModelVersion, K: 10, Steps: 10,
		Parts: map[string]Part{PartPolicy: {Kind: "policy.mlp/1", File: "policy.bin", SHA256: "00"}},
		Files: map[string]string{"cases.jsonl": "11"}}
	sum, err := m.checksum()
	if err != nil {
		f.Fatal(err)
	}
	m.Checksum = sum
	good, err := jsonMarshal(m)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"format":"pmlm-model","version":2}`))
	f.Add([]byte(`{"format":"pmlm-model","version":2,"k":-1,"data":{"labels":null}}`))
	f.Add([]byte("not json"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := parseManifest("fuzz", raw)
		if err != nil {
			return
		}
		sum, err := m.checksum()
		if err != nil || sum != m.Checksum {
			t.Fatalf("accepted a manifest whose checksum does not verify: %v", err)
		}
	})
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
