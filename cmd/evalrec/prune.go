package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"evalrec.dev/store"
)

type pruneCmd struct {
	env         *environment
	fs          *flag.FlagSet
	olderThan   string
	dryRun      bool
	json        bool
	project     string
	allProjects bool
}

func newPruneCmd(env *environment) *pruneCmd {
	c := &pruneCmd{env: env, fs: flag.NewFlagSet("prune", flag.ContinueOnError)}
	c.fs.StringVar(&c.olderThan, "older-than", "", "delete runs that started longer ago than this (90d, 2w, 36h)")
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
	age, err := parseAge(c.olderThan)
	if err != nil {
		return fmt.Errorf("-older-than %q: want a duration such as 90d, 2w or 36h", c.olderThan)
	}
	conn, err := openStore(ctx, c.env)
	if err != nil {
		return err
	}
	defer conn.Close()
	cutoff := time.Now().Add(-age)
	rep, err := conn.DB.Prune(ctx, store.RunFilter{Until: cutoff, Project: projectScope(c.project, c.allProjects)}, c.dryRun)
	if c.json {
		return errors.Join(err, printJSON(c.env.stdout, map[string]any{"dry_run": c.dryRun, "cutoff": cutoff,
			"runs": rep.Runs, "test_runs": rep.TestRuns, "parts": rep.Parts}))
	}
	verb := "deleted"
	if c.dryRun {
		verb = "would delete"
	}
	fmt.Fprintf(c.env.stdout, "%s %d runs, %d test runs and %d parts started before %s\n", verb, rep.Runs, rep.TestRuns, rep.Parts, fmtTime(cutoff))
	return err
}
