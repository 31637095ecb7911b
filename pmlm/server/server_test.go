package server_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/api"
	"github.com/pmlm-go/pmlm/pmlm/client"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/server"
)

// exchange sends one raw request to h and validates it and the answer
// against the OpenAPI document.
func exchange(t *testing.T, c *contract, h http.Handler, method, path, contentType string, body []byte, header ...string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, "http://pmlm.test"+path, rd)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	out, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	if c != nil {
		vreq := httptest.NewRequest(method, "http://pmlm.test"+path, nil)
		vreq.Header = req.Header.Clone()
		c.check(t, vreq, body, res.StatusCode, res.Header, out)
	}
	return res.StatusCode, res.Header, out
}

func problemOf(t *testing.T, body []byte) api.Problem {
	t.Helper()
	var p api.Problem
	require.NoError(t, json.Unmarshal(body, &p), "%s", body)
	return p
}

// TestRoutesAgainstTheContract calls every route through the typed client
// on a loopback listener and validates raw exchanges against the OpenAPI
// 3.1 document.
func TestRoutesAgainstTheContract(t *testing.T) {
	p, m, c := loaded(t, nil)
	ctr := loadContract(t)
	assert.True(t, ctr.doc.IsOpenAPI31OrLater(), "the document is OpenAPI 3.1")
	s, err := server.New(server.Config{Pipeline: p, Manifest: m})
	require.NoError(t, err)
	srv := httptest.NewServer(s)
	defer srv.Close()
	cl := client.New(srv.URL)
	ctx := context.Background()
	_, _, test := c.Split(cohort.DefaultSplit())
	require.NotEmpty(t, test)

	// The document's paths are the server's routes.
	var documented [][2]string
	for path, item := range ctr.doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, [2]string{method, path})
		}
	}
	assert.ElementsMatch(t, server.Routes(), documented)

	mr, err := cl.Model(ctx)
	require.NoError(t, err)
	assert.Equal(t, len(c.Metrics), len(mr.Metrics))
	assert.Equal(t, c.Metrics[0].Name, mr.Metrics[0].Name)
	assert.Equal(t, c.Labels, mr.Labels)
	assert.Equal(t, m.Checksum, mr.Checksum)
	assert.Equal(t, "encoder.mlp/1", mr.Parts[pmlm.PartEncoder])
	assert.Equal(t, p.MaxVisits(), mr.MaxVisits)
	require.NoError(t, cl.Healthy(ctx))
	require.NoError(t, cl.Ready(ctx))

	for _, pt := range test[:3] {
		req := requestOf(c, pt)
		pr, err := cl.Prompt(ctx, req)
		require.NoError(t, err)
		want, err := p.Respond(ctx, pt, pmlm.RespondOptions{})
		require.NoError(t, err)
		assert.Equal(t, want.Coarse, pr.Coarse)
		assert.Equal(t, want.Final, pr.Final)
		assert.Len(t, pr.Deletions, len(want.Deletions))
		rr, err := cl.Respond(ctx, req)
		require.NoError(t, err)
		assert.Equal(t, want.Final, rr.Final)
		assert.Equal(t, want.Response.Text, rr.Answer.Text)

		body, err := json.Marshal(req)
		require.NoError(t, err)
		for _, path := range []string{"/v1/prompt", "/v1/respond"} {
			code, _, out := exchange(t, ctr, s, http.MethodPost, path, api.MediaJSON, body)
			require.Equal(t, http.StatusOK, code, "%s", out)
		}
	}
	sc, err := cl.Score(ctx, &api.ScoreRequest{Candidate: "rest and take iron", References: []string{"take iron and rest", "come back for fever"}})
	require.NoError(t, err)
	require.Len(t, sc.Each, 2)
	assert.Greater(t, sc.Each[0].ROUGE1, sc.Each[1].ROUGE1)
	assert.InDelta(t, (sc.Each[0].BERTScoreF+sc.Each[1].BERTScoreF)/2, sc.Mean.BERTScoreF, 1e-9)

	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, "/v1/model"}, {http.MethodGet, "/healthz"}, {http.MethodGet, "/readyz"},
		{http.MethodGet, "/openapi.json"}, {http.MethodGet, "/metrics"},
	} {
		code, _, out := exchange(t, ctr, s, tc.method, tc.path, "", nil)
		require.Equal(t, http.StatusOK, code, "%s %s", tc.path, out)
	}
	code, _, out := exchange(t, ctr, s, http.MethodPost, "/v1/score", api.MediaJSON, []byte(`{"candidate":"a b","references":["a c"]}`))
	require.Equal(t, http.StatusOK, code, "%s", out)
	code, _, out = exchange(t, nil, s, http.MethodGet, "/openapi.json", "", nil)
	require.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, string(api.OpenAPI()), string(out))

	_, _, metrics := exchange(t, nil, s, http.MethodGet, "/metrics", "", nil)
	for _, want := range []string{
		`pmlm_http_requests_total{code="200",route="/v1/prompt"}`,
		`pmlm_http_request_duration_seconds_bucket{route="/v1/respond"`,
		`pmlm_responder_calls_total{outcome="ok"} 6`,
		`pmlm_responder_cache_hits_total 0`,
		`pmlm_http_in_flight_requests`, `pmlm_http_queued_requests`, `go_goroutines`,
	} {
		assert.Contains(t, string(metrics), want)
	}
}

