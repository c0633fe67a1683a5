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
	"evalrec.dev/internal/metricfile"
	"evalrec.dev/model"
	"evalrec.dev/provenance"
	"evalrec.dev/store"
)

type compareCmd struct {
	env         *environment
	fs          *flag.FlagSet
	project     string
	allProjects bool
	n           int
	opt         compare.Options
	failOn      string
	json        bool
	all         bool
}

func newCompareCmd(env *environment) *compareCmd {
	c := &compareCmd{env: env, fs: flag.NewFlagSet("compare", flag.ContinueOnError)}
	c.fs.IntVar(&c.n, "n", 0, "runs per side, for latest, tag: and branch: references (their newest N; default: 10 for tag: and branch:, 1 for latest)")
	c.fs.Float64Var(&c.opt.Alpha, "alpha", 0.05, "family-wise significance level (Holm-Bonferroni across all comparisons)")
	c.fs.StringVar(&c.opt.Test, "test", compare.ModeratedT, "t: t-test with the variance moderated across the suite, referred to the suite's own permutation null; t-gaussian: the same referred to Student's t (the previous method); mannwhitney: Mann-Whitney U, with -tolerance for single samples")
	c.fs.Float64Var(&c.opt.Tolerance, "tolerance", 0.05, "with -test mannwhitney: relative change counted as a regression when a side has one sample")
	c.fs.StringVar(&c.failOn, "fail-on", "", "exit 1 on: regression, new-failure, score-drop=N (comma-separated)")
	c.fs.BoolVar(&c.json, "json", false, "print JSON")
	c.fs.BoolVar(&c.all, "all", false, "list unchanged findings too")
	registerProject(c.fs, &c.project, &c.allProjects)
	return c
}

