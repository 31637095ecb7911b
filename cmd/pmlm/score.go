package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/pmlm-go/pmlm/encoder"
	"github.com/pmlm-go/pmlm/encoder/bert"
	"github.com/pmlm-go/pmlm/encoder/wordvec"
	"github.com/pmlm-go/pmlm/pmlm"
	"github.com/pmlm-go/pmlm/reward"
)

// scoreCommand scores candidate lines against reference lines with BLEU,
// ROUGE or BERTScore.
func scoreCommand() command {
	return command{
		name: "score",
		usage: "score --metric bleu|rouge|bertscore --cands FILE --refs FILE[,FILE...] " +
			"[--text glove|use | --model DIR [--layer K]] [--idf] [--rescale FILE] [--json]",
		summary: "score candidate texts against references with BLEU, ROUGE or BERTScore\n\n" +
			"FILEs hold one text per line; line i of --cands is scored against line i of every\n" +
			"--refs file (several files are reference streams, as sacrebleu takes them).\n" +
			"Empty lines and files of different lengths are errors.\n\n" +
			"bleu: sacrebleu's BLEU (0-100): corpus BLEU, and sentence BLEU per pair\n" +
			"  (effective order, as sacrebleu's sentence_bleu).\n" +
			"rouge: rouge_score's rouge1, rouge2, rougeL and rougeLsum per pair (the best\n" +
			"  reference per type) and their means. One line is one summary, so rougeLsum\n" +
			"  sees a single sentence per text.\n" +
			"bertscore: bert_score's P, R, F per pair and their means. Without --model it uses\n" +
			"  an embedded text encoder and says so: --text glove (the default), the static word\n" +
			"  vectors " + wordvec.DefaultName + ", or --text use, Universal Sentence Encoder lite's\n" +
			"  contextual token states (use-lite/layer-1);\n" +
			"  --model DIR loads a BERT-family model in HuggingFace layout, at --layer K or\n" +
			"  bert_score's default layer for the directory's name (else the last layer).\n" +
			"  --idf weighs tokens by idf over the references; --rescale FILE rescales with a\n" +
			"  bert_score baseline file at the model's layer.",
		flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			metric := fs.String("metric", "", "bleu, rouge or bertscore")
			cands := fs.String("cands", "", "file of candidate texts, one per line")
			refs := fs.String("refs", "", "file(s) of reference texts, one per line, comma-separated")
			model := fs.String("model", "", "BERTScore: BERT model directory (HuggingFace layout)")
			textName := fs.String("text", "", "BERTScore without --model: embedded text encoder, glove (default) or use")
			layer := fs.Int("layer", -1, "BERTScore: hidden layer of --model (default: bert_score's layer for the model)")
			idf := fs.Bool("idf", false, "BERTScore: idf weights over the references")
			rescale := fs.String("rescale", "", "BERTScore: bert_score baseline file to rescale with")
			tokenize := fs.String("tokenize", reward.Tokenize13a, "BLEU: tokenizer (13a, none, intl, char)")
			stem := fs.Bool("stem", false, "ROUGE: Porter stemming (rouge_score's use_stemmer)")
			asJSON := fs.Bool("json", false, "print one JSON object")
			return func(ctx context.Context, e *env, args []string) error {
				if err := wantArgs(args, 0); err != nil {
					return err
				}
				if *cands == "" || *refs == "" {
					return errors.New("--cands and --refs are required")
				}
				isBERT := *metric == "bertscore"
				if !isBERT && (*model != "" || *layer >= 0 || *idf || *rescale != "" || *textName != "") {
					return errors.New("--model, --text, --layer, --idf and --rescale apply to --metric bertscore only")
				}
				if *model != "" && *textName != "" {
					return errors.New("--text and --model are two text encoders: pass one")
				}
				candLines, refStreams, err := readScoreInputs(*cands, strings.Split(*refs, ","))
				if err != nil {
					return err
				}
				var res any
				switch *metric {
				case "bleu":
					res, err = scoreBLEU(candLines, refStreams, *tokenize)
				case "rouge":
					res, err = scoreROUGE(candLines, refStreams, *stem)
				case "bertscore":
					res, err = scoreBERT(ctx, candLines, refStreams, bertFlags{model: *model, text: *textName, layer: *layer, idf: *idf, rescale: *rescale})
				default:
					return fmt.Errorf("--metric must be bleu, rouge or bertscore, not %q", *metric)
				}
				if err != nil {
					return err
				}
				if *asJSON {
					enc := json.NewEncoder(e.stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(res)
				}
				return res.(textReport).writeText(e.stdout)
			}
		},
	}
}

// textReport is a score result that prints itself for humans.
type textReport interface{ writeText(w io.Writer) error }

