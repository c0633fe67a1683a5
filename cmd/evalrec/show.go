package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"

	"evalrec.dev/internal/jsonout"
	"evalrec.dev/model"
	"evalrec.dev/result"
	"evalrec.dev/samples"
	"evalrec.dev/store"
)

type showCmd struct {
	project     string
	allProjects bool
	env         *environment
	fs          *flag.FlagSet
	json        bool
	output      bool
	failed      bool
}

func newShowCmd(env *environment) *showCmd {
	c := &showCmd{env: env, fs: flag.NewFlagSet("show", flag.ContinueOnError)}
	c.fs.BoolVar(&c.json, "json", false, "print JSON: the run and its test runs as stored (with -failed, those that failed)")
	c.fs.BoolVar(&c.output, "output", false, "print the output of failed tests")
	c.fs.BoolVar(&c.failed, "failed", false, "list only the tests that failed or did not finish")
	registerProject(c.fs, &c.project, &c.allProjects)
	return c
}

func (c *showCmd) command() *ffcli.Command {
	return &ffcli.Command{
		Name: "show", ShortUsage: "evalrec show [-json] [-output] [-failed] RUN",
		ShortHelp: "Show one run: provenance, metrics and its tests.",
		LongHelp: "RUN is an evaluation_run_id, an ObjectID in hex, latest, latest~N, tag:NAME or branch:NAME.\n\n" +
			"The tests that failed come first, then those that did not finish, were skipped and passed, each in ID order.",
		FlagSet: c.fs, Exec: c.Run,
	}
}

