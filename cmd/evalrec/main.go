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
//	evalrec migrate -to URI | export | import DIR      move a history between stores
//
// Every command reads the same configuration as the library: environment
// variables, or a .env file found up to the module root.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/peterbourgon/ff/v3/ffcli"
)

// exitError carries an exit code through ffcli's error return.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	env := &environment{stdout: stdout, stderr: stderr}
	test := newTestCmd(env)
	root := &ffcli.Command{
		Name:       "evalrec",
		ShortUsage: "evalrec <command> [flags] [args]",
		ShortHelp:  "Store Go test runs and ask questions about their history.",
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
			newPruneCmd(env).command(),
			newReplayCmd(env).command(),
			newIndexesCmd(env).command(),
			newMigrateCmd(env).command(),
			newExportCmd(env).command(),
			newImportCmd(env).command(),
		},
		Exec: func(context.Context, []string) error { return flag.ErrHelp },
	}
	for _, extra := range extraCommands {
		root.Subcommands = append(root.Subcommands, extra(env))
	}
	// `evalrec test` passes everything after its own flags to go test, which
	// ffcli's flag parsing would reject; split those arguments off first.
	args = test.splitArgs(args)

	root.FlagSet = flag.NewFlagSet("evalrec", flag.ContinueOnError)
	root.FlagSet.SetOutput(stderr)
	for _, c := range root.Subcommands {
		c.FlagSet.SetOutput(stderr)
	}
	err := root.ParseAndRun(ctx, args)
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 2
	case errors.As(err, &ee):
		return ee.code
	default:
		fmt.Fprintf(stderr, "evalrec: %v\n", err)
		return 1
	}
}

// extraCommands are added by builds with tags (serve.go).
var extraCommands []func(*environment) *ffcli.Command

// environment is what every command writes to.
type environment struct {
	stdout, stderr io.Writer
}