// TestBadRequests sends every kind of bad input: each gets its status and
// a problem body (validated against the document) naming the field.
func TestBadRequests(t *testing.T) {
	p, m, c := loaded(t, nil)
	ctr := loadContract(t)
	s, err := server.New(server.Config{Pipeline: p, Manifest: m, MaxBodyBytes: 64 << 10})
	require.NoError(t, err)
	_, _, test := c.Split(cohort.DefaultSplit())
	good := requestOf(c, test[0])
	hgb := 250.0
	with := func(edit func(r *api.PatientRequest)) []byte {
		b, err := json.Marshal(good)
		require.NoError(t, err)
		var r api.PatientRequest
		require.NoError(t, json.Unmarshal(b, &r))
		edit(&r)
		out, err := json.Marshal(r)
		require.NoError(t, err)
		return out
	}
	many := func(r *api.PatientRequest) {
		for len(r.Visits) <= p.MaxVisits() {
			r.Visits = append(r.Visits, r.Visits[0])
		}
	}
	for _, tc := range []struct {
		name, method, path, ctype string
		body                      []byte
		status                    int
		typ, pointer, detail      string
	}{
		{"malformed JSON", "POST", "/v1/prompt", api.MediaJSON, []byte(`{"visits": [`), 400, api.ProblemInvalidJSON, "", ""},
		{"wrong type", "POST", "/v1/prompt", api.MediaJSON, []byte(`{"visits": "yesterday"}`), 400, api.ProblemInvalidField, "/visits", "got JSON string"},
		{"wrong date type", "POST", "/v1/prompt", api.MediaJSON, []byte(`{"visits": [{"date": 20210101, "values": {}}]}`), 400, api.ProblemInvalidField, "/visits/date", "got JSON number"},
		{"wrong value type", "POST", "/v1/respond", api.MediaJSON, []byte(`{"visits": [{"date": "2021-01-01", "values": {"HGB": "high"}}]}`), 400, api.ProblemInvalidField, "/visits/0/values/HGB", "want a number or null"},
		{"unknown field", "POST", "/v1/prompt", api.MediaJSON, []byte(`{"visits": [], "name": "x"}`), 400, api.ProblemInvalidField, "", `unknown field "name"`},
		{"trailing data", "POST", "/v1/prompt", api.MediaJSON, []byte(`{"visits": []} {}`), 400, api.ProblemInvalidJSON, "", ""},
		{"bad date", "POST", "/v1/prompt", api.MediaJSON, []byte(`{"visits": [{"date": "01/02/2021", "values": {}}]}`), 400, api.ProblemInvalidField, "/visits/0/date", "YYYY-MM-DD"},
		{"no visits", "POST", "/v1/prompt", api.MediaJSON, []byte(`{"visits": []}`), 422, api.ProblemPatient, "/visits", "at least one visit"},
		{"unknown metric", "POST", "/v1/prompt", api.MediaJSON, with(func(r *api.PatientRequest) { r.Visits[0].Values["HGBX"] = &hgb }), 422, api.ProblemPatient, "/visits/0/values/HGBX", "unknown to the model"},
		{"out of range", "POST", "/v1/respond", api.MediaJSON, with(func(r *api.PatientRequest) { v := 1e6; r.Visits[0].Values["HGB"] = &v }), 422, api.ProblemPatient, "/visits/0/values/HGB", "outside the physical range [30, 200] g/L"},
		{"unknown refinement", "POST", "/v1/respond", api.MediaJSON, with(func(r *api.PatientRequest) { r.Refine = "oracle" }), 400, api.ProblemInvalidField, "/refine", `want "policy" or "bayes"`},
		{"Bayes refinement not enabled", "POST", "/v1/respond", api.MediaJSON, with(func(r *api.PatientRequest) { r.Refine = api.RefineBayes }), 400, api.ProblemInvalidField, "/refine", "policy only"},
		{"too many visits", "POST", "/v1/prompt", api.MediaJSON, with(many), 422, api.ProblemPatient, "/visits", "more than the model's maximum"},
		{"oversize body", "POST", "/v1/prompt", api.MediaJSON, []byte(`{"visits": [` + strings.Repeat(`{"date": "2021-01-01", "values": {}},`, 3000) + `{}]}`), 413, api.ProblemTooLarge, "", "65536 bytes"},
		{"wrong content type", "POST", "/v1/prompt", "text/plain", []byte(`{}`), 415, api.ProblemMediaType, "", ""},
		{"no references", "POST", "/v1/score", api.MediaJSON, []byte(`{"candidate": "a", "references": []}`), 400, api.ProblemInvalidField, "/references", "at least one"},
		{"unknown route", "GET", "/v2/prompt", "", nil, 404, api.ProblemNotFound, "", ""},
		{"wrong method", "GET", "/v1/prompt", "", nil, 405, api.ProblemMethod, "", "use POST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct := ctr
			if tc.status == 404 || tc.status == 405 {
				ct = nil // not in the document by definition
			}
			code, hdr, out := exchange(t, ct, s, tc.method, tc.path, tc.ctype, tc.body)
			require.Equal(t, tc.status, code, "%s", out)
			assert.Equal(t, api.MediaProblem, hdr.Get("Content-Type"))
			pr := problemOf(t, out)
			assert.Equal(t, tc.typ, pr.Type)
			assert.Equal(t, tc.status, pr.Status)
			if tc.pointer != "" || tc.name == "unknown field" {
				require.NotEmpty(t, pr.Errors, "%s", out)
				assert.Equal(t, tc.pointer, pr.Errors[0].Pointer)
				assert.Contains(t, pr.Errors[0].Detail, tc.detail)
			} else if tc.detail != "" {
				assert.Contains(t, pr.Detail, tc.detail)
			}
			if tc.status == 405 {
				assert.Equal(t, "POST", hdr.Get("Allow"))
			}
		})
	}

	// A request with an invalid field and a patient that does not fit is
	// told of both at once, the field first.
	code, _, out := exchange(t, ctr, s, http.MethodPost, "/v1/respond", api.MediaJSON, with(func(r *api.PatientRequest) {
		r.Refine = "oracle"
		r.Visits[0].Values["HGBX"] = &hgb
	}))
	require.Equal(t, http.StatusBadRequest, code, "%s", out)
	pr := problemOf(t, out)
	pointers := []string{}
	for _, e := range pr.Errors {
		pointers = append(pointers, e.Pointer)
	}
	assert.Equal(t, []string{"/refine", "/visits/0/values/HGBX"}, pointers)

	// Lenient: the out-of-range visit is skipped and listed.
	body := with(func(r *api.PatientRequest) {
		v := 1e6
		r.Visits[0].Values["HGB"] = &v
		r.Visits[0].Values["HGBX"] = &hgb
		r.Lenient = true
	})
	code, _, out = exchange(t, ctr, s, http.MethodPost, "/v1/prompt", api.MediaJSON, body)
	if len(good.Visits) > 1 {
		require.Equal(t, http.StatusOK, code, "%s", out)
		var pr api.PromptResponse
		require.NoError(t, json.Unmarshal(out, &pr))
		pointers := []string{}
		for _, sk := range pr.Skipped {
			pointers = append(pointers, sk.Pointer)
		}
		assert.ElementsMatch(t, []string{"/visits/0/values/HGBX", "/visits/0/values/HGB"}, pointers)
	}
}