func (c *compareCmd) command() *ffcli.Command {
	return &ffcli.Command{
		Name:       "compare",
		ShortUsage: "evalrec compare [-n N] [-alpha 0.05] [-fail-on regression,new-failure,score-drop=2] [-json] BASE CANDIDATE",
		ShortHelp:  "Compare two runs, or two sets of runs, with significance tests; gate CI on the result.",
		LongHelp: `BASE and CANDIDATE are run references: an evaluation_run_id, an ObjectID,
latest, latest~N, tag:NAME or branch:NAME. A tag: or branch: reference
stands for its newest 10 runs and latest for one; -n N sets how many. Where both sides have two or
more samples of a test's metric (several runs, or -count=N), a t-test
decides whose variance is moderated across the suite (empirical Bayes: the
metric's spread over all the tests is pooled with each test's own), and
whose null distribution is learnt from the suite itself (its tests'
samples relabelled, the tail fitted), so that heavy-tailed noise does not
fire the gate; regressions and improvements are each held at -alpha by
Holm-Bonferroni across the comparisons. -test t-gaussian refers the
statistic to Student's t, as the previous version did; -test mannwhitney
uses the first version's Mann-Whitney U test, and -tolerance where a side
has one sample.`,
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
		why = append(why, fmt.Sprintf("newly failing: %s", brief(r.NewlyFailing, maxListed)))
	}
	if d, ok := r.ScoreDrop(); g.scoreDrop != nil && ok && d > *g.scoreDrop {
		why = append(why, fmt.Sprintf("score dropped %.2f points (limit %g)", d, *g.scoreDrop))
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
	switch c.opt.Test {
	case compare.ModeratedT, compare.GaussianT, compare.MannWhitney:
	default:
		return fmt.Errorf("-test %q: want t, t-gaussian or mannwhitney", c.opt.Test)
	}
	conn, err := openStore(ctx, c.env)
	if err != nil {
		return err
	}
	defer conn.Close()
	scope := store.RunFilter{Project: projectScope(c.project, c.allProjects)}
	br, err := resolveSide(ctx, conn.DB, args[0], c.n, scope)
	if err != nil {
		return fmt.Errorf("base: %w", err)
	}
	cr, err := resolveSide(ctx, conn.DB, args[1], c.n, scope)
	if err != nil {
		return fmt.Errorf("candidate: %w", err)
	}
	r, err := compareSides(ctx, conn.DB, br, cr, c.opt)
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
	if c.failOn != "" {
		fmt.Fprintf(c.env.stderr, "evalrec: gate passed (%s): %d regressions, %d newly failing, %d vs %d runs\n",
			c.failOn, len(r.Regressions()), len(r.NewlyFailing), r.BaseRuns, r.CandRuns)
	}
	return nil
}

// resolveSide resolves a run reference to its runs: n of them for latest,
// tag: and branch: references.
func resolveSide(ctx context.Context, db *store.DB, ref string, n int, scope store.RunFilter) ([]model.EvaluationRun, error) {
	return db.ResolveRuns(ctx, ref, n, scope)
}

// compareSides reads both sides' test runs and compares them, judging
// durations too when the module's evalrec.yaml asks (compare_durations).
func compareSides(ctx context.Context, db *store.DB, br, cr []model.EvaluationRun, opt compare.Options) (compare.Report, error) {
	if root, _ := provenance.ModuleRoot("."); root != "" {
		if f, err := metricfile.Load(root); err == nil && f.CompareDurations {
			opt.Durations = true
		}
	}
	return compare.Load(ctx, db, br, cr, opt)
}

// maxFindings is how many findings a report lists without -all.
const maxFindings = 50

func printReport(w io.Writer, r compare.Report, all bool) {
	p := newPainter(w)
	fmt.Fprintf(w, "base: %d run(s), score %s   candidate: %d run(s), score %s", r.BaseRuns, fmtScore(r.BaseScore), r.CandRuns, fmtScore(r.CandScore))
	if d, ok := r.ScoreDrop(); ok {
		fmt.Fprintf(w, "   score %+.2f", 0-d) // never -0.00
	}
	fmt.Fprintln(w)
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	t := table(w)
	header := "\nTEST\tMETRIC\tBASE\tCANDIDATE\tDELTA\tP\tN\tVERDICT"
	shown, unknown := 0, 0
	for _, f := range r.Findings {
		if f.Verdict == compare.Unchanged && !all || f.Verdict == compare.TooFewRuns && r.NeedRuns > 0 && !all {
			continue
		}
		shown++
		if shown > maxFindings && !all {
			continue // counted below
		}
		if shown == 1 {
			fmt.Fprintln(t, header) // no table of nothing
		}
		pv := "–"
		if f.P != nil {
			pv = fmt.Sprintf("%.3g", *f.P)
			if f.Significant {
				pv += "*"
			}
		}
		verdict := p.status(f.Verdict)
		if f.Rule == "threshold" || f.Rule == "benchstat" {
			verdict += " (by " + f.Rule + ")"
		}
		if !f.DirectionKnown && (f.Verdict == compare.Regression || f.Verdict == compare.Improvement) {
			verdict += " (direction unknown)"
			unknown++
		}
		fmt.Fprintf(t, "%s\t%s\t%.4g\t%.4g\t%+.4g\t%s\t%d+%d\t%s\n", f.TestID, f.Metric, f.Base, f.Cand, f.Delta(), pv, f.N1, f.N2, verdict)
	}
	t.Flush()
	if shown > maxFindings && !all {
		fmt.Fprintf(w, "… and %d more findings (-all lists them)\n", shown-maxFindings)
	}
	switch {
	case r.NeedRuns > 0 && len(r.Regressions()) == 0:
		fmt.Fprintf(w, "too few runs: need ≥ %d per side for a 5σ change to show among %d comparisons (base has %d, candidate %d)\n",
			r.NeedRuns, len(r.Findings), r.BaseRuns, r.CandRuns)
	case len(r.Findings) == 0:
		fmt.Fprintln(w, compare.NoMetricsLine)
	case shown == 0:
		fmt.Fprintf(w, "no significant changes in %d comparisons\n", len(r.Findings))
	}
	if unknown > 0 {
		fmt.Fprintf(w, "direction unknown: no definition says which way those metrics improve, so higher was assumed; declare them with evalrec.MetricDefinitions\n")
	}
	limit := maxListed // -all lists every name
	if all {
		limit = -1
	}
	list := func(label string, ids []string) {
		if len(ids) > 0 {
			fmt.Fprintf(w, "%s: %s\n", label, brief(ids, limit))
		}
	}
	list("newly failing", r.NewlyFailing)
	list("fixed", r.Fixed)
	list("new", r.NewTests)
	list("removed", r.RemovedTests)
	if n := len(r.Renamed); n > 0 {
		fmt.Fprintf(w, "renamed: %s\n", compare.RenamedLine(n))
	}
	if len(r.NewlyFailing)+len(r.Fixed)+len(r.NewTests)+len(r.RemovedTests)+len(r.Renamed) == 0 {
		fmt.Fprintln(w, compare.NoStatusChangeLine)
	}
}
