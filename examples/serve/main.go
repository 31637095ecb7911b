// Serve: pmlm's HTTP/JSON API from Go through the typed client
// (pmlm/client). With --url it talks to a running server
// ("pmlm serve MODEL"; the token, if any, in $PMLM_TOKEN); without, it
// trains a small model on a synthetic cohort and serves it in-process on a
// loopback port first, so that it runs on its own:
//
//	go run ./examples/serve
//	go run ./examples/serve --url http://127.0.0.1:8080
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"

	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/pmlm/api"
	"github.com/pmlm-go/pmlm/pmlm/client"
	"github.com/pmlm-go/pmlm/pmlm/server"
	"github.com/pmlm-go/pmlm/pmlm/synth"
)

func main() {
	url := flag.String("url", "", "base URL of a running pmlm server (default: serve a small model in-process)")
	flag.Parse()
	ctx := context.Background()
	if *url == "" {
		u, stop, err := serveSmallModel(ctx)
		if err != nil {
			log.Fatal(err)
		}
		defer stop()
		*url = u
	}
	cl := client.New(*url, client.WithToken(os.Getenv("PMLM_TOKEN")))

	// The model's catalogue: visits are sent with these metric names.
	m, err := cl.Model(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("model: %d metrics, %d labels, responder %s\n", len(m.Metrics), len(m.Labels), m.Responder.Provider)

	// A patient with three visits, values by metric name (any subset).
	v := func(x float64) *float64 { return &x }
	req := &api.PatientRequest{Visits: []api.Visit{
		{Date: "2021-03-01", Values: map[string]*float64{"HGB": v(118), "PLT": v(210), "WBC": v(8.1)}},
		{Date: "2021-05-10", Values: map[string]*float64{"HGB": v(109), "PLT": v(190), "ALT": v(21)}},
		{Date: "2021-07-02", Values: map[string]*float64{"HGB": v(104), "PLT": v(175), "WBC": v(11.2)}},
	}}
	a, err := cl.Respond(ctx, req)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("predicted label: %s\nrefined prompt: %s\nanswer: %s\n", a.PredictedLabel, a.Final, a.Answer.Text)

	// A value outside its metric's physical range is refused with the field named.
	req.Visits[0].Values["HGB"] = v(1e6)
	_, err = cl.Respond(ctx, req)
	var pe *client.Error
	if errors.As(err, &pe) {
		fmt.Printf("refused: %d %s at %s\n", pe.StatusCode, pe.Problem.Errors[0].Detail, pe.Problem.Errors[0].Pointer)
	}
}

// serveSmallModel trains a small model and serves it on a loopback port.
func serveSmallModel(ctx context.Context) (string, func(), error) {
	opts := synth.DefaultOptions()
	opts.Patients, opts.Visits = 120, 0
	c, err := synth.Generate(opts)
	if err != nil {
		return "", nil, err
	}
	p, err := pmlm.Train(ctx, c, pmlm.TrainOptions{MaxEpisodes: 16, MaxValidation: 8, Seed: 1})
	if err != nil {
		return "", nil, err
	}
	s, err := server.New(server.Config{Pipeline: p})
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, "", "") }()
	return "http://" + ln.Addr().String(), func() { cancel(); <-done }, nil
}