// readScoreInputs reads the candidate file and the reference streams and
// checks that they are non-empty, line-aligned UTF-8 without empty lines.
func readScoreInputs(candPath string, refPaths []string) ([]string, [][]string, error) {
	cands, err := readLines(candPath)
	if err != nil {
		return nil, nil, err
	}
	streams := make([][]string, len(refPaths))
	for k, p := range refPaths {
		if p == "" {
			return nil, nil, errors.New("empty file name in --refs")
		}
		if streams[k], err = readLines(p); err != nil {
			return nil, nil, err
		}
		if len(streams[k]) != len(cands) {
			return nil, nil, fmt.Errorf("%s has %d lines but %s has %d: one reference per candidate line is needed",
				p, len(streams[k]), candPath, len(cands))
		}
	}
	return cands, streams, nil
}

// readLines returns the lines of a text file (without "\n" or "\r\n"),
// rejecting empty files, empty lines and invalid UTF-8.
func readLines(path string) ([]string, error) {
	b, err := readInputFile(path)
	if err != nil {
		return nil, err
	}
	text := strings.TrimSuffix(string(b), "\n")
	if text == "" {
		return nil, fmt.Errorf("%s: no lines", path)
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		l = strings.TrimSuffix(l, "\r")
		lines[i] = l
		if strings.TrimSpace(l) == "" {
			return nil, fmt.Errorf("%s:%d: empty line (every line must hold one text)", path, i+1)
		}
		if col := invalidUTF8Column(l); col > 0 {
			return nil, fmt.Errorf("%s:%d:%d: invalid UTF-8", path, i+1, col)
		}
	}
	return lines, nil
}

// invalidUTF8Column returns the 1-based column (in characters) of the
// first invalid UTF-8 byte of s, or 0 if s is valid.
func invalidUTF8Column(s string) int {
	col := 1
	for i := 0; i < len(s); col++ {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return col
		}
		i += size
	}
	return 0
}

// pairRefs turns reference streams into the references of candidate i.
func pairRefs(streams [][]string, i int) []string {
	out := make([]string, len(streams))
	for k := range streams {
		out[k] = streams[k][i]
	}
	return out
}

type bleuReport struct {
	Metric   string     `json:"metric"`
	Tokenize string     `json:"tokenize"`
	Pairs    []bleuPair `json:"pairs"`
	Corpus   bleuCorpus `json:"corpus"`
}

type bleuPair struct {
	BLEU float64 `json:"bleu"`
}

type bleuCorpus struct {
	BLEU       float64   `json:"bleu"`
	Counts     []int     `json:"counts"`
	Totals     []int     `json:"totals"`
	Precisions []float64 `json:"precisions"`
	BP         float64   `json:"bp"`
	SysLen     int       `json:"sys_len"`
	RefLen     int       `json:"ref_len"`
}

func scoreBLEU(cands []string, streams [][]string, tokenize string) (*bleuReport, error) {
	corpus, err := reward.NewBLEU(reward.BLEUOptions{Tokenize: tokenize})
	if err != nil {
		return nil, err
	}
	sentence, err := reward.NewBLEU(reward.BLEUOptions{Tokenize: tokenize, EffectiveOrder: true})
	if err != nil {
		return nil, err
	}
	rep := &bleuReport{Metric: "bleu", Tokenize: tokenize}
	for i, c := range cands {
		s, err := sentence.Sentence(c, pairRefs(streams, i))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		rep.Pairs = append(rep.Pairs, bleuPair{BLEU: s.Score})
	}
	s, err := corpus.Corpus(cands, streams)
	if err != nil {
		return nil, err
	}
	rep.Corpus = bleuCorpus{BLEU: s.Score, Counts: s.Counts, Totals: s.Totals, Precisions: s.Precisions, BP: s.BP, SysLen: s.SysLen, RefLen: s.RefLen}
	return rep, nil
}

func (r *bleuReport) writeText(w io.Writer) error {
	for i, p := range r.Pairs {
		fmt.Fprintf(w, "%d\tsentence BLEU %.2f\n", i+1, p.BLEU)
	}
	c := r.Corpus
	_, err := fmt.Fprintf(w, "BLEU = %.2f %s (BP = %.3f ratio = %.3f hyp_len = %d ref_len = %d; tokenize %s)\n",
		c.BLEU, formatPrecisions(c.Precisions), c.BP, float64(c.SysLen)/float64(max(c.RefLen, 1)), c.SysLen, c.RefLen, r.Tokenize)
	return err
}

func formatPrecisions(p []float64) string {
	parts := make([]string, len(p))
	for i, x := range p {
		parts[i] = fmt.Sprintf("%.1f", x)
	}
	return strings.Join(parts, "/")
}

var rougeTypes = []string{reward.ROUGE1, reward.ROUGE2, reward.ROUGEL, reward.ROUGELsum}

