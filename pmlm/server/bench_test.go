package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pmlm-go/pmlm/internal/cputime"
	"github.com/pmlm-go/pmlm/pmlm/api"
	"github.com/pmlm-go/pmlm/pmlm/server"
)

// BenchmarkHandler is one API request through the handler (JSON decoding,
// the pipeline, JSON encoding), without the network, the patients of the
// shared model's cohort in turn; cpu-ms/op is the process's CPU time.
func BenchmarkHandler(b *testing.B) {
	for _, route := range []string{"/v1/prompt", "/v1/respond"} {
		b.Run(route[4:], func(b *testing.B) {
			p, m, c := loaded(b, nil)
			s, err := server.New(server.Config{Pipeline: p, Manifest: m})
			if err != nil {
				b.Fatal(err)
			}
			bodies := make([][]byte, 0, 40)
			for i := range min(40, len(c.Patients)) {
				body, err := json.Marshal(requestOf(c, &c.Patients[i]))
				if err != nil {
					b.Fatal(err)
				}
				bodies = append(bodies, body)
			}
			b.ReportAllocs()
			cpu0, ok := cputime.Process()
			i := 0
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, route, bytes.NewReader(bodies[i%len(bodies)]))
				req.Header.Set("Content-Type", api.MediaJSON)
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%d: %s", rec.Code, rec.Body)
				}
				i++
			}
			if cpu1, _ := cputime.Process(); ok {
				b.ReportMetric(float64((cpu1-cpu0).Microseconds())/1e3/float64(b.N), "cpu-ms/op")
			}
		})
	}
}
