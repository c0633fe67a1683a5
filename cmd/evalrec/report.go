package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/peterbourgon/ff/v3/ffcli"

	"evalrec.dev/internal/storeconn"
	"evalrec.dev/internal/ui"
)

type reportCmd struct {
	env          *environment
	fs           *flag.FlagSet
	out          string
	format       string
	baseline     string
	baselineRuns int
	last         int
	project      string
	allProjects  bool
}

func newReportCmd(env *environment) *reportCmd {
	c := &reportCmd{env: env, fs: flag.NewFlagSet("report", flag.ContinueOnError)}
	c.fs.StringVar(&c.out, "o", "", "write the report to this file (default: stdout)")
	c.fs.StringVar(&c.format, "format", "html", "html (one self-contained file) or markdown (for $GITHUB_STEP_SUMMARY)")
	c.fs.StringVar(&c.baseline, "baseline", "", "compare with these runs (tag:…, branch:…, a run; default: the previous comparable run)")
	c.fs.IntVar(&c.baselineRuns, "baseline-runs", 10, "with -baseline: its newest N runs")
	c.fs.IntVar(&c.last, "last", 30, "chart the last N runs of the run's branch and environment")
	registerProject(c.fs, &c.project, &c.allProjects)
	return c
}

func (c *reportCmd) command() *ffcli.Command {
	return &ffcli.Command{
		Name: "report", ShortUsage: "evalrec report [-o report.html] [-format html|markdown] [-baseline REF] [RUN]",
		ShortHelp: "Write a run's report: summary, comparison with a baseline, charts of the last runs (default: latest).",
		FlagSet:   c.fs, Exec: c.Run,
	}
}

// Run writes the report.
func (c *reportCmd) Run(ctx context.Context, args []string) error {
	args, err := positional(c.fs, args) // flags may follow the run
	if err != nil {
		return err
	}
	ref := "latest"
	switch len(args) {
	case 0:
	case 1:
		ref = args[0]
	default:
		return flag.ErrHelp
	}
	var conn *storeconn.Conn
	if c.format != "html" && c.format != "markdown" {
		return fmt.Errorf("-format %q: want html or markdown", c.format)
	}
	conn, err = openStore(ctx, c.env)
	if err != nil {
		return err
	}
	defer conn.Close()
	s := ui.New(conn.DB, ui.Options{Project: projectScope(c.project, c.allProjects)})
	v, err := s.Report(ctx, ref, ui.ReportOptions{Baseline: c.baseline, BaselineRuns: c.baselineRuns, Last: c.last})
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if c.format == "markdown" {
		err = ui.WriteMarkdown(&b, v)
	} else {
		err = s.WriteHTML(&b, v)
	}
	if err != nil {
		return err
	}
	if c.out == "" {
		_, err = c.env.stdout.Write(b.Bytes())
		return err
	}
	if err := os.WriteFile(c.out, b.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(c.env.stderr, "evalrec: report of run %s written to %s\n", v.Run.Run.EvaluationRunID, c.out)
	return nil
}
