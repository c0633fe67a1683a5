package faults

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"evalrec.dev/internal/storetest"
	"evalrec.dev/internal/testmod"
	"evalrec.dev/model"
	"evalrec.dev/store"
)

const mainFile = `package %s

import (
	"os"
	"testing"

	"evalrec.dev/evalrec"
)

func TestMain(m *testing.M) { os.Exit(evalrec.Main(m)) }
`

// recorders is a package of n tests that record a metric, then the test
// last, whose body is given (a panic, say).
func recorders(pkg string, n int, last string) map[string]string {
	var b strings.Builder
	fmt.Fprintf(&b, "package %s\n\nimport (\n\t\"os\"\n\t\"testing\"\n\n\t\"evalrec.dev/evalrec\"\n)\n\nvar _ = os.Exit\n", pkg)
	for i := range n {
		fmt.Fprintf(&b, "\nfunc TestRec%04d(t *testing.T) { evalrec.Record(t, evalrec.Metrics{\"acc\": 0.5}) }\n", i)
	}
	if last != "" {
		fmt.Fprintf(&b, "\nfunc TestZLast(t *testing.T) {\n\tevalrec.Record(t, evalrec.Metrics{\"acc\": 0.1})\n\t%s\n}\n", last)
	}
	return map[string]string{
		pkg + "/main_test.go": fmt.Sprintf(mainFile, pkg),
		pkg + "/rec_test.go":  b.String(),
	}
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// spoolOf is the spool of the module in dir.
func spoolOf(dir string) string { return filepath.Join(dir, ".evalrec", "spool") }

func TestACrashingTestBinaryKeepsWhatItRecorded(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name     string
		recorded int
		last     string
	}{
		{"panic", 40, `panic("boom")`},
		{"panic after 60", 60, `panic("boom after 60")`},
		{"os.Exit(0)", 26, `os.Exit(0)`},
		{"panic at once", 0, `panic("at once")`},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := storetest.New(t)
			dir := testmod.Write(t, recorders("p", c.recorded, c.last))
			out := testmod.Run(t, dir, append(storeEnv(s), "MONGODB_ENABLED=true"), "go", "test", "-count=1", "./...")
			require.NotZero(t, out.Code, out.Combined())
			// The ingester the binary started stores its journal once go
			// test has ended.
			storetest.AwaitIngest(t, spoolOf(dir))

			rs := runs(t, s.DB)
			require.Len(t, rs, 1)
			r := rs[0]
			assert.Equal(t, model.StatusFailed, r.Status)
			assert.Contains(t, r.Error, "test binary for example.com/gen/p crashed: panic: ", "the run's error quotes the crash")
			trs := assertTotalsAreStored(t, s.DB, r)
			assert.Len(t, trs, c.recorded+1, "every recorded test, and the one that crashed")
			byName := map[string]model.TestRun{}
			for _, tr := range trs {
				byName[tr.GoTest] = tr
			}
			assert.Equal(t, "failed", byName["TestZLast"].Status, "the crashing test is stored, failed")
			if strings.HasPrefix(c.last, "panic") {
				out, err := s.DB.TestOutput(context.Background(), byName["TestZLast"].ID)
				require.NoError(t, err)
				assert.Contains(t, out, strings.TrimSuffix(strings.TrimPrefix(c.last, `panic("`), `")`), "the crashing test's output holds its panic")
			}
			t.Logf("%s: %d of %d recorded results stored", c.name, len(trs), c.recorded+1)
		})
	}
}

func TestACrashAmongManyBinariesLeavesExactTotals(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	const per = 500
	dir := testmod.Write(t, merge(recorders("a", per, ""), recorders("b", per/2, `panic("half way")`),
		recorders("c", per, ""), recorders("d", per, "")))
	out := testmod.Run(t, dir, append(storeEnv(s), "MONGODB_ENABLED=true"), "go", "test", "-count=1", "-p", "4", "./...")
	require.NotZero(t, out.Code, out.Combined())
	storetest.AwaitIngest(t, spoolOf(dir))
	rs := runs(t, s.DB)
	require.Len(t, rs, 1, "one invocation, one run")
	trs := assertTotalsAreStored(t, s.DB, rs[0])
	assert.Len(t, trs, 3*per+per/2+1)
	assert.Equal(t, model.StatusFailed, rs[0].Status)
	t.Logf("4 binaries, one panicking: %d of %d results stored, run says %d", len(trs), 3*per+per/2+1, rs[0].NumTests)
}