// TestAuthentication: with a token, /v1/ needs it; health, readiness,
// metrics and the document do not.
func TestAuthentication(t *testing.T) {
	p, m, c := loaded(t, nil)
	s, err := server.New(server.Config{Pipeline: p, Manifest: m, Token: "s3cret-token"})
	require.NoError(t, err)
	ctr := loadContract(t)
	for _, hdr := range [][]string{nil, {"Authorization", "Bearer wrong"}, {"Authorization", "s3cret-token"}, {"Authorization", "Bearer s3cret-token2"}} {
		code, h, out := exchange(t, ctr, s, http.MethodGet, "/v1/model", "", nil, hdr...)
		require.Equal(t, http.StatusUnauthorized, code, "%v", hdr)
		assert.Equal(t, api.ProblemUnauthorized, problemOf(t, out).Type)
		assert.Contains(t, h.Get("WWW-Authenticate"), "Bearer")
	}
	code, _, _ := exchange(t, ctr, s, http.MethodGet, "/v1/model", "", nil, "Authorization", "Bearer s3cret-token")
	assert.Equal(t, http.StatusOK, code)
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/openapi.json"} {
		code, _, _ := exchange(t, nil, s, http.MethodGet, path, "", nil)
		assert.Equal(t, http.StatusOK, code, path)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	_, _, test := c.Split(cohort.DefaultSplit())
	_, err = client.New(srv.URL, client.WithToken("s3cret-token")).Prompt(context.Background(), requestOf(c, test[0]))
	require.NoError(t, err)
	_, err = client.New(srv.URL).Prompt(context.Background(), requestOf(c, test[0]))
	var ce *client.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, http.StatusUnauthorized, ce.StatusCode)
}