// Run shows a run.
func (c *showCmd) Run(ctx context.Context, args []string) error {
	args, err := positional(c.fs, args)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return errors.New("show needs one RUN (an evaluation_run_id, an ObjectID, latest, latest~N, tag:NAME or branch:NAME)")
	}
	conn, err := openStore(ctx, c.env)
	if err != nil {
		return err
	}
	defer conn.Close()
	ref, err := conn.DB.ResolveRun(ctx, args[0], store.RunFilter{Project: projectScope(c.project, c.allProjects)})
	if err != nil {
		return err
	}
	r, err := conn.DB.Run(ctx, ref.ID)
	if err != nil {
		return err
	}
	if c.json {
		// The documents whole, as stored, a test run at a time: a run
		// of 50,000 needs not be held.
		return jsonout.WriteStreaming(c.env.stdout, jsonout.Object{{Key: "run", Value: r}}, "tests", func(emit func(any) error) error {
			return conn.DB.EachTestRun(ctx, []model.ID{r.ID}, func(t *model.TestRun) error {
				if st := result.Status(t.Status); c.failed && st != result.Failed && st != result.Incomplete {
					return nil
				}
				return emit(t)
			})
		})
	}
	// What the table shows, from the run's results: what went wrong first,
	// where a reader of a run of thousands of tests finds it.
	rs := &samples.Results{KeepIDs: true}
	if err := conn.DB.ReadResults(ctx, []model.ID{r.ID}, rs); err != nil {
		return err
	}
	rows := make([]int, 0, len(rs.Rows))
	for i := range rs.Rows {
		if st := rs.Rows[i].Status(); !c.failed || st == result.Failed || st == result.Incomplete {
			rows = append(rows, i)
		}
	}
	slices.SortFunc(rows, func(a, b int) int {
		if o := cmp.Compare(showOrder(rs.Rows[a].Status()), showOrder(rs.Rows[b].Status())); o != 0 {
			return o
		}
		return strings.Compare(rs.TestRunID(a), rs.TestRunID(b))
	})
	p := newPainter(c.env.stdout)
	w := c.env.stdout
	fmt.Fprintf(w, "run      %s (%s)\n", r.EvaluationRunID, r.ID.Hex())
	fmt.Fprintf(w, "status   %s", p.runStatus(*r))
	if n := r.NumFailed + r.NumIncomplete; r.Status == model.StatusCompleted && n > 0 {
		fmt.Fprintf(w, ", %d tests failed", n)
	}
	if r.Error != "" {
		fmt.Fprintf(w, ": %s", r.Error)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "started  %s", fmtTime(r.StartedAt))
	if r.FinishedAt != nil {
		fmt.Fprintf(w, ", took %s", r.FinishedAt.Sub(r.StartedAt).Round(1e7))
	}
	fmt.Fprintln(w)
	dirty := ""
	if r.GitDirty != nil && *r.GitDirty {
		dirty = " (dirty)"
	}
	if r.GitBranch == nil && r.GitCommit == nil {
		fmt.Fprintln(w, "git      - (not read from a git repository)")
	} else {
		fmt.Fprintf(w, "git      %s %s%s\n", deref(r.GitBranch), short(deref(r.GitCommit), 12), dirty)
	}
	fmt.Fprintf(w, "env      %s  tags %s  source %s\n", r.Environment, joinTags(r.ExperimentTags), r.Source)
	fmt.Fprintf(w, "config   %s  go %s %s/%s, %s\n", short(r.SystemInfoHash, 12), r.System.GoVersion, r.System.GOOS, r.System.GOARCH, r.System.Module)
	if len(r.System.SystemUnderTest) > 0 {
		keys := make([]string, 0, len(r.System.SystemUnderTest))
		for k := range r.System.SystemUnderTest {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s=%v", k, r.System.SystemUnderTest[k]))
		}
		fmt.Fprintf(w, "system   %s\n", strings.Join(parts, " "))
	}
	fmt.Fprintf(w, "tests    %d passed, %d failed, %d skipped, %d incomplete\n", r.NumPassed, r.NumFailed, r.NumSkipped, r.NumIncomplete)
	fmt.Fprintf(w, "score    %s\n", fmtScore(r.Score))
	if len(r.MetricStats) > 0 {
		t := table(w)
		fmt.Fprintln(t, "\nMETRIC\tMEAN\tN\tMIN\tP50\tP90\tMAX")
		for _, k := range slices.Sorted(maps.Keys(r.MetricStats)) {
			s := r.MetricStats[k]
			fmt.Fprintf(t, "%s\t%.4g\t%d\t%.4g\t%.4g\t%.4g\t%.4g\n", k, s.Mean, s.N, s.Min, s.P50, s.P90, s.Max)
		}
		t.Flush()
	}
	if c.failed && len(rows) == 0 {
		fmt.Fprintln(w, "\nno test failed or was left unfinished")
		return nil
	}
	t := table(w)
	fmt.Fprintln(t, "\nTEST\tSTATUS\tSCORE\tMETHOD\tDURATION\tMETRICS")
	var ms []string
	for _, i := range rows {
		row := &rs.Rows[i]
		ms = ms[:0]
		vs := rs.ValuesOf(i)
		slices.SortFunc(vs, func(a, b samples.MetricValue) int {
			return strings.Compare(rs.Metrics[a.Metric].Key, rs.Metrics[b.Metric].Key)
		})
		for _, v := range vs {
			if nf := result.NonFinite(v.Value); nf != "" {
				ms = append(ms, fmt.Sprintf("%s=%s", rs.Metrics[v.Metric].Key, nf))
			} else {
				ms = append(ms, fmt.Sprintf("%s=%.4g", rs.Metrics[v.Metric].Key, v.Value))
			}
		}
		id := rs.Tests[row.Test].TestID
		if row.Attempt > 1 {
			id += fmt.Sprintf(" #%d", row.Attempt)
		}
		var score *float64
		if row.HasScore() {
			score = &row.Score
		}
		fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%.0fms\t%s\n", id, p.status(string(row.Status())), fmtScore(score), rs.Method(i), row.DurationMS, strings.Join(ms, " "))
	}
	t.Flush()
	if c.output {
		for _, i := range rows {
			if st := rs.Rows[i].Status(); st == result.Failed || st == result.Incomplete {
				out, _ := conn.DB.TestOutput(ctx, rs.TestRunID(i))
				fmt.Fprintf(w, "\n--- %s (%s)\n%s", rs.Tests[rs.Rows[i].Test].TestID, st, indent(out))
			}
		}
	}
	return nil
}

// showOrder ranks a status for the table of show: failures first.
func showOrder(st result.Status) int {
	switch st {
	case result.Failed:
		return 0
	case result.Incomplete:
		return 1
	case result.Skipped:
		return 2
	case result.Passed:
		return 3
	}
	return 4
}