type rougeReport struct {
	Metric string                  `json:"metric"`
	Stem   bool                    `json:"stem"`
	Pairs  []map[string]reward.PRF `json:"pairs"`
	Corpus map[string]reward.PRF   `json:"corpus"`
}

func scoreROUGE(cands []string, streams [][]string, stem bool) (*rougeReport, error) {
	r, err := reward.NewROUGE(rougeTypes, stem)
	if err != nil {
		return nil, err
	}
	rep := &rougeReport{Metric: "rouge", Stem: stem, Corpus: map[string]reward.PRF{}}
	n := float64(len(cands))
	for i, c := range cands {
		s := r.ScoreMulti(pairRefs(streams, i), c)
		rep.Pairs = append(rep.Pairs, s)
		for typ, v := range s {
			m := rep.Corpus[typ]
			m.Precision += v.Precision / n
			m.Recall += v.Recall / n
			m.FMeasure += v.FMeasure / n
			rep.Corpus[typ] = m
		}
	}
	return rep, nil
}

func (r *rougeReport) writeText(w io.Writer) error {
	line := func(prefix string, s map[string]reward.PRF) {
		fmt.Fprint(w, prefix)
		for _, typ := range rougeTypes {
			fmt.Fprintf(w, "\t%s P=%.4f R=%.4f F=%.4f", typ, s[typ].Precision, s[typ].Recall, s[typ].FMeasure)
		}
		fmt.Fprintln(w)
	}
	for i, p := range r.Pairs {
		line(fmt.Sprint(i+1), p)
	}
	line("mean", r.Corpus)
	return nil
}

type bertFlags struct {
	model   string
	layer   int
	text    string
	idf     bool
	rescale string
}

type bertReport struct {
	Metric   string         `json:"metric"`
	Embedder string         `json:"embedder"`
	Default  bool           `json:"embedded_default"`
	IDF      bool           `json:"idf"`
	Rescaled bool           `json:"rescaled"`
	Pairs    []reward.Score `json:"pairs"`
	Corpus   reward.Score   `json:"corpus"`
	Warnings []string       `json:"warnings,omitempty"`
}

func scoreBERT(ctx context.Context, cands []string, streams [][]string, f bertFlags) (*bertReport, error) {
	var enc encoder.TextEncoder
	layer := -1
	if f.model == "" {
		if f.layer >= 0 {
			return nil, errors.New("--layer needs --model (the embedded encoders' layer is part of --text)")
		}
		if f.rescale != "" {
			return nil, errors.New("--rescale needs --model (bert_score publishes no baseline for the embedded encoders)")
		}
		name := f.text
		if name == "" {
			name = pmlm.DefaultText
		}
		v, err := pmlm.BuiltinTextEncoder(name)
		if err != nil {
			return nil, fmt.Errorf("--text: %w", err)
		}
		enc = v
	} else {
		opts := bert.Options{}
		switch {
		case f.layer >= 0:
			opts.Layer = bert.LayerOf(f.layer)
		default:
			if l, ok := reward.DefaultLayer(filepath.Base(filepath.Clean(f.model))); ok {
				opts.Layer = bert.LayerOf(l)
			}
		}
		m, err := bert.Load(ctx, f.model, opts)
		if err != nil {
			return nil, err
		}
		enc, layer = m, m.Layer()
	}
	opts := reward.BERTScoreOptions{IDF: f.idf}
	if f.rescale != "" {
		b, err := reward.LoadBaseline(f.rescale, layer)
		if err != nil {
			return nil, err
		}
		opts.Baseline = &b
	}
	refs := make([][]string, len(cands))
	for i := range cands {
		refs[i] = pairRefs(streams, i)
	}
	res, err := reward.NewBERTScorer(enc, opts).Score(ctx, cands, refs)
	if err != nil {
		return nil, err
	}
	return &bertReport{Metric: "bertscore", Embedder: res.Embedder, Default: f.model == "", IDF: res.IDF,
		Rescaled: res.Rescaled, Pairs: res.Pairs, Corpus: res.Mean, Warnings: res.Warnings}, nil
}

func (r *bertReport) writeText(w io.Writer) error {
	src := ""
	if r.Default {
		src = " (embedded text encoder; --text use for Universal Sentence Encoder lite, --model DIR for a BERT model)"
	}
	fmt.Fprintf(w, "embedder: %s%s, idf %v, rescaled %v\n", r.Embedder, src, r.IDF, r.Rescaled)
	for _, warn := range r.Warnings {
		fmt.Fprintln(w, "warning:", warn)
	}
	for i, p := range r.Pairs {
		fmt.Fprintf(w, "%d\tP=%.6f R=%.6f F=%.6f\n", i+1, p.P, p.R, p.F)
	}
	_, err := fmt.Fprintf(w, "mean\tP=%.6f R=%.6f F=%.6f\n", r.Corpus.P, r.Corpus.R, r.Corpus.F)
	return err
}