// TestDeadlineAndCancellationReachTheResponder: a request whose deadline
// passes gets 504 and the responder sees DeadlineExceeded; a client that
// goes away cancels the responder's context.
func TestDeadlineAndCancellationReachTheResponder(t *testing.T) {
	base, _, _ := loaded(t, nil)
	g := newGate(base.Responder())
	p, m, c := loaded(t, g)
	_, _, test := c.Split(cohort.DefaultSplit())
	req := requestOf(c, test[0])

	// A deadline long enough for the prompt even under the race detector:
	// it passes while the responder waits.
	s, err := server.New(server.Config{Pipeline: p, Manifest: m, RequestTimeout: 3 * time.Second})
	require.NoError(t, err)
	srv := httptest.NewServer(s)
	defer srv.Close()
	first := make(chan error, 1)
	go func() {
		_, err := client.New(srv.URL).Respond(context.Background(), req)
		first <- err
	}()
	<-g.entered
	err = <-first
	var ce *client.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, http.StatusGatewayTimeout, ce.StatusCode)
	assert.Equal(t, api.ProblemTimeout, ce.Problem.Type)
	require.Equal(t, []error{context.DeadlineExceeded}, g.endings())

	s2, err := server.New(server.Config{Pipeline: p, Manifest: m})
	require.NoError(t, err)
	srv2 := httptest.NewServer(s2)
	defer srv2.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := client.New(srv2.URL).Respond(ctx, req)
		done <- err
	}()
	<-g.entered // this call is at the responder
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	require.Eventually(t, func() bool { return len(g.endings()) == 2 }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, context.Canceled, g.endings()[1])
}

