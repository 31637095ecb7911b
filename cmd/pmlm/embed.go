package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/pmlm-go/pmlm/encoder/use"
	"github.com/pmlm-go/pmlm/pmlm"
)

// embedCommand prints the tokens and sentence vector of each line of a
// file with the embedded Universal Sentence Encoder lite.
func embedCommand() command {
	return command{
		name:  "embed",
		usage: "embed --text use [--json] FILE",
		summary: "embed each line of FILE (one sentence per line) with a text encoder and print its\n" +
			"token ids, pieces and 512-d sentence vector (one JSON object per line with --json).\n" +
			"--text use is the embedded Universal Sentence Encoder lite; texts of more than 128\n" +
			"pieces are read in overlapping windows (\"windows\" > 1) and their vector pools all\n" +
			"tokens. Empty lines are errors.",
		flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			text := fs.String("text", pmlm.TextUSE, "text encoder: use (only it has sentence vectors)")
			asJSON := fs.Bool("json", false, "print one JSON object per line")
			return func(ctx context.Context, e *env, args []string) error {
				if err := wantArgs(args, 1); err != nil {
					return err
				}
				if *text != pmlm.TextUSE {
					return fmt.Errorf("%w: --text %q: only use has sentence vectors", errUsage, *text)
				}
				lines, err := readEmbedLines(args[0])
				if err != nil {
					return err
				}
				m, err := use.Default()
				if err != nil {
					return err
				}
				docs, err := m.Documents(ctx, lines)
				if err != nil {
					return err
				}
				w := bufio.NewWriter(e.stdout)
				enc := json.NewEncoder(w)
				for i, d := range docs {
					rec := embedRecord{Line: i + 1, IDs: make([]int, len(d.Tokens)), Pieces: make([]string, len(d.Tokens)),
						Windows: d.Windows, Vector: d.Vector}
					for j, tk := range d.Tokens {
						rec.IDs[j], rec.Pieces[j] = tk.ID, tk.Piece
					}
					if *asJSON {
						if err := enc.Encode(rec); err != nil {
							return err
						}
						continue
					}
					fmt.Fprintf(w, "%d\t%d pieces\t%v\n\tvector[:4] = %.6f\n", rec.Line, len(rec.IDs), rec.Pieces, rec.Vector[:4])
				}
				return w.Flush()
			}
		},
	}
}

// embedRecord is one line of 'pmlm embed --json'.
type embedRecord struct {
	Line    int       `json:"line"`
	IDs     []int     `json:"ids"`
	Pieces  []string  `json:"pieces"`
	Windows int       `json:"windows"`
	Vector  []float32 `json:"vector"`
}

// readEmbedLines reads one text per line; an empty line is an error
// naming it (a blank sentence has no meaning to embed).
func readEmbedLines(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if line == "" {
			return nil, fmt.Errorf("%s:%d: empty line", name, n)
		}
		lines = append(lines, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(lines) == 0 {
		return nil, errors.New(name + ": no lines")
	}
	return lines, nil
}
