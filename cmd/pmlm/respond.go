package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"

	"github.com/pmlm-go/pmlm/llm"
	"github.com/pmlm-go/pmlm/pmlm"
)

// respondCommand answers one patient with a trained model.
func respondCommand() command {
	return command{
		name:  "respond",
		usage: "respond MODEL DATA --patient ID [--refine policy|bayes] [--llm PROVIDER --model M [--base-url URL]] [--cache FILE] [--json]",
		summary: "build a patient's personalized prompt with a trained model and ask the responder\n\n" +
			"Prints the predicted label, the similar patients' labels, the coarse prompt, the\n" +
			"deleted words, the refined prompt and the answer. Without --llm the model's own\n" +
			"responder answers: the general LM it embeds, or its offline case responder. The\n" +
			"prompt sent to the responder holds no identifier and no lab value. DATA is read with\n" +
			"the data flags the model was trained with (--max-visits, --lenient, the split) unless\n" +
			"they are given.\n\n" +
			"--refine bayes refines by minimum Bayes risk instead of the model's policy (beyond the\n" +
			"paper): the responder answers the coarse prompt and each candidate that keeps or deletes\n" +
			"one diagnosis it names (about 7 calls, not 1), and the answer with the highest expected\n" +
			"BERTScore-F1 against the replies of training patients with each diagnosis, weighed by the\n" +
			"predictor's probabilities, is kept. DATA must then hold all the model's training patients\n" +
			"(--bayes-replies, --bayes-seed).",
		flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			id := fs.String("patient", "", "patient ID in DATA (required)")
			provider := fs.String("llm", "", "responder: "+strings.Join(llm.Providers(), ", ")+" (default: the model's own responder)")
			model := fs.String("model", "", "model name of the LLM provider")
			baseURL := fs.String("base-url", "", "endpoint (openai-compatible)")
			guard := guardFlags(fs)
			cachePath := fs.String("cache", "", "persistent response cache file (bbolt)")
			asJSON := fs.Bool("json", false, "print the result as JSON (pmlm.Answer)")
			data := addDataFlags(fs)
			coarse := fs.Bool("coarse", false, "also ask the responder for its answer to the coarse prompt (one more call)")
			index := indexFlag(fs)
			refine := fs.String("refine", "policy", "how the coarse prompt is refined: policy (the paper's) or bayes (minimum Bayes risk)")
			bayes := addBayesFlags(fs)
			return func(ctx context.Context, e *env, args []string) error {
				if err := wantArgs(args, 2); err != nil {
					return err
				}
				if *refine != "policy" && *refine != "bayes" {
					return fmt.Errorf("%w: --refine must be policy or bayes, got %q", errUsage, *refine)
				}
				if *refine != "bayes" {
					if err := bayes.unused("--refine bayes"); err != nil {
						return err
					}
				}
				if *id == "" {
					return fmt.Errorf("%w: --patient is required", errUsage)
				}
				if err := checkIndexFlag(args[0], *index); err != nil {
					return err
				}
				opts := pmlm.LoadOptions{Loaders: indexLoaders(ctx, *index),
					Warn: func(msg string) { fmt.Fprintln(e.stderr, "warning:", msg) }}
				if *provider != "" {
					g, err := guard()
					if err != nil {
						return err
					}
					r, err := llm.New(ctx, llm.Config{Provider: *provider, Model: *model, BaseURL: *baseURL, Guard: g})
					if err != nil {
						return err
					}
					opts.Responder = r
				}
				if *cachePath != "" {
					if opts.Responder == nil {
						return fmt.Errorf("%w: --cache needs --llm", errUsage)
					}
					store, err := llm.OpenCache(*cachePath, nil)
					if err != nil {
						return err
					}
					defer store.Close()
					opts.Responder = llm.Cached(opts.Responder, store)
				}
				p, err := pmlm.Load(ctx, args[0], opts)
				if err != nil {
					return err
				}
				// DATA is read as the model's cohort was, unless the
				// data flags say otherwise.
				data.useModelNote(e, p)
				c, err := data.read(e, args[1])
				if err != nil {
					return err
				}
				pt := c.Patient(*id)
				if pt == nil {
					return fmt.Errorf("no patient %q in %s", *id, args[1])
				}
				// DATA's catalogue is matched to the model's by name.
				ro := pmlm.RespondOptions{Coarse: *coarse, Metrics: c.Metrics}
				if *refine == "bayes" {
					if ro.Bayes, err = bayes.refiner(p, c, args[1]); err != nil {
						return err
					}
				}
				a, err := p.Respond(ctx, pt, ro)
				if err != nil {
					return err
				}
				if *asJSON {
					enc := json.NewEncoder(e.stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(a)
				}
				fmt.Fprintf(e.stdout, "predicted label: %s\nsimilar patients:", a.PredictedLabel)
				for _, s := range a.Similar {
					fmt.Fprintf(e.stdout, " %s ×%d;", s.Label, s.Count)
				}
				fmt.Fprintf(e.stdout, "\n\ncoarse prompt:\n%s\n\ndeleted:", a.Coarse)
				for _, d := range a.Deletions {
					fmt.Fprintf(e.stdout, " %q (word %d, step %d)", d.Word, d.Index, d.Step+1)
				}
				if len(a.Deletions) == 0 {
					fmt.Fprint(e.stdout, " none")
				}
				if a.Bayes != nil {
					fmt.Fprintf(e.stdout, "\n\nrefined by minimum Bayes risk: %d candidate prompts answered; expected BERTScore-F1 %.4f (coarse prompt %.4f)",
						a.Bayes.Candidates, a.Bayes.Expected, a.Bayes.CoarseExpected)
				}
				if a.CoarseResponse != nil {
					fmt.Fprintf(e.stdout, "\n\nanswer to the coarse prompt (%s):\n%s", a.CoarseResponse.Model, a.CoarseResponse.Text)
				}
				fmt.Fprintf(e.stdout, "\n\nrefined prompt:\n%s\n\nanswer (%s):\n%s\n", a.Final, a.Response.Model, a.Response.Text)
				return nil
			}
		},
	}
}