// TestQueueFullGets503: one slot, one queue place; a third request is
// turned away at once with 503 and Retry-After, the others are answered.
func TestQueueFullGets503(t *testing.T) {
	base, _, _ := loaded(t, nil)
	g := newGate(base.Responder())
	p, m, c := loaded(t, g)
	_, _, test := c.Split(cohort.DefaultSplit())
	req := requestOf(c, test[0])
	s, err := server.New(server.Config{Pipeline: p, Manifest: m, MaxConcurrent: 1, MaxQueue: 1, RetryAfter: 2 * time.Second})
	require.NoError(t, err)
	srv := httptest.NewServer(s)
	defer srv.Close()
	cl := client.New(srv.URL)
	results := make(chan error, 2)
	go func() { _, err := cl.Respond(context.Background(), req); results <- err }()
	<-g.entered // the first holds the slot
	go func() { _, err := cl.Respond(context.Background(), req); results <- err }()
	require.Eventually(t, func() bool {
		_, _, out := exchange(t, nil, s, http.MethodGet, "/metrics", "", nil)
		return strings.Contains(string(out), "pmlm_http_queued_requests 1")
	}, 5*time.Second, 10*time.Millisecond, "the second waits in the queue")
	_, err = cl.Respond(context.Background(), req)
	var ce *client.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, http.StatusServiceUnavailable, ce.StatusCode)
	assert.Equal(t, api.ProblemBusy, ce.Problem.Type)
	assert.Equal(t, 2*time.Second, ce.RetryAfter)
	assert.True(t, client.IsBusy(err))
	close(g.release)
	require.NoError(t, <-results)
	require.NoError(t, <-results)
}

