package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"evalrec.dev/compare"
	"evalrec.dev/ingest"
	"evalrec.dev/internal/config"
	"evalrec.dev/internal/jsonout"
	"evalrec.dev/internal/junit"
	"evalrec.dev/internal/logline"
	"evalrec.dev/internal/notify"
	"evalrec.dev/internal/pipeline"
	"evalrec.dev/internal/redact"
	"evalrec.dev/internal/storeconn"
	"evalrec.dev/model"
	"evalrec.dev/provenance"
	"evalrec.dev/result"
	"evalrec.dev/store"
)

type testCmd struct {
	env          *environment
	fs           *flag.FlagSet
	envTag       string
	tags         string
	quiet        bool
	json         bool
	verbose      bool // -v, which also goes to go test
	baseline     string
	baselineRuns int
	baselineName string // what the default baseline of -fail-on was
	failOn       string
	notify       string
	junitFile    string
	goArgs       []string
}

func newTestCmd(env *environment) *testCmd {
	c := &testCmd{env: env, fs: flag.NewFlagSet("test", flag.ContinueOnError)}
	c.fs.StringVar(&c.envTag, "env", "", "the environment to record (default: $ENVIRONMENT, else dev)")
	c.fs.StringVar(&c.tags, "exp", "", "comma-separated experiment tags to record (default: $EXPERIMENT_TAGS); -tags stays go test's build tags")
	c.fs.BoolVar(&c.quiet, "q", false, "print only the summary")
	c.fs.BoolVar(&c.json, "json", false, "print the stored run as one JSON document (ID, counts, score, comparison) instead of the report; go test runs with -json under evalrec whatever this says")
	c.fs.StringVar(&c.baseline, "baseline", "", "compare the run with this run reference (tag:baseline, branch:main, a run ID)")
	c.fs.IntVar(&c.baselineRuns, "baseline-runs", 10, "with -baseline: compare against its newest N runs, a history to learn the noise from")
	c.fs.StringVar(&c.failOn, "fail-on", "", "exit 1 on: regression, new-failure, score-drop=N, against -baseline, or by default the newest 10 comparable runs")
	c.fs.StringVar(&c.junitFile, "junitfile", "", "also write the results as JUnit XML to this file, with each test's score and metrics as properties")
	c.fs.StringVar(&c.notify, "notify", "", "post regressions and newly failing tests to this webhook (JSON with a Slack-compatible text); never fails the suite")
	return c
}

func (c *testCmd) command() *ffcli.Command {
	return &ffcli.Command{
		Name:       "test",
		ShortUsage: "evalrec test [evalrec flags] [go test flags] [packages] [-args test binary flags]",
		ShortHelp:  "Run go test, store the run, and show what changed since the last comparable run.",
		LongHelp: `Runs go test -json with the given arguments, stores every test as one
evaluation run (in the embedded store under .evalrec/ when no MongoDB is
configured), prints a summary, and exits with go test's code. Test binaries
run under the wrapper store nothing themselves.

evalrec's flags are recognised in any position; every other argument goes
to go test untouched, and so does everything after "--". None of evalrec's
flags is also a go test flag, except -json (go test always runs with -json
here) and -v, which go test gets too and which shows the tests' output.`,
		FlagSet:   c.fs,
		UsageFunc: c.usage,
		Exec:      c.Run,
	}
}

// usage is the help of evalrec test: its own flags, and where go test's
// are documented.
func (c *testCmd) usage(cmd *ffcli.Command) string {
	var b strings.Builder
	b.WriteString(ffcli.DefaultUsageFunc(cmd))
	b.WriteString("\n\nGO TEST FLAGS\n  Every other flag is go test's: see \"go help testflag\" and \"go help build\".\n" +
		"  -v also shows the tests' output, as go test -v does.\n")
	return b.String()
}

