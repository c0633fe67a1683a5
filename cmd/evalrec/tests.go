package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/peterbourgon/ff/v3/ffcli"

	"evalrec.dev/analytics"
	"evalrec.dev/compare"
)

type testsCmd struct {
	env  *environment
	fs   *flag.FlagSet
	q    queryFlags
	runs int
}

func newTestsCmd(env *environment) *testsCmd {
	c := &testsCmd{env: env, fs: flag.NewFlagSet("tests", flag.ContinueOnError)}
	c.q.register(c.fs, 50)
	c.fs.IntVar(&c.runs, "runs", 100, "look at the tests of the latest N runs")
	return c
}

func (c *testsCmd) command() *ffcli.Command {
	return &ffcli.Command{
		Name: "tests", ShortUsage: "evalrec tests [-runs N] [-limit N] [-since d] [-tag t] [-env e] [-branch b] [-json]",
		ShortHelp: "Per-test aggregates: runs, average, min and max score, pass rate.", FlagSet: c.fs, Exec: c.Run,
	}
}

// Run prints per-test aggregates over the latest runs.
func (c *testsCmd) Run(ctx context.Context, _ []string) error {
	f, err := c.q.runFilter()
	if err != nil {
		return err
	}
	f.Limit = int64(c.runs)
	conn, err := openStore(ctx, c.env)
	if err != nil {
		return err
	}
	defer conn.Close()
	runs, results, err := runsWithResults(ctx, conn.DB, f)
	if err != nil {
		return err
	}
	aggs, err := analytics.TestAggregates(results)
	if err != nil {
		return err
	}
	total, all := len(aggs), aggs
	if c.q.limit > 0 && len(aggs) > c.q.limit {
		aggs = aggs[:c.q.limit]
	}
	anew := 0
	for _, a := range all {
		if compare.NamedAnew(a.TestID) {
			anew++
		}
	}
	if c.q.json {
		return printJSON(c.env.stdout, map[string]any{"runs": len(runs), "total": total, "named_anew": anew, "tests": aggs})
	}
	p := newPainter(c.env.stdout)
	w := table(c.env.stdout)
	if anew > 0 {
		defer fmt.Fprintf(c.env.stdout, "\n%s\n", compare.NamedAnewLine(anew))
	}
	if len(aggs) < total {
		fmt.Fprintf(c.env.stdout, "%d tests over the latest %d runs; the %d of highest average score (-limit 0 lists them all)\n\n", total, len(runs), len(aggs))
	} else {
		fmt.Fprintf(c.env.stdout, "%d tests over the latest %d runs\n\n", total, len(runs))
	}
	fmt.Fprintln(w, "TEST\tRUNS\tAVG\tMIN\tMAX\tPASS RATE\tLAST")
	for _, a := range aggs {
		rate := "skipped"
		if a.PassRate != nil {
			rate = fmt.Sprintf("%.0f%%", 100**a.PassRate)
		}
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", a.TestID, a.Runs, fmtScore(a.AvgScore), fmtScore(a.MinScore), fmtScore(a.MaxScore), rate, p.status(a.LastStatus))
	}
	return w.Flush()
}
