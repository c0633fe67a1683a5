package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"evalrec.dev/internal/timespec"
	"evalrec.dev/store"
)

type pruneCmd struct {
	env         *environment
	fs          *flag.FlagSet
	olderThan   string
	dryRun      bool
	json        bool
	yes         bool
	project     string
	allProjects bool
}

func newPruneCmd(env *environment) *pruneCmd {
	c := &pruneCmd{env: env, fs: flag.NewFlagSet("prune", flag.ContinueOnError)}
	c.fs.StringVar(&c.olderThan, "older-than", "", "delete runs that started longer ago than this: 90d (days), 2w (weeks), 36h (hours), 30m (minutes)")
	c.fs.BoolVar(&c.yes, "yes", false, "do not ask for confirmation (needed past 100 runs when stdin is not a terminal)")
	c.fs.BoolVar(&c.dryRun, "dry-run", false, "only count what would be deleted")
	c.fs.BoolVar(&c.json, "json", false, "print JSON")
	registerProject(c.fs, &c.project, &c.allProjects)
	return c
}

func (c *pruneCmd) command() *ffcli.Command {
	return &ffcli.Command{
		Name: "prune", ShortUsage: "evalrec prune -older-than 90d [-dry-run]",
		ShortHelp: "Delete old runs together with their test runs; never leaves orphans.", FlagSet: c.fs, Exec: c.Run,
	}
}

// Run prunes.
func (c *pruneCmd) Run(ctx context.Context, _ []string) error {
	if c.olderThan == "" {
		return errors.New("prune needs -older-than, e.g. -older-than 90d")
	}
	age, err := timespec.Age(c.olderThan)
	if err != nil {
		return fmt.Errorf("-older-than %q: want a duration such as 90d, 2w or 36h", c.olderThan)
	}
	conn, err := openStore(ctx, c.env)
	if err != nil {
		return err
	}
	defer conn.Close()
	cutoff := time.Now().Add(-age)
	filter := store.RunFilter{Until: cutoff, Project: projectScope(c.project, c.allProjects)}
	if !c.dryRun && !c.yes {
		if err := c.confirm(ctx, conn.DB, filter); err != nil {
			return err
		}
	}
	rep, err := conn.DB.Prune(ctx, filter, c.dryRun)
	// An SQLite file keeps the pages it freed: give them back.
	var before, after int64
	compacted := false
	if err == nil && !c.dryRun && rep.Runs > 0 {
		before, after, compacted, err = conn.DB.Compact(ctx)
		if err != nil {
			err = fmt.Errorf("the runs are deleted, but giving their space back failed: %w", err)
		}
	}
	if c.json {
		return errors.Join(err, printJSON(c.env.stdout, map[string]any{"dry_run": c.dryRun, "cutoff": cutoff,
			"runs": rep.Runs, "test_runs": rep.TestRuns, "parts": rep.Parts, "bytes_before": before, "bytes_after": after}))
	}
	verb := "deleted"
	if c.dryRun {
		verb = "would delete"
	}
	fmt.Fprintf(c.env.stdout, "%s %d runs, %d test runs and %d parts started before %s\n", verb, rep.Runs, rep.TestRuns, rep.Parts, fmtTime(cutoff))
	if compacted && err == nil {
		fmt.Fprintf(c.env.stdout, "the store's files went from %s to %s\n", megabytes(before), megabytes(after))
	}
	return err
}

func megabytes(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// pruneUnasked is how many runs prune deletes without asking when it cannot
// ask (stdin is not a terminal).
const pruneUnasked = 100

// confirm asks on a terminal before anything is deleted, and refuses past
// pruneUnasked runs elsewhere: "-older-than 1m" is a minute, and a user who
// meant a month should see the cutoff before the history goes.
func (c *pruneCmd) confirm(ctx context.Context, db *store.DB, f store.RunFilter) error {
	rep, err := db.Prune(ctx, f, true)
	if err != nil || rep.Runs == 0 {
		return err
	}
	what := fmt.Sprintf("%d runs and %d test runs started before %s", rep.Runs, rep.TestRuns, fmtTime(f.Until))
	if !isTerminal(c.env.stdin) {
		if rep.Runs > pruneUnasked {
			return fmt.Errorf("this would delete %s; pass -yes to confirm (or -dry-run to look first)", what)
		}
		return nil
	}
	fmt.Fprintf(c.env.stdout, "delete %s? [y/N] ", what)
	answer, _ := bufio.NewReader(c.env.stdin).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
		return exitError{1}
	}
	return nil
}