// goValueFlags are go test's and go build's flags that take a value as the
// next argument (go help testflag, go help build), so that the value is
// passed on with its flag and never read as a package or an evalrec flag.
var goValueFlags = map[string]bool{
	"bench": true, "benchtime": true, "blockprofile": true, "blockprofilerate": true, "count": true,
	"coverpkg": true, "covermode": true, "coverprofile": true, "cpu": true, "cpuprofile": true,
	"exec": true, "fuzz": true, "fuzzminimizetime": true, "fuzztime": true, "list": true,
	"memprofile": true, "memprofilerate": true, "mutexprofile": true, "mutexprofilefraction": true,
	"o": true, "outputdir": true, "parallel": true, "run": true, "shuffle": true, "skip": true,
	"timeout": true, "trace": true, "vet": true,
	"C": true, "asmflags": true, "buildmode": true, "compiler": true, "gccgoflags": true, "gcflags": true,
	"installsuffix": true, "ldflags": true, "mod": true, "modfile": true, "overlay": true, "p": true,
	"pgo": true, "pkgdir": true, "tags": true, "toolexec": true,
}

// splitArgs sorts the arguments of evalrec test (those after "test") into
// evalrec's flags, which it returns for ffcli to parse, and go test's
// arguments, which it keeps in c.goArgs. evalrec's flags may come anywhere
// before "--" or "-args"; -v goes to both.
func (c *testCmd) splitArgs(args []string) []string {
	var ours []string
	c.goArgs = nil
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			c.goArgs = append(c.goArgs, args[i+1:]...)
			break
		}
		if a == "-args" || a == "--args" {
			c.goArgs = append(c.goArgs, args[i:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			c.goArgs = append(c.goArgs, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "v" || name == "test.v" {
			c.verbose = !hasValue || value == "true" || value == "test2json"
			c.goArgs = append(c.goArgs, a)
			continue
		}
		if f := c.fs.Lookup(name); f != nil || isHelp(a) {
			ours = append(ours, a)
			if f != nil && !hasValue && !isBoolFlag(f) && i+1 < len(args) {
				i++
				ours = append(ours, args[i])
			}
			continue
		}
		c.goArgs = append(c.goArgs, a)
		if !hasValue && goValueFlags[strings.TrimPrefix(name, "test.")] && i+1 < len(args) {
			i++
			c.goArgs = append(c.goArgs, args[i])
		}
	}
	return ours
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// Run runs the suite. It returns exitError with go test's exit code.
//
// Storage never stops or fails the suite unless EVALREC_STRICT is set: when
// the configuration is invalid or the store cannot be opened, go test runs
// all the same, and one line says where the results went (the spool, or
// nowhere). SIGINT and SIGTERM are passed on to go test and its test
// binaries; what finished is stored, and the run is marked failed with the
// reason.
func (c *testCmd) Run(ctx context.Context, _ []string) error {
	log := logline.New(c.env.stderr)
	g, err := parseGate(c.failOn)
	if err != nil {
		return err
	}
	cfg, cfgErr := config.Load("")
	if cfgErr != nil {
		log.Error(fmt.Sprintf("%v; go test runs, and its results are not stored", cfgErr))
		return c.runUnstored(ctx, strictFromEnv())
	}
	if c.envTag != "" {
		cfg.Environment = c.envTag
	}
	if c.tags != "" {
		cfg.ExperimentTags = config.ParseTags(c.tags)
	}

	var db *store.DB
	var unavailable error
	where := ""
	conn, err := storeconn.Open(ctx, cfg, log)
	if err != nil {
		// The session keeps the results in its spool and says so; the
		// tests run regardless.
		unavailable = err
	} else {
		defer conn.Close()
		db, where = conn.DB, conn.Where
		rep, err := replaySpool(ctx, db, cfg)
		reportReplay(log, rep, err)
	}

	// The baseline is resolved before the run is stored, so that "latest"
	// means the latest runs before this one.
	var baseline []model.EvaluationRun
	if c.baseline != "" && db != nil {
		_, project := provenance.ModuleRoot(".")
		baseline, err = db.ResolveRuns(ctx, c.baseline, c.baselineRuns, store.RunFilter{Project: project})
		if err != nil {
			return fmt.Errorf("-baseline %s: %w", c.baseline, err)
		}
	}

	inv := provenance.CurrentInvocation(cfg.RunID)
	gt, err := c.startGoTest()
	if err != nil {
		return err
	}
	start := time.Now()
	prog := newProgress(c.env.stdout, !c.quiet && !c.json && !c.verbose, start, c.goArgs)
	jw := junit.New()
	var failures []string
	masks := map[[2]string]*redact.Lines{} // -v output, per test: a key spans lines
	res, readErr := pipeline.Ingest(context.WithoutCancel(ctx), gt.stdout, pipeline.Options{
		Config:        cfg,
		Source:        "wrapper",
		TestsSelected: c.selectsTests(),
		Invocation:    &inv,
		Git:           provenance.GitInfo(".", nil),
		Logger:        log,
		DB:            db,
		Unavailable:   unavailable,
		Live:          true,
		Stopped:       gt.stopped,
		OnEvent: func(ev *ingest.Event) {
			if c.verbose && !c.json && (ev.Action == "output" || ev.Action == "build-output") {
				k := [2]string{ev.Package, ev.Test}
				if masks[k] == nil {
					masks[k] = &redact.Lines{}
				}
				fmt.Fprint(c.env.stdout, masks[k].Line(ev.Output))
			}
		},
		OnTest: func(t *result.Test) {
			prog.test(t)
			if c.junitFile != "" {
				jw.Add(t)
			}
		},
		OnPackage: func(p *ingest.Package, n pipeline.PackageCounts) {
			if c.junitFile != "" {
				jw.EndPackage(p.Name, p.Started, p.Elapsed, brokenReason(p), p.Output)
			}
			prog.packageDone(func() {
				if !c.quiet && !c.json && !c.verbose {
					c.printPackage(p, n)
				}
			})
		},
		OnFailure: func(pkg, name, output string) {
			failures = append(failures, fmt.Sprintf("--- %s %s\n%s", pkg, name, indent(withoutAttrLines(output))))
		},
	})
	prog.stop()
	code, err := gt.wait()
	if err != nil {
		return err
	}
	if c.junitFile != "" {
		if err := jw.WriteFile(c.junitFile); err != nil {
			log.Error(fmt.Sprintf("-junitfile: %v", err))
		}
	}
	if readErr != nil {
		log.Error(fmt.Sprintf("reading go test output: %v", readErr))
	}
	if res != nil && res.NotStarted != "" {
		fmt.Fprintf(c.env.stderr, "evalrec: go test started no test (%s); nothing stored\n", res.NotStarted)
		if c.json {
			_ = jsonout.Write(c.env.stdout, testJSON{Stored: false, NotStarted: res.NotStarted, ExitCode: code})
		}
		return exitError{max(code, 1)}
	}
	if !c.quiet && !c.verbose && len(failures) > 0 {
		fmt.Fprintf(c.out(), "\nFailures:\n%s", strings.Join(failures[:min(len(failures), maxFailures)], ""))
		if len(failures) > maxFailures {
			fmt.Fprintf(c.out(), "… and %d more failing tests (evalrec show latest lists them, -v shows their output)\n", len(failures)-maxFailures)
		}
	}
	// A signal cancelled ctx; the summary is still printed.
	ctx = context.WithoutCancel(ctx)
	diff := c.printSummary(ctx, db, where, res, time.Since(start))
	if code == 0 && res != nil && res.StorageErr != nil && cfg.Strict {
		log.Error(fmt.Sprintf("strict mode: storage failed: %v", res.StorageErr))
		code = 1
	}
	// The gate runs whenever go test ran tests, passing or failing: a
	// new failure is what -fail-on new-failure is for. Its failure adds
	// to go test's exit code, never hides it.
	var report *compare.Report
	if c.failOn != "" && c.baseline == "" && res != nil && res.Run != nil && db != nil {
		// No -baseline: the run's own history is the baseline.
		baseline = c.comparableHistory(ctx, db, res.Run)
	}
	if (c.baseline != "" || c.failOn != "") && res != nil {
		var gcode int
		gcode, report = c.gate(ctx, db, baseline, res, g)
		if code == 0 {
			code = gcode
		}
	}
	if c.notify != "" {
		c.alert(ctx, res, diff, report)
	}
	if c.json {
		if err := jsonout.Write(c.env.stdout, c.summaryJSON(db, where, res, diff, report, code)); err != nil {
			return err
		}
	}
	if code != 0 {
		return exitError{code}
	}
	return nil
}

// runUnstored runs go test with nothing stored, for a configuration that
// cannot be read, and returns its exit code (1 in strict mode, where the
// storage failure fails the suite).
func (c *testCmd) runUnstored(ctx context.Context, strict bool) error {
	gt, err := c.startGoTest()
	if err != nil {
		return err
	}
	in := ingest.New(printer{c})
	rd := ingest.NewReader(gt.stdout)
	for rd.Scan() {
		if ev := rd.Event(); ev != nil {
			in.Event(ev)
		}
	}
	in.Close()
	code, err := gt.wait()
	if err != nil {
		return err
	}
	if code == 0 && strict {
		fmt.Fprintln(c.env.stderr, "evalrec: strict mode: the results were not stored")
		code = 1
	}
	if code != 0 {
		return exitError{code}
	}
	return nil
}

// printer prints packages as they end, for a run that stores nothing.
type printer struct{ c *testCmd }

func (printer) BeginPackage(*ingest.Package) {}
func (printer) Test(*result.Test)            {}
func (p printer) EndPackage(pkg *ingest.Package) {
	if !p.c.quiet {
		p.c.printPackage(pkg, pipeline.PackageCounts{Failed: pkg.Failed, Incomplete: pkg.Incomplete})
	}
}

// strictFromEnv reads EVALREC_STRICT on its own, for when the rest of the
// configuration cannot be read.
func strictFromEnv() bool {
	v, _ := config.ParseFlag(os.Getenv("EVALREC_STRICT"))
	return v
}

// comparableHistory is the default baseline of -fail-on: the newest
// runs (up to -baseline-runs) of the same project, environment and system
// before this one, on its branch, or on any branch when its branch has
// none yet (a new branch judged against the history it came from).
func (c *testCmd) comparableHistory(ctx context.Context, db *store.DB, run *model.EvaluationRun) []model.EvaluationRun {
	f := store.RunFilter{Project: run.Project, Environment: run.Environment, SystemInfoHash: run.SystemInfoHash,
		Status: model.StatusCompleted, Until: run.StartedAt, Except: []model.ID{run.ID}, Limit: int64(c.baselineRuns)}
	if run.GitBranch != nil {
		f.Branch = *run.GitBranch
		if rs, err := db.Runs(ctx, f); err == nil && len(rs) > 0 {
			c.baselineName = "this branch's newest comparable runs"
			return rs
		}
		f.Branch = ""
	}
	rs, _ := db.Runs(ctx, f)
	c.baselineName = "the newest comparable runs"
	return rs
}

// gate compares the stored run with the baseline and returns 1 when the
// gate fails.
func (c *testCmd) gate(ctx context.Context, db *store.DB, baseline []model.EvaluationRun, res *pipeline.Result, g gate) (int, *compare.Report) {
	name := cmp.Or(c.baseline, c.baselineName)
	if db == nil || res == nil || res.Run == nil || res.StorageErr != nil {
		fmt.Fprintf(c.env.stderr, "evalrec: cannot compare with %s: the run was not stored\n", name)
		return 1, nil
	}
	if len(baseline) == 0 {
		// The first run of its configuration: nothing to judge it against.
		fmt.Fprintf(c.env.stderr, "evalrec: gate: no earlier comparable run to judge this one against; it passes\n")
		return 0, nil
	}
	cand, err := db.Run(ctx, res.Run.ID)
	var r compare.Report
	if err == nil {
		r, err = compareSides(ctx, db, baseline, []model.EvaluationRun{*cand}, compare.Options{})
	}
	if err != nil {
		fmt.Fprintf(c.env.stderr, "evalrec: comparing with %s: %v\n", name, err)
		return 1, nil
	}
	if c.selectsTests() {
		r = r.OnCandidateTests()
	}
	fmt.Fprintf(c.out(), "\ncompared with %s (%d runs):\n", name, r.BaseRuns)
	printReport(c.out(), r, false)
	if err := g.check(r); err != nil {
		fmt.Fprintf(c.env.stderr, "evalrec: %v\n", err)
		return 1, &r
	}
	return 0, &r
}

// alert posts the run's new failures and regressions to the -notify
// webhook, when there are any. It never changes the exit code.
func (c *testCmd) alert(ctx context.Context, res *pipeline.Result, diff *compare.Diff, report *compare.Report) {
	if res == nil || res.Run == nil {
		return
	}
	_, project := provenance.ModuleRoot(".")
	m := notify.Message{Project: project, Run: res.Run.EvaluationRunID, Regressions: []notify.Finding{}, NewFailures: []string{}}
	if diff != nil {
		m.NewFailures = append(m.NewFailures, diff.NewlyFailing...)
	}
	if report != nil {
		for _, f := range report.Regressions() {
			nf := notify.Finding{Test: f.TestID, Metric: f.Metric, Base: f.Base, Cand: f.Cand}
			if f.P != nil {
				nf.P = *f.P
			}
			m.Regressions = append(m.Regressions, nf)
		}
		m.NewFailures = append(m.NewFailures, report.NewlyFailing...)
	}
	slices.Sort(m.NewFailures)
	m.NewFailures = slices.Compact(m.NewFailures)
	if m.Empty() {
		return
	}
	m.Text = fmt.Sprintf("evalrec: run %s of %s: %d regressions, %d newly failing tests", m.Run, orAll(project), len(m.Regressions), len(m.NewFailures))
	if len(m.NewFailures) > 0 {
		m.Text += " (" + brief(m.NewFailures, 3) + ")"
	}
	if err := notify.Post(ctx, c.notify, m, notify.Options{}); err != nil {
		fmt.Fprintf(c.env.stderr, "evalrec: %v; the run is stored all the same\n", err)
	}
}

// selectsTests reports whether go test was told to run some tests only
// (-run, -skip): the tests it did not run are then not "gone".
func (c *testCmd) selectsTests() bool {
	for _, a := range c.goArgs {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if a != strings.TrimLeft(a, "-") && (name == "run" || name == "skip" || name == "test.run" || name == "test.skip") {
			return true
		}
	}
	return false
}

// summaryBudget bounds the per-test part of the summary.
const summaryBudget = 10 * time.Second

func (c *testCmd) printPackage(p *ingest.Package, n pipeline.PackageCounts) {
	mark := "ok  "
	switch {
	case p.Broken():
		mark = "FAIL"
	case n.Failed > 0:
		mark = "FAIL"
	case p.Status == ingest.PackageSkipped:
		mark = "?   "
	}
	detail := fmt.Sprintf("%d passed", n.Passed)
	if n.Failed > 0 {
		detail += fmt.Sprintf(", %d failed", n.Failed)
	}
	if n.Skipped > 0 {
		detail += fmt.Sprintf(", %d skipped", n.Skipped)
	}
	if n.Incomplete > 0 {
		detail += fmt.Sprintf(", %d never finished", n.Incomplete)
	}
	switch {
	case p.Status == ingest.PackageBuildFailed:
		detail = "build failed"
	case p.Status == ingest.PackageSkipped:
		detail = "no test files"
	case p.Cached:
		detail += " (cached)"
	}
	if p.Panic != "" {
		detail += "; " + p.Panic
	}
	fmt.Fprintf(c.env.stdout, "%s %s\t%s\t%.2fs\n", mark, p.Name, detail, p.Elapsed.Seconds())
}

// brokenReason is why p broke, or "" when it did not.
func brokenReason(p *ingest.Package) string {
	if !p.Broken() {
		return ""
	}
	return pipeline.Why(p)
}

// out is where the human-readable report goes: nowhere with -json, whose
// one document is the whole of stdout.
func (c *testCmd) out() io.Writer {
	if c.json {
		return io.Discard
	}
	return c.env.stdout
}

// printSummary prints what was stored and how it compares with the
// previous comparable run, which it returns (nil when there is none).
func (c *testCmd) printSummary(ctx context.Context, db *store.DB, where string, res *pipeline.Result, took time.Duration) *compare.Diff {
	w := c.out()
	if res == nil || res.Run == nil {
		fmt.Fprintf(w, "\nevalrec: go test produced no test events; nothing stored\n")
		return nil
	}
	if res.Stats.AttrErrors > 0 {
		fmt.Fprintf(c.env.stderr, "evalrec: %d evalrec attributes on the stream could not be read as such (first: %v)\n", res.Stats.AttrErrors, res.Stats.FirstAttrError)
	}
	if res.Stats.BadLines > 0 {
		fmt.Fprintf(c.env.stderr, "evalrec: %d lines of go test output were not test2json events (first: %v)\n",
			res.Stats.BadLines, res.Stats.FirstBad[0])
	}
	pipeline.ReportStream(c.env.stderr, "evalrec: ", res.Stats)
	r := res.Run
	if res.StorageErr != nil {
		if res.SpoolPath != "" {
			fmt.Fprintf(w, "\nrun %s spooled to %s (%v); %s\n",
				r.EvaluationRunID, logline.RelPath(res.SpoolPath), res.StorageErr, store.ReplayAdvice(res.StorageErr))
		} else {
			fmt.Fprintf(w, "\nrun %s was not stored: %v\n", r.EvaluationRunID, res.StorageErr)
		}
		return nil
	}
	fmt.Fprintf(w, "\nrun %s  %s  (%s, %.1fs)\n", r.EvaluationRunID, r.Status, where, took.Seconds())
	fmt.Fprintf(w, "  tests  %d passed, %d failed, %d skipped", r.NumPassed, r.NumFailed, r.NumSkipped)
	if r.NumIncomplete > 0 {
		fmt.Fprintf(w, ", %d never finished", r.NumIncomplete)
	}
	fmt.Fprintln(w)
	if r.Score != nil {
		fmt.Fprintf(w, "  score  %s\n", fmtScore(r.Score))
	}
	if r.Error != "" {
		fmt.Fprintf(w, "  error  %s\n", r.Error)
	}
	if db == nil {
		return nil
	}
	prev, err := db.PreviousComparable(ctx, r)
	if errors.Is(err, store.ErrNotFound) {
		fmt.Fprintf(w, "  first run of this configuration on this branch: nothing to compare with yet\n")
		return nil
	}
	if err != nil {
		return nil
	}
	// Per-test changes need both runs' results; past a few seconds (a far
	// server) the summary shows run-level changes only.
	tctx, cancel := context.WithTimeout(ctx, summaryBudget)
	defer cancel()
	var d compare.Diff
	if res.Results != nil {
		d, err = compare.LoadBase(tctx, db, prev, r, res.Results)
	} else {
		d, err = compare.LoadRuns(tctx, db, prev, r)
	}
	if err != nil {
		d = compare.Runs(prev, r, nil, nil)
		defer fmt.Fprintf(w, "  (per-test changes skipped: reading the tests took over %s; a store this large wants MongoDB, see README Performance)\n", summaryBudget)
	}
	if c.selectsTests() {
		d.RemovedTests = nil // the candidate chose its tests: the others are not gone
	}
	printChanges(w, d)
	return &d
}
