package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/peterbourgon/ff/v3/ffcli"

	"evalrec.dev/analytics"
	"evalrec.dev/compare"
	"evalrec.dev/samples"
)

type flakyCmd struct {
	env  *environment
	fs   *flag.FlagSet
	q    queryFlags
	opt  analytics.FlakyOptions
	runs int
}

func newFlakyCmd(env *environment) *flakyCmd {
	c := &flakyCmd{env: env, fs: flag.NewFlagSet("flaky", flag.ContinueOnError)}
	c.q.register(c.fs, 50)
	c.fs.IntVar(&c.opt.Window, "window", 30, "judge each test's latest N results")
	c.fs.IntVar(&c.opt.MinSamples, "min-samples", 5, "a verdict needs at least this many results")
	c.fs.Float64Var(&c.opt.InfraFailureRatio, "infra", 0.8, "leave out runs where more than this share of tests failed")
	c.fs.IntVar(&c.runs, "runs", 200, "read the latest N runs")
	return c
}

func (c *flakyCmd) command() *ffcli.Command {
	return &ffcli.Command{
		Name:       "flaky",
		ShortUsage: "evalrec flaky [-window 30] [-min-samples 5] [-infra 0.8] [-runs 200] [-since d] [-tag t] [-env e] [-branch b] [-json]",
		ShortHelp:  "Find flaky and broken tests, per environment and configuration, by impact.",
		LongHelp: `A test is flaky when it passed and failed on the same commit, or changed
status at least twice with at least two failures in its window; broken when
it started failing and kept failing (3 in a row). History is never pooled
across environments or system hashes, and runs where most tests failed are
left out as infrastructure failures.`,
		FlagSet: c.fs, Exec: c.Run,
	}
}

// Run prints flaky and broken tests, by impact.
func (c *flakyCmd) Run(ctx context.Context, _ []string) error {
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
	var read *samples.Results // the tables of every test read
	found, blips, err := analytics.Health(runs, func(yield func(*samples.Results) error) error {
		return results(func(rs *samples.Results) error { read = rs; return yield(rs) })
	}, c.opt)
	if err != nil {
		return err
	}
	anew := 0
	if read != nil {
		anew = compare.NamedAnewIn(read)
	}
	total := len(found)
	if c.q.limit > 0 && len(found) > c.q.limit {
		found = found[:c.q.limit]
	}
	if c.q.json {
		return printJSON(c.env.stdout, map[string]any{"runs": len(runs), "total": total, "tests": found, "blips": blips, "named_anew": anew})
	}
	if anew > 0 {
		defer fmt.Fprintln(c.env.stdout, compare.NamedAnewLine(anew))
	}
	// A blip: tests that failed together once are no flaky tests.
	defer func() {
		for _, b := range blips {
			fmt.Fprintf(c.env.stdout, "blip: in run %s (%s) %d tests that pass in every other run failed together: %s\n",
				b.Run, fmtTime(b.At), len(b.Tests), brief(b.Tests, maxListed))
		}
	}()
	if len(found) == 0 {
		fmt.Fprintf(c.env.stdout, "no flaky or broken tests in the latest %d runs", len(runs))
		if n := len(runs); n > 0 && n < c.opt.MinSamples {
			// A run gives a test one result unless it ran with -count.
			fmt.Fprintf(c.env.stdout, "; a verdict needs %d results of a test (-min-samples), which %d runs give only with -count", c.opt.MinSamples, n)
		}
		fmt.Fprintln(c.env.stdout)
		return nil
	}
	p := newPainter(c.env.stdout)
	w := table(c.env.stdout)
	fmt.Fprintln(w, "TEST\tVERDICT\tIMPACT\tPASS RATE\tFLIP RATE\tSAME COMMIT\tSAMPLES\tLAST FAILURE\tENV\tCONFIG")
	for _, h := range found {
		same := "no"
		if h.SameCommit {
			same = "yes"
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%.0f%%\t%.2f\t%s\t%d\t%s\t%s\t%s\n", h.TestID, p.status(h.Verdict), h.Impact, 100*h.PassRate,
			h.FlipRate, same, h.Samples, fmtTime(h.LastFailure), h.Environment, short(h.SystemInfoHash, 8))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	switch more := total - len(found); {
	case more == 1:
		fmt.Fprintf(c.env.stdout, "…and 1 more flaky or broken test (-limit 0 lists them all)\n")
	case more > 1:
		fmt.Fprintf(c.env.stdout, "…and %d more flaky or broken tests (-limit 0 lists them all)\n", more)
	}
	return nil
}
