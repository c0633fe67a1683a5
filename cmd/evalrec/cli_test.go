package main

import (
	"flag"
	"slices"
	"testing"
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

// evalrec test, which holds a run's results until its summary, runs under
// a lower soft memory limit than the other commands, wherever -C puts it.
func TestMemoryLimitIsLowerForTest(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int64
	}{
		{[]string{"test", "./..."}, 112 << 20},
		{[]string{"-C", "sub", "test"}, 112 << 20},
		{[]string{"-C=sub", "test", "-q"}, 112 << 20},
		{[]string{"changes"}, 128 << 20},
		{[]string{"serve", "test"}, 128 << 20},
		{nil, 128 << 20},
	} {
		if got := memoryLimit(tc.args); got != tc.want {
			t.Errorf("memoryLimit(%q) = %d MiB, want %d MiB", tc.args, got>>20, tc.want>>20)
		}
	}
}
