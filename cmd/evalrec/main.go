// Command evalrec runs Go test suites into evalrec's store and answers
// questions about their history.
//
//	evalrec test [flags] [go test flags] [packages]   run a suite and store it
//	evalrec runs | show RUN | history TEST | trend     recent runs, one run, one test, trends
//	evalrec tests | configs | flaky                    per-test aggregates, configurations, flaky tests
//	evalrec compare BASE CAND [-fail-on ...]           significance-tested comparison and CI gate
//	evalrec changes [-since 7d] [-notify URL]          change points in every metric's history
//	evalrec prune -older-than 90d [-dry-run]           retention
//	evalrec replay                                     store spooled results
//	evalrec indexes                                    re-create the indexes
//	evalrec metrics                                    metric definitions in force, and metrics without one
//	evalrec ui [-addr A] | report [-o F] [RUN]          web UI and /metrics; a self-contained HTML or Markdown report
//	evalrec migrate -to URI | export | import DIR      move a history between stores
//	evalrec version | completion bash|zsh|fish         what is running; shell completion
//
// Every command reads the same configuration as the library: environment
// variables, or a .env file found up to the module root.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/peterbourgon/ff/v3/ffcli"

	"evalrec.dev/internal/clihint"
)

// exitError carries an exit code through ffcli's error return.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	collectorFor(os.Args[1:]).apply(os.Getenv)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// gcSettings are the garbage collector's settings for a command. GOGC and
// GOMEMLIMIT, when set, win.
type gcSettings struct {
	percent int   // GOGC; 0 leaves Go's default
	limit   int64 // the soft memory limit, in bytes
}

