package main

import (
	"flag"
	"math"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"evalrec.dev/compare"
	"evalrec.dev/model"
)

func TestSplitArgsFindsEvalrecFlagsAnywhere(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		ours, goes []string
		verbose    bool
	}{
		{[]string{"-q", "-v", "-tags", "exp2", "./pkg"}, []string{"-q"}, []string{"-v", "-tags", "exp2", "./pkg"}, true},
		{[]string{"-count=1", "-exp", "exp1", "-env", "lab", "./pkg"}, []string{"-exp", "exp1", "-env", "lab"}, []string{"-count=1", "./pkg"}, false},
		{[]string{"-run", "TestX", "./...", "-json", "-baseline", "latest"}, []string{"-json", "-baseline", "latest"}, []string{"-run", "TestX", "./..."}, false},
		// A go test flag's value is never read as an evalrec flag.
		{[]string{"-run", "-q", "./..."}, nil, []string{"-run", "-q", "./..."}, false},
		{[]string{"-q", "--", "-env", "x"}, []string{"-q"}, []string{"-env", "x"}, false},
		{[]string{"./...", "-args", "-q", "-env", "x"}, nil, []string{"./...", "-args", "-q", "-env", "x"}, false},
		{[]string{"-h"}, []string{"-h"}, nil, false},
		{[]string{"-v=false", "-exp=a,b"}, []string{"-exp=a,b"}, []string{"-v=false"}, false},
	} {
		c := newTestCmd(&environment{})
		ours := c.splitArgs(tc.args)
		if !slices.Equal(ours, tc.ours) || !slices.Equal(c.goArgs, tc.goes) || c.verbose != tc.verbose {
			t.Errorf("%q: evalrec %q, go test %q, verbose %v; want %q, %q, %v", tc.args, ours, c.goArgs, c.verbose, tc.ours, tc.goes, tc.verbose)
		}
	}
}

// TestEvalrecTestFlagsShadowNoGoTestFlag keeps the promise that none of
// evalrec test's flags is also go test's, but the two it documents.
func TestEvalrecTestFlagsShadowNoGoTestFlag(t *testing.T) {
	goBool := []string{"a", "benchmem", "c", "cover", "failfast", "fullpath", "n", "race", "msan", "asan", "short", "trimpath", "v", "work", "x", "linkshared", "modcacherw", "i", "buildvcs", "json"}
	c := newTestCmd(&environment{})
	c.fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "json" {
			return // documented: go test always runs with -json under evalrec
		}
		if goValueFlags[f.Name] || slices.Contains(goBool, f.Name) {
			t.Errorf("evalrec test -%s shadows go test's flag", f.Name)
		}
	})
}

func TestWithoutAttrLines(t *testing.T) {
	in := "=== RUN   TestX\n=== ATTR  TestX evalrec.metric.wer {\"value\":1}\n    x_test.go:9: bad\n=== ATTR  TestX mine 1\n--- FAIL: TestX\n"
	want := "=== RUN   TestX\n    x_test.go:9: bad\n=== ATTR  TestX mine 1\n--- FAIL: TestX\n"
	if got := withoutAttrLines(in); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// evalrec test, which holds a run's results until its summary, runs
// under a lower soft memory limit than the other commands, and collects
// less often below it, wherever -C puts it.
func TestCollectorSettingsAreTestsOwn(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want gcSettings
	}{
		{[]string{"test", "./..."}, gcSettings{200, 112 << 20}},
		{[]string{"-C", "sub", "test"}, gcSettings{200, 112 << 20}},
		{[]string{"-C=sub", "test", "-q"}, gcSettings{200, 112 << 20}},
		{[]string{"changes"}, gcSettings{0, 128 << 20}},
		{[]string{"serve", "test"}, gcSettings{0, 128 << 20}},
		{nil, gcSettings{0, 128 << 20}},
	} {
		if got := collectorFor(tc.args); got != tc.want {
			t.Errorf("collectorFor(%q) = %+v, want %+v", tc.args, got, tc.want)
		}
	}
}

// What the user set wins over a command's settings.
func TestCollectorSettingsLeaveWhatTheUserSet(t *testing.T) {
	percent := debug.SetGCPercent(100)
	limit := debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	})
	current := func() (int, int64) {
		p := debug.SetGCPercent(-1)
		debug.SetGCPercent(p)
		return p, debug.SetMemoryLimit(-1) // a negative limit only reads it
	}

	gcSettings{200, 112 << 20}.apply(func(string) string { return "" })
	p, l := current()
	if p != 200 || l != 112<<20 {
		t.Errorf("nothing set by the user: GOGC %d, limit %d MiB; want 200 and 112 MiB", p, l>>20)
	}

	debug.SetGCPercent(100)
	debug.SetMemoryLimit(math.MaxInt64)
	gcSettings{200, 112 << 20}.apply(func(k string) string { return map[string]string{"GOGC": "50", "GOMEMLIMIT": "2GiB"}[k] })
	if p, l := current(); p != 100 || l != math.MaxInt64 {
		t.Errorf("GOGC and GOMEMLIMIT set by the user: GOGC %d, limit %d; want both left alone", p, l)
	}
}

// TestTheSummarySaysATestWasRenamed: the line a renamed test gets, in the
// summary and in compare's report.
func TestTheSummarySaysATestWasRenamed(t *testing.T) {
	var b strings.Builder
	printChanges(&b, compare.Diff{Base: &model.EvaluationRun{EvaluationRunID: "run-1"},
		Renamed: []compare.Renamed{{Base: "p.T/(0xc000123456)", Cand: "p.T/(0xc000abcdef)"}, {Base: "p.U/(0xc000123456)", Cand: "p.U/(0xc000abcdef)"}}})
	if !strings.Contains(b.String(), "  names  2 tests are named anew each run (a pointer's address or a time in their names): compared as the same tests\n") {
		t.Errorf("summary:\n%s", b.String())
	}
	b.Reset()
	printReport(&b, compare.Report{Renamed: []compare.Renamed{{Base: "a", Cand: "b"}}}, false)
	if !strings.Contains(b.String(), "renamed: 1 test is named anew each run (a pointer's address or a time in its name): compared as the same test\n") {
		t.Errorf("compare:\n%s", b.String())
	}
}
