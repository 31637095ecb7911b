package server_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/llm"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/api"
	"github.com/pmlm-go/pmlm/pmlm/client"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
	"github.com/pmlm-go/pmlm/pmlm/synth"
)

// model is one small trained model, saved once for every test of the
// package: its directory and the cohort it was trained on.
var model = sync.OnceValues(func() (string, error) {
	opts := synth.DefaultOptions()
	opts.Patients, opts.Visits, opts.Seed = 90, 0, 5
	c, err := synth.Generate(opts)
	if err != nil {
		return "", err
	}
	cohortOnce = c
	p, err := pmlm.Train(context.Background(), c, pmlm.TrainOptions{
		CrossFitFolds: 1, MaxEpisodes: 4, MaxValidation: 2, BatchSize: 4, Seed: 3, Workers: 1, StoreCases: true,
	})
	if err != nil {
		return "", err
	}
	dir := filepath.Join(tempRoot, "model")
	return dir, p.Save(dir)
})

var (
	cohortOnce *cohort.Cohort
	tempRoot   string
)

func TestMain(m *testing.M) {
	var err error
	if tempRoot, err = mkdirTemp(); err != nil {
		panic(err)
	}
	code := m.Run()
	removeAll(tempRoot)
	exit(code)
}

// loaded loads the shared model, answering with responder when not nil.
func loaded(t testing.TB, responder llm.Responder) (*pmlm.Pipeline, *pmlm.Manifest, *cohort.Cohort) {
	t.Helper()
	dir, err := model()
	require.NoError(t, err)
	p, err := pmlm.Load(context.Background(), dir, pmlm.LoadOptions{Responder: responder})
	require.NoError(t, err)
	m, err := pmlm.ReadManifest(dir)
	require.NoError(t, err)
	return p, m, cohortOnce
}

// requestOf turns a cohort patient into an API request, values by name.
func requestOf(c *cohort.Cohort, pt *cohort.Patient) *api.PatientRequest {
	return client.PatientRequest(c.Metrics, pt)
}

// gate is a responder that waits for release (or its context) before
// asking the inner responder, and records how each call ended.
type gate struct {
	inner   llm.Responder
	release chan struct{}
	entered chan struct{}
	mu      sync.Mutex
	ends    []error
}

func newGate(inner llm.Responder) *gate {
	return &gate{inner: inner, release: make(chan struct{}), entered: make(chan struct{}, 64)}
}

func (g *gate) Respond(ctx context.Context, prompt string) (llm.Response, error) {
	g.entered <- struct{}{}
	select {
	case <-g.release:
	case <-ctx.Done():
		g.mu.Lock()
		g.ends = append(g.ends, ctx.Err())
		g.mu.Unlock()
		return llm.Response{}, ctx.Err()
	}
	g.mu.Lock()
	g.ends = append(g.ends, nil)
	g.mu.Unlock()
	return g.inner.Respond(ctx, prompt)
}

func (g *gate) endings() []error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]error(nil), g.ends...)
}

// contract validates requests and responses against the OpenAPI document.
type contract struct {
	doc    *openapi3.T
	router routers.Router
}

func loadContract(t *testing.T) *contract {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPI())
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()))
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	return &contract{doc: doc, router: router}
}

// check validates one exchange: the request (body included) and the
// response's status, headers and body.
func (c *contract) check(t *testing.T, req *http.Request, reqBody []byte, status int, header http.Header, body []byte) {
	t.Helper()
	route, params, err := c.router.FindRoute(req)
	require.NoError(t, err, "%s %s is not in the OpenAPI document", req.Method, req.URL.Path)
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true},
	}
	if reqBody != nil {
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
		if status/100 == 2 {
			require.NoError(t, openapi3filter.ValidateRequest(context.Background(), in), "request of %s", req.URL.Path)
		}
	}
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: header, Body: io.NopCloser(bytes.NewReader(body)),
	})
	require.NoError(t, err, "response %d of %s %s: %s", status, req.Method, req.URL.Path, body)
}