func (g gcSettings) apply(getenv func(string) string) {
	if g.percent != 0 && getenv("GOGC") == "" {
		debug.SetGCPercent(g.percent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(g.limit)
	}
}

// collectorFor returns the settings of the command args run. Every
// command has a soft limit: the collector works harder near it rather
// than let the heap double. On 30 runs of 50,000 tests, evalrec changes
// peaked at 160 MB without one and 133 MB under 128 MiB, and took less
// time.
//
// evalrec test holds a run's results until its summary has compared them,
// so its heap grows with the suite, and allocates about 9 KB a test as it
// stores it. On a cached suite of 50,000 tests it peaked at 119–152 MB
// under 128 MiB and 131–137 MB under 112 MiB, in the same time; on
// 100,000 tests at 154–159 MB and 141–142 MB. Under that limit, GOGC=200
// halves the collections while the heap is small, and the limit still
// bounds it: the 50,000-test suite ended 0.02–0.13 s sooner (three sets
// of seven rounds) at 130–137 MB; 100,000 tests took 3.6–3.8 s against
// 3.8–3.9 s, at 141–142 MB.
func collectorFor(args []string) gcSettings {
	if _, rest, _ := chdirFlag(args); len(rest) > 0 && rest[0] == "test" {
		return gcSettings{percent: 200, limit: 112 << 20}
	}
	return gcSettings{limit: 128 << 20}
}

// chdirFlag reads a leading -C DIR (or -C=DIR) off args.
func chdirFlag(args []string) (dir string, rest []string, ok bool) {
	switch {
	case len(args) > 0 && (args[0] == "-C" || args[0] == "--C"):
		if len(args) < 2 {
			return "", nil, true
		}
		return args[1], args[2:], true
	case len(args) > 0 && (strings.HasPrefix(args[0], "-C=") || strings.HasPrefix(args[0], "--C=")):
		_, dir, _ := strings.Cut(args[0], "=")
		return dir, args[1:], true
	}
	return "", args, false
}

// run is main without the process: it returns the exit code. Help that
// was asked for goes to stdout with exit 0; a usage mistake is one line on
// stderr, with the closest command or flag when there is one, and exit 2.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	env := &environment{stdin: os.Stdin, stdout: stdout, stderr: stderr}
	test := newTestCmd(env)
	root := &ffcli.Command{
		Name:       "evalrec",
		ShortUsage: "evalrec [-C DIR] <command> [flags] [args]",
		ShortHelp:  "Store Go test runs and ask questions about their history.",
		LongHelp: `evalrec stores every go test run of a suite, with its git commit,
environment, experiment tags, system, metrics and score, and answers
questions about their history. Run "evalrec <command> -h" for a command's
flags. "evalrec -C DIR <command>" runs the command in DIR, as go -C does.`,
		Subcommands: []*ffcli.Command{
			test.command(),
			newRunsCmd(env).command(),
			newShowCmd(env).command(),
			newHistoryCmd(env).command(),
			newTrendCmd(env).command(),
			newTestsCmd(env).command(),
			newConfigsCmd(env).command(),
			newFlakyCmd(env).command(),
			newChangesCmd(env).command(),
			newCompareCmd(env).command(),
			newMetricsCmd(env).command(),
			newUICmd(env).command(),
			newReportCmd(env).command(),
			newPruneCmd(env).command(),
			newReplayCmd(env).command(),
			newIndexesCmd(env).command(),
			newMigrateCmd(env).command(),
			newExportCmd(env).command(),
			newImportCmd(env).command(),
			newVersionCmd(env).command(),
		},
		Exec: func(context.Context, []string) error { return flag.ErrHelp },
	}
	for _, extra := range extraCommands {
		root.Subcommands = append(root.Subcommands, extra(env))
	}
	root.Subcommands = append(root.Subcommands, newCompletionCmd(env, root).command())
	root.FlagSet = flag.NewFlagSet("evalrec", flag.ContinueOnError)

	// -C DIR, first, changes to DIR before the command runs, as go -C
	// does: evalrec -C examples test ./scenario_test/ runs a suite of
	// another module, and stores it in that module's .evalrec.
	if dir, rest, ok := chdirFlag(args); ok {
		if dir == "" {
			fmt.Fprintln(stderr, "evalrec: -C needs a directory: evalrec -C DIR <command>")
			return 2
		}
		if err := os.Chdir(dir); err != nil {
			fmt.Fprintf(stderr, "evalrec: -C: %v\n", err)
			return 2
		}
		args = rest
	}

	switch {
	case len(args) == 0:
		fmt.Fprintln(stderr, ffcli.DefaultUsageFunc(root))
		return 2
	case isHelp(args[0]) || args[0] == "help":
		c := root
		if len(args) > 1 && args[0] == "help" {
			if c = subcommand(root, args[1]); c == nil {
				return unknownCommand(stderr, root, args[1])
			}
		}
		fmt.Fprintln(stdout, usage(c))
		return 0
	case strings.HasPrefix(args[0], "-"):
		fmt.Fprintf(stderr, "evalrec: flags go after the command: evalrec <command> %s (evalrec -h lists the commands)\n", args[0])
		return 2
	}
	cmd := subcommand(root, args[0])
	if cmd == nil {
		return unknownCommand(stderr, root, args[0])
	}
	// `evalrec test` passes everything that is not its own flag to go test,
	// which ffcli's flag parsing would reject; split those arguments off.
	if cmd.Name == "test" {
		args = append([]string{"test"}, test.splitArgs(args[1:])...)
	}
	var help bytes.Buffer
	for _, c := range root.Subcommands {
		c.FlagSet.SetOutput(&help)
	}
	if err := root.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, help.String())
			return 0
		}
		fmt.Fprintf(stderr, "evalrec %s: %s\n", cmd.Name, clihint.FlagMistake(err, cmd.FlagSet))
		return 2
	}
	err := root.Run(ctx)
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		// The command was used wrongly (a missing argument): its usage.
		fmt.Fprint(stderr, help.String())
		return 2
	case errors.As(err, &ee):
		return ee.code
	case strings.HasPrefix(err.Error(), "flag provided but not defined: "):
		// A flag after a positional argument (evalrec compare A B -x),
		// which the command parses itself.
		fmt.Fprintf(stderr, "evalrec %s: %s\n", cmd.Name, clihint.FlagMistake(err, cmd.FlagSet))
		return 2
	default:
		fmt.Fprintf(stderr, "evalrec: %v\n", err)
		return 1
	}
}

// extraCommands are added by builds with tags (serve.go).
var extraCommands []func(*environment) *ffcli.Command

// environment is what every command writes to.
type environment struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}
