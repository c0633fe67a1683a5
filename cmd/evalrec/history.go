package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"

	"evalrec.dev/internal/jsonout"
	"evalrec.dev/samples"
	"evalrec.dev/store"
)

type historyCmd struct {
	env *environment
	fs  *flag.FlagSet
	q   queryFlags
}

func newHistoryCmd(env *environment) *historyCmd {
	c := &historyCmd{env: env, fs: flag.NewFlagSet("history", flag.ContinueOnError)}
	c.q.register(c.fs, 20)
	return c
}

func (c *historyCmd) command() *ffcli.Command {
	return &ffcli.Command{
		Name: "history", ShortUsage: "evalrec history [-limit N] [-since d] [-env e] [-branch b] [-json] TEST_ID",
		ShortHelp: "Show how one test evolved: its recent results, score and metrics.", FlagSet: c.fs, Exec: c.Run,
	}
}

// Run prints a test's history, newest first.
func (c *historyCmd) Run(ctx context.Context, args []string) error {
	args, err := positional(c.fs, args)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return errors.New("history needs one TEST_ID (see evalrec tests)")
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
	hf := store.HistoryFilter{Project: f.Project, Environment: f.Environment, Branch: f.Branch, Since: f.Since, Limit: f.Limit}
	trs, err := conn.DB.TestHistory(ctx, args[0], hf)
	if err != nil {
		return err
	}
	var none error
	if len(trs) == 0 {
		// A test's name as go test knows it: its ID begins with a package.
		named, err := testsNamed(ctx, conn.DB, f.Project, args[0])
		if err != nil {
			return err
		}
		switch len(named) {
		case 0:
			// The same exit code with -json as without.
			none = fmt.Errorf("no runs of test %q (evalrec tests lists the test IDs)", args[0])
		case 1:
			fmt.Fprintf(c.env.stderr, "evalrec: %s is %s\n", args[0], named[0])
			args[0] = named[0]
			if trs, err = conn.DB.TestHistory(ctx, args[0], hf); err != nil {
				return err
			}
		default:
			none = fmt.Errorf("no runs of test %q, which names several tests: %s", args[0], brief(named, 5))
		}
	}
	if c.q.json {
		return errors.Join(printJSON(c.env.stdout, jsonout.Object{{Key: "test_id", Value: args[0]}, {Key: "history", Value: trs}}), none)
	}
	if none != nil {
		return none
	}
	scores := make([]float64, 0, len(trs))
	for i := len(trs) - 1; i >= 0; i-- {
		if trs[i].Score != nil {
			scores = append(scores, *trs[i].Score)
		}
	}
	fmt.Fprintf(c.env.stdout, "%s  %s\nscore, oldest to newest: %s\n\n", args[0], trs[0].TestName, sparkline(scores))
	p := newPainter(c.env.stdout)
	w := table(c.env.stdout)
	metricKeys := map[string]bool{}
	for _, t := range trs {
		for k := range t.Metrics {
			metricKeys[k] = true
		}
	}
	keys := slices.Sorted(maps.Keys(metricKeys))
	// A column per metric, up to a screen's worth; -json has them all.
	if len(keys) > maxMetricColumns {
		defer fmt.Fprintf(c.env.stdout, "… and %d more metrics (-json lists them all)\n", len(keys)-maxMetricColumns)
		keys = keys[:maxMetricColumns]
	}
	fmt.Fprint(w, "FINISHED\tSTATUS\tSCORE\tCOMMIT\tENV")
	for _, k := range keys {
		fmt.Fprintf(w, "\t%s", k)
	}
	fmt.Fprintln(w)
	for _, t := range trs {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s", fmtTime(t.FinishedAt), p.status(t.Status), fmtScore(t.Score), short(deref(t.GitCommit), 7), t.Environment)
		for _, k := range keys {
			m, ok := t.Metrics[k]
			switch {
			case !ok:
				fmt.Fprint(w, "\t")
			case m.Value == nil:
				fmt.Fprintf(w, "\t%s", m.NonFinite)
			default:
				fmt.Fprintf(w, "\t%.4g", *m.Value)
			}
		}
		fmt.Fprintln(w)
	}
	return w.Flush()
}

// maxMetricColumns is how many metrics history shows as columns.
const maxMetricColumns = 8

// testsNamed returns the IDs of the tests of the latest 5 runs of project
// that go test names name in their package: TestX/sub is the test
// example.com/pkg.TestX/sub.
func testsNamed(ctx context.Context, db *store.DB, project, name string) ([]string, error) {
	runs, err := db.Runs(ctx, store.RunFilter{Project: project, Limit: 5})
	if err != nil || len(runs) == 0 {
		return nil, err
	}
	rs := &samples.Results{}
	if err := db.ReadResults(ctx, store.IDs(runs), rs); err != nil {
		return nil, err
	}
	var ids []string
	for _, t := range rs.Tests {
		if strings.HasSuffix(t.TestID, "."+name) {
			ids = append(ids, t.TestID)
		}
	}
	slices.Sort(ids)
	return ids, nil
}
