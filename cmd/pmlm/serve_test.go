package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/api"
	"github.com/pmlm-go/pmlm/pmlm/client"
	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

// lockedBuffer is a bytes.Buffer safe for one writer and one reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// servingURL waits (up to a minute) for serve's JSON log line "serving" on
// stderr and returns its URL.
func servingURL(t *testing.T, stderr *lockedBuffer) string {
	t.Helper()
	var url string
	require.Eventually(t, func() bool {
		for _, line := range strings.Split(stderr.String(), "\n") {
			var rec struct{ Msg, URL string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "serving" {
				url = rec.URL
				return true
			}
		}
		return false
	}, time.Minute, 20*time.Millisecond, "stderr: %s", stderr.String())
	return url
}

// TestServeCommand runs "pmlm serve" on a loopback port with a token
// file, answers through the client, and stops it by cancelling its
// context (as SIGTERM does).
func TestServeCommand(t *testing.T) {
	_, c := promptCohort(t)
	ctx := context.Background()
	p, model := savedModel(t, c, pmlm.TrainOptions{CrossFitFolds: 1, MaxEpisodes: 4, MaxValidation: 2, BatchSize: 4, Seed: 9, Workers: 1, StoreCases: true})
	tokenFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte("tok-123\n"), 0o600))

	data := filepath.Join(t.TempDir(), "data")
	require.NoError(t, cohort.WriteDir(data, c))

	sctx, stop := context.WithCancel(ctx)
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(sctx, []string{"serve", model, "--addr", "127.0.0.1:0", "--token-file", tokenFile, "--log-json",
			"--bayes-data", data, "--bayes-replies", "2"}, &env{stdout: &stdout, stderr: &stderr})
	}()
	url := servingURL(t, &stderr)

	cl := client.New(url, client.WithToken("tok-123"))
	mr, err := cl.Model(ctx)
	require.NoError(t, err)
	assert.Equal(t, len(c.Metrics), len(mr.Metrics))
	_, _, test := c.Split(cohort.DefaultSplit())
	req := client.PatientRequest(c.Metrics, test[0])
	got, err := cl.Respond(ctx, req)
	require.NoError(t, err)
	want, err := p.Respond(ctx, test[0], pmlm.RespondOptions{})
	require.NoError(t, err)
	assert.Equal(t, want.Final, got.Final)
	assert.Equal(t, want.Response.Text, got.Answer.Text)
	_, err = client.New(url).Model(ctx)
	assert.ErrorContains(t, err, "401")

	// --bayes-data: refine: bayes answers as the library does.
	assert.True(t, mr.BayesRefinement)
	train, err := p.TrainingPatients(c)
	require.NoError(t, err)
	b, err := p.BayesRefiner(train, pmlm.BayesOptions{References: 2, Seed: 1})
	require.NoError(t, err)
	want, err = p.Respond(ctx, test[0], pmlm.RespondOptions{Bayes: b})
	require.NoError(t, err)
	req.Refine = api.RefineBayes
	got, err = cl.Respond(ctx, req)
	require.NoError(t, err)
	require.NotNil(t, got.Bayes)
	assert.Equal(t, want.Final, got.Final)
	assert.Equal(t, want.Response.Text, got.Answer.Text)

	// The load test against this server: every request answered.
	var lt bytes.Buffer
	t.Setenv(tokenEnv, "tok-123")
	require.Equal(t, 0, run(ctx, []string{"loadtest", model, data, "--url", url, "--clients", "1,3", "--duration", "300ms", "--route", "prompt"},
		&env{stdout: &lt, stderr: &lt}), lt.String())
	require.Equal(t, 0, run(ctx, []string{"loadtest", model, data, "--clients", "2", "--duration", "300ms"}, &env{stdout: &lt, stderr: &lt}), lt.String())
	lines := strings.Split(strings.TrimSpace(lt.String()), "\n")
	require.Len(t, lines, 2+2+2+1, lt.String())
	for _, line := range []string{lines[2], lines[3], lines[6]} {
		f := strings.Fields(line)
		require.Len(t, f, 9, line)
		assert.NotEqual(t, "0", f[1], "requests answered: %s", line)
		assert.Equal(t, "0", f[6], "no errors: %s", line)
	}
	assert.Equal(t, "-", strings.Fields(lines[2])[8], "no CPU figure against --url")
	assert.NotEqual(t, "-", strings.Fields(lines[6])[8], "CPU per request in-process")

	stop()
	select {
	case code := <-done:
		assert.Equal(t, 0, code, "stderr: %s", stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	assert.Contains(t, stderr.String(), `"msg":"stopped"`)
	assert.NotContains(t, stderr.String(), "tok-123")
}

func TestServeFlags(t *testing.T) {
	for name, args := range map[string][]string{
		"no model":        {"serve"},
		"cert alone":      {"serve", "m", "--tls-cert", "c.pem"},
		"negative queue":  {"serve", "m", "--queue", "-1"},
		"zero max body":   {"serve", "m", "--max-body", "0"},
		"zero timeout":    {"serve", "m", "--timeout", "0s"},
		"negative concur": {"serve", "m", "--concurrency", "-2"},
	} {
		var out bytes.Buffer
		assert.Equal(t, 2, run(context.Background(), args, &env{stdout: &out, stderr: &out}), name)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	require.NoError(t, os.WriteFile(empty, []byte(" \n"), 0o600))
	var out bytes.Buffer
	assert.NotEqual(t, 0, run(context.Background(), []string{"serve", "m", "--token-file", empty}, &env{stdout: &out, stderr: &out}))
	assert.Contains(t, out.String(), "is empty")
}

// savedModel trains a model on c with opts and saves it into a temporary
// directory: the pipeline and the directory.
func savedModel(t *testing.T, c *cohort.Cohort, opts pmlm.TrainOptions) (*pmlm.Pipeline, string) {
	t.Helper()
	p, err := pmlm.Train(context.Background(), c, opts)
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "model")
	require.NoError(t, p.Save(dir))
	return p, dir
}

// TestServeBayesDataMustHoldTheTrainingPatients: --bayes-data without the
// model's training patients is refused before serving.
func TestServeBayesDataMustHoldTheTrainingPatients(t *testing.T) {
	_, c := promptCohort(t)
	ctx := context.Background()
	_, model := savedModel(t, c, pmlm.TrainOptions{CrossFitFolds: 1, MaxEpisodes: 2, MaxValidation: 1, BatchSize: 2, Seed: 9, Workers: 1, StoreCases: true})
	train, _, _ := c.Split(cohort.DefaultSplit())
	part := *c
	part.Patients = slices.DeleteFunc(slices.Clone(c.Patients), func(pt cohort.Patient) bool { return pt.ID == train[0].ID })
	data := filepath.Join(t.TempDir(), "data")
	require.NoError(t, cohort.WriteDir(data, &part))
	// Without its metrics file the reader assumes the built-in catalogue
	// and says so: serve prints that note as the other commands do.
	require.NoError(t, os.Remove(filepath.Join(data, cohort.MetricsFile)))
	var out bytes.Buffer
	code := run(ctx, []string{"serve", model, "--addr", "127.0.0.1:0", "--bayes-data", data}, &env{stdout: &out, stderr: &out})
	assert.Equal(t, 1, code, out.String())
	assert.Contains(t, out.String(), fmt.Sprintf("the data hold %d of the model's %d training patients", len(train)-1, len(train)))
	assert.Contains(t, out.String(), data)
	assert.Contains(t, out.String(), "note: "+data+" has no "+cohort.MetricsFile)
}

// TestServeProcessSIGTERM runs the pmlm binary's "serve" as a process with
// an OpenAI-compatible responder on loopback that holds its answer, sends
// SIGTERM while a /v1/respond request waits for that answer, and checks
// that the request is answered and the process exits 0. A second process
// on the same --cache file answers the same request from the cache, without
// asking the responder.
func TestServeProcessSIGTERM(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SIGTERM semantics")
	}
	dir := t.TempDir()
	bin := pmlmBinary(t)
	_, c := promptCohort(t)
	ctx := context.Background()
	p, err := pmlm.Train(ctx, c, pmlm.TrainOptions{CrossFitFolds: 1, MaxEpisodes: 4, MaxValidation: 2, BatchSize: 4, Seed: 9, Workers: 1, StoreCases: true})
	require.NoError(t, err)
	model := filepath.Join(dir, "model")
	require.NoError(t, p.Save(model))

	var asked atomic.Int64
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		<-release // hold the answer until the test lets it go
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"c1","object":"chat.completion","created":1,"model":"m",`+
			`"choices":[{"index":0,"message":{"role":"assistant","content":"Rest and follow up."},"finish_reason":"stop"}],`+
			`"usage":{"prompt_tokens":5,"completion_tokens":4,"total_tokens":9}}`)
	}))
	defer srv.Close()
	cache := filepath.Join(dir, "answers.db")
	serve := func() (*exec.Cmd, *lockedBuffer, string) {
		cmd := exec.Command(bin, "serve", model, "--addr", "127.0.0.1:0", "--log-json", "--llm", "openai-compatible",
			"--model", "m", "--base-url", srv.URL+"/v1", "--cache", cache, "--attempts", "1")
		cmd.Env = append(os.Environ(), "OPENAI_API_KEY=")
		var stderr lockedBuffer
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		return cmd, &stderr, servingURL(t, &stderr)
	}
	_, _, test := c.Split(cohort.DefaultSplit())
	req := client.PatientRequest(c.Metrics, test[0])

	cmd, stderr, url := serve()
	type result struct {
		text   string
		cached bool
		err    error
	}
	got := make(chan result, 1)
	go func() {
		a, err := client.New(url).Respond(ctx, req)
		if err != nil {
			got <- result{err: err}
			return
		}
		got <- result{text: a.Answer.Text, cached: a.Answer.Cached}
	}()
	require.Eventually(t, func() bool { return asked.Load() == 1 }, time.Minute, 10*time.Millisecond, "the request reaches the responder")
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	time.Sleep(200 * time.Millisecond) // shutdown has begun; the request is still waiting
	close(release)
	r := <-got
	require.NoError(t, r.err, "the request in flight at SIGTERM is answered")
	assert.Equal(t, "Rest and follow up.", r.text)
	assert.False(t, r.cached)
	require.NoError(t, cmd.Wait(), "exit status 0; stderr: %s", stderr.String())
	assert.Contains(t, stderr.String(), `"msg":"stopped"`)

	cmd, stderr, url = serve()
	a, err := client.New(url).Respond(ctx, req)
	require.NoError(t, err)
	assert.True(t, a.Answer.Cached, "answered from the cache file")
	assert.Equal(t, "Rest and follow up.", a.Answer.Text)
	assert.EqualValues(t, 1, asked.Load(), "the responder was not asked again")
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait(), "stderr: %s", stderr.String())
}