func TestAnExplicitRunIDNamesOneRunPerInvocation(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	files := map[string]string{}
	for _, p := range []string{"p1", "p2", "p3", "p4", "p5"} {
		files = merge(files, recorders(p, 100, ""))
	}
	dir := testmod.Write(t, files)
	env := append(storeEnv(s), "MONGODB_ENABLED=true", "EVALREC_RUN_ID=nightly-9")
	out := testmod.Run(t, dir, env, "go", "test", "-count=1", "-p", "1", "./...")
	require.Zero(t, out.Code, out.Combined())
	storetest.AwaitIngest(t, spoolOf(dir))
	rs := runs(t, s.DB)
	require.Len(t, rs, 1, "binaries that start in different seconds still join one run")
	assert.Equal(t, "nightly-9", rs[0].EvaluationRunID)
	assert.Equal(t, model.StatusCompleted, rs[0].Status)
	assert.Len(t, assertTotalsAreStored(t, s.DB, rs[0]), 500)

	// The same ID again, from the wrapper: another invocation, another run.
	out = testmod.Run(t, dir, append(storeEnv(s), "EVALREC_RUN_ID=nightly-9"), filepath.Join(testmod.Bin(t), "evalrec"), "test", "-count=1", "./p1")
	require.Zero(t, out.Code, out.Combined())
	assert.Contains(t, out.Stderr, "run ID nightly-9 is taken by an earlier run of another invocation; this run is stored as nightly-9-")
	rs = runs(t, s.DB)
	require.Len(t, rs, 2)
	assert.True(t, strings.HasPrefix(rs[1].EvaluationRunID, "nightly-9-"), rs[1].EvaluationRunID)
	assert.Len(t, assertTotalsAreStored(t, s.DB, rs[1]), 100, "nothing of it dropped as already stored")
	assert.Len(t, testRuns(t, s.DB, rs[0].ID), 500, "nothing merged into the first")
}

func TestRunsStartedInOneSecondSortByTheirMilliseconds(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	base := time.Date(2026, 11, 5, 10, 0, 0, 0, time.UTC)
	for i, ms := range []int{300, 100, 200} {
		stream := joinLines(genStream(fmt.Sprintf("example.com/gen/p%d", i), base.Add(time.Duration(ms)*time.Millisecond), 3))
		out := convert(t, s, t.TempDir(), stream)
		require.Zero(t, out.Code, out.Combined())
	}
	for ref, want := range map[string]int{"latest": 300, "latest~1": 200, "latest~2": 100} {
		r, err := s.DB.ResolveRun(context.Background(), ref, store.RunFilter{})
		require.NoError(t, err)
		assert.Equal(t, base.Add(time.Duration(want)*time.Millisecond), r.StartedAt.UTC(), ref)
	}
}

func TestAConfigurationProblemIsSeenInAPlainGoTest(t *testing.T) {
	t.Parallel()
	dir := testmod.Write(t, recorders("p", 3, ""))
	out := testmod.Run(t, dir, []string{"MONGODB_ENABLED=sure"}, "go", "test", "-count=1", "./...")
	require.Zero(t, out.Code, "a bad setting never fails the suite: %s", out.Combined())
	assert.Contains(t, out.Combined(), `MONGODB_ENABLED: "sure" is not true or false`)
	assert.Contains(t, out.Combined(), "ok  \texample.com/gen/p")

	out = testmod.Run(t, dir, []string{"MONGODB_ENABLED=yes", "MONGODB_CONNECTION_STRING=mongodb://127.0.0.1:1/",
		"EVALREC_CONNECT_TIMEOUT=200ms"}, "go", "test", "-count=1", "./...")
	require.Zero(t, out.Code, out.Combined())
	assert.Contains(t, out.Combined(), "cannot reach MongoDB at mongodb://127.0.0.1:1/ (connection refused): results stay in "+filepath.Join(dir, ".evalrec", "spool"),
		"yes enables storage, and the spool is announced without -v")
	_, err := os.Stat(filepath.Join(dir, ".evalrec", "ingester.log"))
	assert.ErrorIs(t, err, os.ErrNotExist, "no ingester is started for a server no connection reaches")
}

func TestABuildFailureFailsTheRunThatCanSeeIt(t *testing.T) {
	t.Parallel()
	files := merge(recorders("a", 3, ""), recorders("b", 3, ""), recorders("c", 3, ""),
		map[string]string{"d/d_test.go": "package d\n\nimport \"testing\"\n\nfunc TestBroken(t *testing.T) { undefined() }\n"})
	dir := testmod.Write(t, files)

	// The wrapper and the converter read go test's stream, which reports
	// the build failure.
	sw := storetest.New(t)
	out := testmod.Run(t, dir, storeEnv(sw), filepath.Join(testmod.Bin(t), "evalrec"), "test", "-count=1", "./...")
	assert.Equal(t, 1, out.Code, "go test's own exit code: %s", out.Combined())
	r := runs(t, sw.DB)[0]
	assert.Equal(t, model.StatusFailed, r.Status)
	assert.Contains(t, r.Error, "example.com/gen/d: build failed")
	assert.Len(t, assertTotalsAreStored(t, sw.DB, r), 9)

	sc := storetest.New(t)
	stream := testmod.Run(t, dir, nil, "go", "test", "-json", "-count=1", "./...")
	out = convert(t, sc, dir, []byte(stream.Stdout))
	assert.Equal(t, 1, out.Code, out.Combined())
	r = runs(t, sc.DB)[0]
	assert.Equal(t, model.StatusFailed, r.Status)
	assert.Contains(t, r.Error, "example.com/gen/d: build failed")

	// TestMain mode: no binary of d ever runs, and nothing in the others
	// can tell a build failure from a package go test served from its
	// cache. The README says so, and recommends the wrapper.
	sm := storetest.New(t)
	out = testmod.Run(t, dir, append(storeEnv(sm), "MONGODB_ENABLED=true"), "go", "test", "-count=1", "./...")
	assert.Equal(t, 1, out.Code, out.Combined())
	storetest.AwaitIngest(t, spoolOf(dir))
	r = runs(t, sm.DB)[0]
	assert.Len(t, assertTotalsAreStored(t, sm.DB, r), 9, "what ran is stored")
}

