// Command pmlm is the command-line tool of the PMLM library: it synthesizes
// and validates cohorts, and runs the personalized-prompting pipeline.
//
// Run "pmlm help" for the list of subcommands and "pmlm SUBCOMMAND --help"
// for the flags of one of them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand of the tool.
type command struct {
	name    string
	usage   string // the synopsis after "pmlm", e.g. "validate DIR"
	summary string // one line for "pmlm help"
	// flags declares the subcommand's flags on fs and returns the function
	// that runs it on the positional arguments once fs is parsed.
	flags func(fs *flag.FlagSet) func(ctx context.Context, env *env, args []string) error
}

// env is what a subcommand may touch of the outside world; tests replace it.
type env struct {
	stdout, stderr io.Writer
}

// commands lists the subcommands. Each lives in a file of its own.
func commands() []command {
	return []command{
		synthCommand(),
		demoCommand(),
		trainCommand(),
		respondCommand(),
		serveCommand(),
		loadtestCommand(),
		neighborsCommand(),
		experimentCommand(),
		promptCommand(),
		corpusCommand(),
		lmCommand(),
		headroomCommand(),
		validateCommand(),
		tsBenchCommand(),
		predictStudyCommand(),
		scoreCommand(),
		embedCommand(),
		separationCommand(),
		askCommand(),
	}
}

// errUsage marks an error already explained by the usage text.
var errUsage = errors.New("usage error")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &env{stdout: os.Stdout, stderr: os.Stderr})
	stop()
	os.Exit(code)
}

// run executes the tool with the given arguments and returns the exit status.
func run(ctx context.Context, args []string, e *env) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		if len(args) > 1 {
			args = []string{args[1], "--help"}
		} else {
			printHelp(e.stdout, cmds)
			if len(args) == 0 {
				return 2
			}
			return 0
		}
	}
	var cmd *command
	for i := range cmds {
		if cmds[i].name == args[0] {
			cmd = &cmds[i]
		}
	}
	if cmd == nil {
		fmt.Fprintf(e.stderr, "pmlm: unknown command %q; run 'pmlm help'\n", args[0])
		return 2
	}
	fs := flag.NewFlagSet("pmlm "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	usage := func() {
		fmt.Fprintf(fs.Output(), "usage: pmlm %s\n\n%s\n", cmd.usage, cmd.summary)
		if hasFlags(fs) {
			fmt.Fprintln(fs.Output(), "\nflags:")
			fs.PrintDefaults()
		}
	}
	// The flag package prints the usage itself on -h and on a parse error;
	// it is printed here instead, once: on stdout for --help, on stderr
	// after an error.
	fs.Usage = func() {}
	runCmd := cmd.flags(fs)
	positional, err := parseInterspersed(fs, args[1:])
	fs.Usage = usage
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(e.stdout)
		fs.Usage()
		return 0
	}
	if err != nil {
		fs.Usage()
		return 2
	}
	if err = checkFlagRanges(cmd.name, fs); err == nil {
		err = runCmd(ctx, e, positional)
	}
	if err != nil {
		if errors.Is(err, errUsage) {
			fmt.Fprintf(e.stderr, "pmlm %s: %v\n\n", cmd.name, err)
			fs.Usage()
			return 2
		}
		fmt.Fprintf(e.stderr, "pmlm %s: %v\n", cmd.name, err)
		return 1
	}
	return 0
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// parseInterspersed parses fs from args and returns the positional
// arguments. Unlike fs.Parse it accepts flags after positional arguments
// ("pmlm train DATA --out MODEL"); "--" ends flag parsing.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		// fs.Parse stops at the first positional argument or after "--".
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// wantArgs checks the number of positional arguments.
func wantArgs(args []string, n int) error {
	if len(args) != n {
		return fmt.Errorf("%w: want %d argument(s), got %d", errUsage, n, len(args))
	}
	return nil
}

func printHelp(w io.Writer, cmds []command) {
	fmt.Fprintln(w, "pmlm — personalized medical prompting (PMLM) from the command line")
	fmt.Fprintln(w, "\nusage: pmlm COMMAND [ARGS] [FLAGS]\n\ncommands:")
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	width := 0
	for _, c := range cmds {
		width = max(width, len(c.name))
	}
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, firstLine(c.summary))
	}
	fmt.Fprintln(w, "\nRun 'pmlm COMMAND --help' for the flags of a command.")
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