// TestGracefulShutdown: Serve on a real loopback listener; when its
// context ends with a request in flight, readiness fails, new API
// requests get 503, the in-flight request is answered, and Serve returns
// nil.
func TestGracefulShutdown(t *testing.T) {
	base, _, _ := loaded(t, nil)
	g := newGate(base.Responder())
	p, m, c := loaded(t, g)
	_, _, test := c.Split(cohort.DefaultSplit())
	req := requestOf(c, test[0])
	var logs bytes.Buffer
	s, err := server.New(server.Config{Pipeline: p, Manifest: m, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln, "", "") }()
	cl := client.New("http://" + ln.Addr().String())
	inflight := make(chan error, 1)
	var answer *api.RespondResponse
	go func() {
		var err error
		answer, err = cl.Respond(context.Background(), req)
		inflight <- err
	}()
	<-g.entered
	stop()
	require.Eventually(t, func() bool {
		code, _, _ := exchange(t, nil, s, http.MethodGet, "/readyz", "", nil)
		return code == http.StatusServiceUnavailable
	}, 5*time.Second, 10*time.Millisecond)
	code, _, out := exchange(t, nil, s, http.MethodPost, "/v1/prompt", api.MediaJSON, []byte(`{"visits":[]}`))
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, api.ProblemShuttingDown, problemOf(t, out).Type)
	select {
	case err := <-served:
		t.Fatalf("Serve returned with a request in flight: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(g.release)
	require.NoError(t, <-inflight)
	assert.NotEmpty(t, answer.Answer.Text)
	require.NoError(t, <-served)
	assert.Contains(t, logs.String(), `"msg":"shutting down"`)
}

// TestLogsCarryNoPatientData: the JSON log lines name routes and statuses,
// never the key, a lab value, the token or the prompt.
func TestLogsCarryNoPatientData(t *testing.T) {
	p, m, c := loaded(t, nil)
	var logs bytes.Buffer
	s, err := server.New(server.Config{Pipeline: p, Manifest: m, Token: "tok-XYZZY", Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	require.NoError(t, err)
	_, _, test := c.Split(cohort.DefaultSplit())
	req := requestOf(c, test[0])
	req.Key = "KEY-PLUGH-42"
	body, err := json.Marshal(req)
	require.NoError(t, err)
	code, _, out := exchange(t, nil, s, http.MethodPost, "/v1/respond", api.MediaJSON, body, "Authorization", "Bearer tok-XYZZY")
	require.Equal(t, http.StatusOK, code, "%s", out)
	var rr api.RespondResponse
	require.NoError(t, json.Unmarshal(out, &rr))
	bad := 987.654
	req.Visits[0].Values["HGB"] = &bad
	body, err = json.Marshal(req)
	require.NoError(t, err)
	code, _, _ = exchange(t, nil, s, http.MethodPost, "/v1/respond", api.MediaJSON, body, "Authorization", "Bearer tok-XYZZY")
	require.Equal(t, http.StatusUnprocessableEntity, code)
	text := logs.String()
	require.Contains(t, text, `"route":"/v1/respond"`)
	for _, secret := range []string{"KEY-PLUGH-42", "tok-XYZZY", "987.654", rr.Final[:20], rr.Answer.Text[:20]} {
		assert.NotContains(t, text, secret)
	}
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		keys := make([]string, 0, len(rec))
		for k := range rec {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		assert.Equal(t, []string{"duration_ms", "level", "method", "msg", "route", "status", "time"}, keys, line)
	}
}

// TestTLS serves over TLS with a certificate made for 127.0.0.1; the
// client trusts it and is answered, a plain-HTTP client is not.
func TestTLS(t *testing.T) {
	p, m, _ := loaded(t, nil)
	certFile, keyFile, pool := selfSigned(t)
	s, err := server.New(server.Config{Pipeline: p, Manifest: m})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln, certFile, keyFile) }()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	mr, err := client.New("https://"+ln.Addr().String(), client.WithHTTPClient(hc)).Model(context.Background())
	require.NoError(t, err)
	assert.NotEmpty(t, mr.Metrics)
	_, err = client.New("http://" + ln.Addr().String()).Model(context.Background())
	assert.Error(t, err)
	stop()
	require.NoError(t, <-served)
}

// selfSigned writes a self-signed ECDSA certificate for 127.0.0.1 and its
// key, and returns their files and a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pmlm test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kb, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestBayesRefinementOnRequest: a server given a Bayes refiner answers
// refine: bayes as the library does, keeps the policy by default, and
// refuses it on /v1/prompt, which never asks the responder.
func TestBayesRefinementOnRequest(t *testing.T) {
	p, m, c := loaded(t, nil)
	ctr := loadContract(t)
	train, err := p.TrainingPatients(c)
	require.NoError(t, err)
	b, err := p.BayesRefiner(train, pmlm.BayesOptions{References: 2, Seed: 1})
	require.NoError(t, err)
	s, err := server.New(server.Config{Pipeline: p, Manifest: m, Bayes: b})
	require.NoError(t, err)
	srv := httptest.NewServer(s)
	defer srv.Close()
	cl := client.New(srv.URL)
	ctx := context.Background()
	mr, err := cl.Model(ctx)
	require.NoError(t, err)
	assert.True(t, mr.BayesRefinement)

	_, _, test := c.Split(cohort.DefaultSplit())
	calls := 0 // the responder calls the requests below make
	for _, pt := range test[:2] {
		req := requestOf(c, pt)
		req.Refine = api.RefineBayes
		rr, err := cl.Respond(ctx, req)
		require.NoError(t, err)
		calls += 2*rr.Bayes.Candidates + 1 // twice Bayes, once the policy
		want, err := p.Respond(ctx, pt, pmlm.RespondOptions{Bayes: b})
		require.NoError(t, err)
		require.NotNil(t, rr.Bayes)
		assert.Equal(t, want.Final, rr.Final)
		assert.Equal(t, want.Response.Text, rr.Answer.Text)
		assert.Equal(t, want.Bayes.Candidates, rr.Bayes.Candidates)
		assert.InDelta(t, want.Bayes.Expected, rr.Bayes.ExpectedF1, 1e-12)
		assert.GreaterOrEqual(t, rr.Bayes.ExpectedF1, rr.Bayes.CoarseExpectedF1)

		body, err := json.Marshal(req)
		require.NoError(t, err)
		code, _, out := exchange(t, ctr, s, http.MethodPost, "/v1/respond", api.MediaJSON, body)
		require.Equal(t, http.StatusOK, code, "%s", out)
		code, _, out = exchange(t, ctr, s, http.MethodPost, "/v1/prompt", api.MediaJSON, body)
		require.Equal(t, http.StatusBadRequest, code, "%s", out)
		pr := problemOf(t, out)
		require.NotEmpty(t, pr.Errors)
		assert.Equal(t, "/refine", pr.Errors[0].Pointer)

		req.Refine = ""
		policy, err := cl.Respond(ctx, req)
		require.NoError(t, err)
		assert.Nil(t, policy.Bayes, "the policy refines unless asked")
		plain, err := p.Respond(ctx, pt, pmlm.RespondOptions{})
		require.NoError(t, err)
		assert.Equal(t, plain.Final, policy.Final)
	}
	_, _, metrics := exchange(t, nil, s, http.MethodGet, "/metrics", "", nil)
	assert.Contains(t, string(metrics), fmt.Sprintf(`pmlm_responder_calls_total{outcome="ok"} %d`, calls),
		"a Bayes request counts a call per candidate")
}
