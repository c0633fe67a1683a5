package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"slices"

	"github.com/peterbourgon/ff/v3/ffcli"

	"evalrec.dev/analytics"
)

type trendCmd struct {
	env    *environment
	fs     *flag.FlagSet
	q      queryFlags
	metric string
	by     string
}

func newTrendCmd(env *environment) *trendCmd {
	c := &trendCmd{env: env, fs: flag.NewFlagSet("trend", flag.ContinueOnError)}
	c.q.register(c.fs, 1000)
	c.fs.StringVar(&c.metric, "metric", "score", "a run metric (its mean over tests), or score")
	c.fs.StringVar(&c.by, "by", analytics.Day, "bucket width: day or week")
	return c
}

func (c *trendCmd) command() *ffcli.Command {
	return &ffcli.Command{
		Name: "trend", ShortUsage: "evalrec trend [-metric wer|score] [-by day|week] [-since 90d] [-tag t] [-env e] [-branch b] [-json]",
		ShortHelp: "Show how a metric or the score moved, per day or week.", FlagSet: c.fs, Exec: c.Run,
	}
}

// Run prints the trend, oldest first, with a sparkline.
func (c *trendCmd) Run(ctx context.Context, _ []string) error {
	if c.by != analytics.Day && c.by != analytics.Week {
		return fmt.Errorf("-by %q: want day or week", c.by)
	}
	f, err := c.q.runFilter()
	if err != nil {
		return err
	}
	conn, err := openStore(ctx, c.env)
	if err != nil {
		return err
	}
	defer conn.Close()
	runs, err := conn.DB.Runs(ctx, f)
	if err != nil {
		return err
	}
	points := analytics.Trend(runs, c.metric, c.by)
	if c.q.json {
		return printJSON(c.env.stdout, map[string]any{"metric": c.metric, "by": c.by, "points": points})
	}
	if len(points) == 0 {
		fmt.Fprintf(c.env.stdout, "no runs with %s", c.metric)
		if len(runs) > 0 {
			// A misspelt name: say which the runs have.
			have := map[string]bool{}
			for _, r := range runs {
				for k := range r.Metrics {
					have[k] = true
				}
			}
			names := "no metric but the score"
			if len(have) > 0 {
				names = brief(slices.Sorted(maps.Keys(have)), maxListed)
			}
			fmt.Fprintf(c.env.stdout, " among the latest %d; they have %s", len(runs), names)
		}
		fmt.Fprintln(c.env.stdout)
		return nil
	}
	means := make([]float64, len(points))
	for i, p := range points {
		means[i] = p.Mean
	}
	fmt.Fprintf(c.env.stdout, "%s per %s: %s\n\n", c.metric, c.by, sparkline(means))
	w := table(c.env.stdout)
	fmt.Fprintln(w, "FROM\tMEAN\tMIN\tMAX\tRUNS")
	for _, p := range points {
		fmt.Fprintf(w, "%s\t%.4g\t%.4g\t%.4g\t%d\n", p.Start.Format("2006-01-02"), p.Mean, p.Min, p.Max, p.Runs)
	}
	return w.Flush()
}
