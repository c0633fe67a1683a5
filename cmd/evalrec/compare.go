package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"

	"evalrec.dev/compare"
	"evalrec.dev/store"
)

type compareCmd struct {
	env    *environment
	fs     *flag.FlagSet
	n      int
	opt    compare.Options
	failOn string
	json   bool
	all    bool
}

func newCompareCmd(env *environment) *compareCmd {
	c := &compareCmd{env: env, fs: flag.NewFlagSet("compare", flag.ContinueOnError)}
	c.fs.IntVar(&c.n, "n", 1, "runs per side, for latest, tag: and branch: references (their newest N)")
	c.fs.Float64Var(&c.opt.Alpha, "alpha", 0.05, "significance level after Holm-Bonferroni correction")
	c.fs.Float64Var(&c.opt.Tolerance, "tolerance", 0.05, "relative change counted as a regression when a side has one sample")
	c.fs.StringVar(&c.failOn, "fail-on", "", "exit 1 on: regression, new-failure, score-drop=N (comma-separated)")
	c.fs.BoolVar(&c.json, "json", false, "print JSON")
	c.fs.BoolVar(&c.all, "all", false, "list unchanged findings too")
	return c
}

func (c *compareCmd) command() *ffcli.Command {
	return &ffcli.Command{
		Name:       "compare",
		ShortUsage: "evalrec compare [-n N] [-alpha 0.05] [-fail-on regression,new-failure,score-drop=2] [-json] BASE CANDIDATE",
		ShortHelp:  "Compare two runs, or two sets of runs, with significance tests; gate CI on the result.",
		LongHelp: `BASE and CANDIDATE are run references: an evaluation_run_id, an ObjectID,
latest, latest~N, tag:NAME or branch:NAME. With -n N, each tag:, branch: or
latest reference stands for its newest N runs. Where both sides have two or
more samples of a test's metric (several runs, or -count=N), a Mann-Whitney U
test decides, corrected for multiple comparisons with Holm-Bonferroni.`,
		FlagSet: c.fs, Exec: c.Run,
	}
}

// gate is a parsed -fail-on.
type gate struct {
	regression, newFailure bool
	scoreDrop              *float64
}

func parseGate(s string) (gate, error) {
	var g gate
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		switch {
		case part == "":
		case part == "regression":
			g.regression = true
		case part == "new-failure":
			g.newFailure = true
		case strings.HasPrefix(part, "score-drop="):
			v, err := strconv.ParseFloat(strings.TrimPrefix(part, "score-drop="), 64)
			if err != nil {
				return g, fmt.Errorf("-fail-on %s: want score-drop=N, N in score points", part)
			}
			g.scoreDrop = &v
		default:
			return g, fmt.Errorf("-fail-on %q: want regression, new-failure or score-drop=N", part)
		}
	}
	return g, nil
}

// check returns why the gate fails the report, or nil.
func (g gate) check(r compare.Report) error {
	var why []string
	if n := len(r.Regressions()); g.regression && n > 0 {
		why = append(why, fmt.Sprintf("%d regressions", n))
	}
	if g.newFailure && len(r.NewlyFailing) > 0 {
		why = append(why, fmt.Sprintf("newly failing: %s", strings.Join(r.NewlyFailing, ", ")))
	}
	if d, ok := r.ScoreDrop(); g.scoreDrop != nil && ok && d > *g.scoreDrop {
		why = append(why, fmt.Sprintf("score dropped %.1f points (limit %g)", d, *g.scoreDrop))
	}
	if len(why) == 0 {
		return nil
	}
	return fmt.Errorf("gate failed: %s", strings.Join(why, "; "))
}

// Run compares and applies the gate.
func (c *compareCmd) Run(ctx context.Context, args []string) error {
	args, err := positional(c.fs, args)
	if err != nil {
		return err
	}
	if len(args) != 2 {
		return errors.New("compare needs BASE and CANDIDATE run references")
	}
	g, err := parseGate(c.failOn)
	if err != nil {
		return err
	}
	conn, err := openStore(ctx, c.env)
	if err != nil {
		return err
	}
	defer conn.Close()
	r, err := compareRefs(ctx, conn.DB, args[0], args[1], c.n, c.opt)
	if err != nil {
		return err
	}
	if c.json {
		if err := printJSON(c.env.stdout, r); err != nil {
			return err
		}
	} else {
		printReport(c.env.stdout, r, c.all)
	}
	if err := g.check(r); err != nil {
		fmt.Fprintf(c.env.stderr, "evalrec: %v\n", err)
		return exitError{1}
	}
	return nil
}

// compareRefs resolves both sides and compares them.
func compareRefs(ctx context.Context, db *store.DB, base, cand string, n int, opt compare.Options) (compare.Report, error) {
	side := func(ref string) ([]store.EvaluationRun, []store.TestRun, error) {
		runs, err := db.ResolveRuns(ctx, ref, n, store.RunFilter{})
		if err != nil {
			return nil, nil, err
		}
		trs, err := db.TestRunsOfRuns(ctx, store.IDs(runs))
		return runs, trs, err
	}
	br, bt, err := side(base)
	if err != nil {
		return compare.Report{}, fmt.Errorf("base: %w", err)
	}
	cr, ct, err := side(cand)
	if err != nil {
		return compare.Report{}, fmt.Errorf("candidate: %w", err)
	}
	return compare.Sides(br, cr, bt, ct, opt), nil
}

func printReport(w io.Writer, r compare.Report, all bool) {
	p := newPainter(w)
	fmt.Fprintf(w, "base: %d run(s), score %s   candidate: %d run(s), score %s", r.BaseRuns, fmtScore(r.BaseScore), r.CandRuns, fmtScore(r.CandScore))
	if d, ok := r.ScoreDrop(); ok {
		fmt.Fprintf(w, "   score %+.1f", -d)
	}
	fmt.Fprintln(w)
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	t := table(w)
	fmt.Fprintln(t, "\nTEST\tMETRIC\tBASE\tCANDIDATE\tDELTA\tP\tN\tVERDICT")
	shown := 0
	for _, f := range r.Findings {
		if f.Verdict == compare.Unchanged && !all {
			continue
		}
		shown++
		pv := "–"
		if f.P != nil {
			pv = fmt.Sprintf("%.3g", *f.P)
			if f.Significant {
				pv += "*"
			}
		}
		fmt.Fprintf(t, "%s\t%s\t%.4g\t%.4g\t%+.4g\t%s\t%d+%d\t%s\n", f.TestID, f.Metric, f.BaseMedian, f.CandMedian, f.Delta(), pv, f.N1, f.N2, p.status(f.Verdict))
	}
	t.Flush()
	if shown == 0 {
		fmt.Fprintf(w, "no significant changes in %d comparisons\n", len(r.Findings))
	}
	list := func(label string, ids []string) {
		if len(ids) > 0 {
			fmt.Fprintf(w, "%s: %s\n", label, strings.Join(ids, ", "))
		}
	}
	list("newly failing", r.NewlyFailing)
	list("fixed", r.Fixed)
	list("new", r.NewTests)
	list("removed", r.RemovedTests)
}