// TestNothingOutlivesGoTestWhenAsked: with EVALREC_BACKGROUND_STORE=false
// no process a test binary started is left when go test exits; the
// journals wait, and the next evalrec command stores them.
func TestNothingOutlivesGoTestWhenAsked(t *testing.T) {
	t.Parallel()
	dir := testmod.Write(t, recorders("p", 3, ""))
	out := testmod.Run(t, dir, []string{"MONGODB_ENABLED=true", "EVALREC_BACKGROUND_STORE=false"}, "go", "test", "-count=1", "-v", "./...")
	require.Zero(t, out.Code, out.Combined())
	assert.Contains(t, out.Combined(), "the next evalrec command (or `evalrec replay`) stores it")
	journals, _ := filepath.Glob(filepath.Join(spoolOf(dir), "*.jsonl"))
	require.NotEmpty(t, journals, "the results wait in the spool")
	// An ingester is the evalrec command, with EVALREC_SETTLE set, in the
	// package's directory.
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		cwd, _ := os.Readlink(filepath.Join(p, "cwd"))
		env, _ := os.ReadFile(filepath.Join(p, "environ"))
		if strings.HasPrefix(cwd, dir) && strings.Contains(string(env), "EVALREC_SETTLE=") {
			t.Errorf("an ingester outlived go test: %s", p)
		}
	}
	runsOut := testmod.Run(t, dir, nil, filepath.Join(testmod.Bin(t), "evalrec"), "runs")
	require.Zero(t, runsOut.Code, runsOut.Combined())
	assert.Contains(t, runsOut.Stdout, "completed", "the next command stored the run")
}

// TestWithoutAnEvalrecCommandTheJournalsWaitAndOneLineSaysSo: a test
// binary links no store driver; with no evalrec command to store its
// journal, one line says how to get one, and `evalrec replay` stores what
// waited.
func TestWithoutAnEvalrecCommandTheJournalsWaitAndOneLineSaysSo(t *testing.T) {
	t.Parallel()
	dir := testmod.Write(t, merge(recorders("p", 3, ""), recorders("q", 2, "")))
	s := storetest.New(t)
	// PATH as the tests have it, less any directory holding an evalrec.
	var path []string
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(d, "evalrec")); err != nil {
			path = append(path, d)
		}
	}
	env := append(storeEnv(s), "MONGODB_ENABLED=true", "EVALREC_BIN=", "PATH="+strings.Join(path, string(os.PathListSeparator)))
	out := testmod.Run(t, dir, env, "go", "test", "-count=1", "./...")
	require.Zero(t, out.Code, "storage never fails the suite: %s", out.Combined())
	assert.Equal(t, 1, strings.Count(out.Combined(), "nothing stores it: no evalrec command found (go install evalrec.dev/cmd/evalrec@latest, or set EVALREC_BIN)"),
		"once a go test run, not once a package: %s", out.Combined())
	pending, err := store.PendingSpool(spoolOf(dir))
	require.NoError(t, err)
	require.Len(t, pending, 2, "the journals wait")
	assert.Empty(t, runs(t, s.DB))

	out = testmod.Run(t, dir, storeEnv(s), filepath.Join(testmod.Bin(t), "evalrec"), "replay")
	require.Zero(t, out.Code, out.Combined())
	rs := runs(t, s.DB)
	require.Len(t, rs, 1)
	assert.Len(t, assertTotalsAreStored(t, s.DB, rs[0]), 5)
}

// TestStrictModeStoresBeforeGoTestEnds: in strict mode each test binary
// runs the evalrec command itself and waits for it, so the run is stored
// when go test exits, with nothing left in the spool.
func TestStrictModeStoresBeforeGoTestEnds(t *testing.T) {
	t.Parallel()
	dir := testmod.Write(t, merge(recorders("a", 4, ""), recorders("b", 5, "")))
	s := storetest.New(t)
	out := testmod.Run(t, dir, append(storeEnv(s), "MONGODB_ENABLED=true", "EVALREC_STRICT=true"), "go", "test", "-count=1", "-v", "./...")
	require.Zero(t, out.Code, out.Combined())
	assert.Contains(t, out.Combined(), "stored example.com/gen/a in sqlite:")
	pending, err := store.PendingSpool(spoolOf(dir))
	require.NoError(t, err)
	assert.Empty(t, pending)
	rs := runs(t, s.DB)
	require.Len(t, rs, 1, "one run, when go test has exited")
	assert.Equal(t, model.StatusCompleted, rs[0].Status)
	assert.Len(t, assertTotalsAreStored(t, s.DB, rs[0]), 9)
}
