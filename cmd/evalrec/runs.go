package main

import (
	"context"
	"flag"
	"fmt"

	"evalrec.dev/internal/jsonout"
	"github.com/peterbourgon/ff/v3/ffcli"
)

type runsCmd struct {
	env    *environment
	fs     *flag.FlagSet
	q      queryFlags
	status string
	hash   string
}

func newRunsCmd(env *environment) *runsCmd {
	c := &runsCmd{env: env, fs: flag.NewFlagSet("runs", flag.ContinueOnError)}
	c.q.register(c.fs, 20)
	c.fs.StringVar(&c.status, "status", "", "only runs with this status (running, completed, failed)")
	c.fs.StringVar(&c.hash, "config", "", "only runs with this system_info_hash (a prefix is enough)")
	return c
}

func (c *runsCmd) command() *ffcli.Command {
	return &ffcli.Command{
		Name: "runs", ShortUsage: "evalrec runs [-limit N] [-since 30d] [-tag t] [-env e] [-branch b] [-status s] [-json]",
		ShortHelp: "List recent evaluation runs.", FlagSet: c.fs, Exec: c.Run,
	}
}

// Run lists runs.
func (c *runsCmd) Run(ctx context.Context, _ []string) error {
	f, err := c.q.runFilter()
	if err != nil {
		return err
	}
	f.Status = c.status
	conn, err := openStore(ctx, c.env)
	if err != nil {
		return err
	}
	defer conn.Close()
	if c.hash != "" {
		f.Limit = 0 // filter by prefix below
	}
	runs, err := conn.DB.Runs(ctx, f)
	if err != nil {
		return err
	}
	if c.hash != "" {
		kept := runs[:0]
		for _, r := range runs {
			if len(r.SystemInfoHash) >= len(c.hash) && r.SystemInfoHash[:len(c.hash)] == c.hash {
				kept = append(kept, r)
			}
		}
		runs = kept
		if c.q.limit > 0 && len(runs) > c.q.limit {
			runs = runs[:c.q.limit]
		}
	}
	if c.q.json {
		return printJSON(c.env.stdout, jsonout.Object{{Key: "runs", Value: runs}})
	}
	if len(runs) == 0 {
		fmt.Fprintln(c.env.stdout, "no runs")
		return nil
	}
	p := newPainter(c.env.stdout)
	w := table(c.env.stdout)
	fmt.Fprintln(w, "STARTED\tRUN\tSTATUS\tPASSED\tFAILED\tSKIPPED\tSCORE\tENV\tTAGS\tCONFIG")
	for _, r := range runs {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d/%d\t%d\t%d\t%s\t%s\t%s\t%s\n", fmtTime(r.StartedAt), r.EvaluationRunID, p.runStatus(r),
			r.NumPassed, r.NumTests, r.NumFailed+r.NumIncomplete, r.NumSkipped, fmtScore(r.Score), r.Environment,
			joinTags(r.ExperimentTags), short(r.SystemInfoHash, 8))
	}
	return w.Flush()
}

func joinTags(t []string) string {
	if len(t) == 0 {
		return "-"
	}
	s := t[0]
	for _, x := range t[1:] {
		s += "," + x
	}
	return s
}
