package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"evalrec.dev/analytics"
	"evalrec.dev/internal/logline"
	"evalrec.dev/internal/notify"
)

type changesCmd struct {
	env    *environment
	fs     *flag.FlagSet
	q      queryFlags
	test   string
	metric string
	p      float64
	notify string
}

func newChangesCmd(env *environment) *changesCmd {
	c := &changesCmd{env: env, fs: flag.NewFlagSet("changes", flag.ContinueOnError)}
	c.q.register(c.fs, 200)
	c.fs.StringVar(&c.test, "test", "", "only this test ID")
	c.fs.StringVar(&c.metric, "metric", "", "only this metric (or score)")
	c.fs.Float64Var(&c.p, "p", 0.0001, "the largest p-value a change point may have")
	c.fs.StringVar(&c.notify, "notify", "", "post the change points found to this webhook (JSON with a Slack-compatible text)")
	return c
}

func (c *changesCmd) command() *ffcli.Command {
	return &ffcli.Command{
		Name:       "changes",
		ShortUsage: "evalrec changes [-limit N runs] [-since 7d] [-test ID] [-metric m] [-env e] [-branch b] [-notify URL] [-json]",
		ShortHelp:  "Find the change points in the history of every metric and score, and the commit after each.",
		LongHelp: `Looks at the latest -limit runs of the project (and -env, -branch, -tag),
per configuration (environment, branch, system), at each run's score and
metrics and at each test's. A change point is where a series' level moved
and stayed: found by E-divisive means, confirmed by a t-test between the
segments around it (p below -p). Each is listed with the first run and
commit after it, the means before and after, and whether it is a
regression. -since keeps those whose run is that recent, as a nightly job
that -notify posts would want.`,
		FlagSet: c.fs, Exec: c.Run,
	}
}

// Run finds and prints the change points, newest first.
func (c *changesCmd) Run(ctx context.Context, _ []string) error {
	f, err := c.q.runFilter()
	if err != nil {
		return err
	}
	since := f.Since
	f.Since = time.Time{} // the history before -since is what tells a change
	conn, err := openStore(ctx, c.env)
	if err != nil {
		return err
	}
	defer conn.Close()
	runs, results, err := runsWithResults(ctx, conn.DB, f)
	if err != nil {
		return err
	}
	nRuns, nSeries, changes, err := analytics.ChangesOfRuns(runs, results, func(s analytics.Series) bool {
		return (c.test == "" || s.TestID == c.test) && (c.metric == "" || s.Metric == c.metric)
	}, since, analytics.ChangeOptions{P: c.p})
	if err != nil {
		return err
	}
	// A tentative change (too few points after it yet) is shown, not posted:
	// the next nightly job posts it once it is confirmed.
	confirmed := slices.DeleteFunc(slices.Clone(changes), func(ch analytics.Change) bool { return ch.Tentative })
	if c.notify != "" && len(confirmed) > 0 {
		if err := notify.Post(ctx, c.notify, changeMessage(f.Project, confirmed), notify.Options{}); err != nil {
			logline.New(c.env.stderr).Warn(fmt.Sprintf("%v; the change points are printed here", err))
		}
	}
	if c.q.json {
		return printJSON(c.env.stdout, map[string]any{"runs": nRuns, "series": nSeries, "changes": changes})
	}
	if len(changes) == 0 {
		fmt.Fprintf(c.env.stdout, "no change points in %d series over %d runs", nSeries, nRuns)
		if need := (analytics.ChangeOptions{P: c.p}).RunsNeeded(); nRuns < need {
			fmt.Fprintf(c.env.stdout, "; a change point needs %d runs of a configuration, %d on each side of it", need, need/2)
		}
		fmt.Fprintln(c.env.stdout)
		return nil
	}
	p := newPainter(c.env.stdout)
	w := table(c.env.stdout)
	fmt.Fprintln(w, "SINCE\tRUN\tCOMMIT\tTEST\tMETRIC\tBEFORE\tAFTER\tCHANGE\tP\tVERDICT")
	for _, ch := range changes {
		test := ch.TestID
		if test == "" {
			test = "(run)"
		}
		verdict := p.status(ch.Verdict)
		if !ch.DirectionKnown {
			verdict += " (direction unknown)"
		}
		if ch.Tentative {
			verdict += " (tentative: too few runs after it yet)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%.4g\t%.4g\t%+.1f%%\t%.2g\t%s\n", fmtTime(ch.At), ch.Run, short(deref(ch.Commit), 7),
			test, ch.Metric, ch.Before, ch.After, 100*ch.Relative(), ch.P, verdict)
	}
	return w.Flush()
}

// changeMessage is the notification for change points.
func changeMessage(project string, changes []analytics.Change) notify.Message {
	m := notify.Message{Project: project, Regressions: []notify.Finding{}, NewFailures: []string{}}
	worse := 0
	for _, ch := range changes {
		series := ch.Metric
		if ch.TestID != "" {
			series = ch.TestID + " " + ch.Metric
		}
		m.ChangePoints = append(m.ChangePoints, notify.ChangeNote{Series: series, Run: ch.Run, Commit: deref(ch.Commit),
			Before: ch.Before, After: ch.After, P: ch.P, Worse: ch.Verdict == "regression"})
		if ch.Verdict == "regression" {
			worse++
		}
	}
	first := m.ChangePoints[0]
	m.Text = fmt.Sprintf("evalrec: %d change points in %s, %d for the worse; the newest: %s moved from %.4g to %.4g at run %s",
		len(changes), orAll(project), worse, first.Series, first.Before, first.After, first.Run)
	return m
}

func orAll(project string) string {
	if project == "" {
		return "every project"
	}
	return project
}
