package evalrec_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"evalrec.dev/evalrec"
	"evalrec.dev/internal/storetest"
	"evalrec.dev/internal/testmod"
	"evalrec.dev/model"
	"evalrec.dev/scoring"
	"evalrec.dev/store"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("..")
	require.NoError(t, err)
	return dir
}

// module writes a Go module that uses this checkout of evalrec.
func module(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	root := repoRoot(t)
	gomod := "module example.com/gen\n\ngo 1.25\n\nrequire evalrec.dev v0.0.0\n\nreplace evalrec.dev => " + root + "\n"
	files["go.mod"] = gomod
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	require.NoError(t, err)
	files["go.sum"] = string(sum)
	for name, content := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return dir
}

// goTest runs go test in dir with env added and returns its combined output
// and exit code.
func goTest(t *testing.T, dir string, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"test"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS="+testmod.GoFlags, "EVALREC_FLUSH_INTERVAL=50ms", testmod.BinEnv(t))
	cmd.Env = append(cmd.Env, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err, out.String())
	}
	return out.String(), code
}

const mainTest = `package %s

import (
	"os"
	"testing"

	"evalrec.dev/evalrec"
)

func TestMain(m *testing.M) { os.Exit(evalrec.Main(m)) }
`

func recordingTests(pkg string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "package %s\n\nimport (\n\t\"fmt\"\n\t\"testing\"\n\n\t\"evalrec.dev/evalrec\"\n)\n\n", pkg)
	fmt.Fprintf(&b, `func TestMany(t *testing.T) {
	for i := range %d {
		t.Run(fmt.Sprint("case", i), func(t *testing.T) {
			t.Parallel()
			evalrec.Record(t, evalrec.Metrics{"accuracy": float64(i%%10) / 10})
		})
	}
}
`, n)
	return b.String()
}

func runs(t *testing.T, db *store.DB) []model.EvaluationRun { return storetest.Runs(t, db) }

// testRuns returns the stored test runs that keep selects, with their
// output, sorted by _id.
func testRuns(t *testing.T, db *store.DB, keep func(model.TestRun) bool) []model.TestRun {
	t.Helper()
	var out []model.TestRun
	for _, r := range runs(t, db) {
		for _, tr := range storetest.TestRuns(t, db, r.ID) {
			if keep(tr) {
				out = append(out, tr)
			}
		}
	}
	slices.SortFunc(out, func(a, b model.TestRun) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func TestExampleSuiteStoresACompleteRun(t *testing.T) {
	s := storetest.New(t)
	// The example is a module of its own, so that go test ./... of this
	// module never runs it against a user's settings.
	out, code := goTest(t, filepath.Join(repoRoot(t), "examples"), append(s.Env(), "TRANSLATOR_API_KEY=sk-secret"), "-count=1", "./scenario_test/")
	s.AwaitIngest(t)
	require.Equal(t, 0, code, out)

	rs := runs(t, s.DB)
	require.Len(t, rs, 1)
	r := rs[0]
	assert.Equal(t, model.StatusCompleted, r.Status)
	assert.Equal(t, 4, r.NumTests)
	assert.Equal(t, 4, r.NumPassed)
	assert.Equal(t, "dev", r.Environment)
	require.NotNil(t, r.Score)
	assert.Greater(t, *r.Score, 50.0)
	assert.Contains(t, r.Metrics, "wer")
	assert.Equal(t, 4, r.MetricStats["wer"].N)
	assert.Equal(t, "whisper-large-v3", r.System.SystemUnderTest["asr_engine"])
	assert.Equal(t, "xxxxx", r.System.SystemUnderTest["api_key"])
	assert.Len(t, r.SystemInfoHash, 64)
	assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ-`, r.EvaluationRunID)

	trs := testRuns(t, s.DB, func(tr model.TestRun) bool { return tr.EvaluationRunID == r.ID })
	require.Len(t, trs, 4)
	byID := map[string]model.TestRun{}
	for _, tr := range trs {
		byID[tr.TestID] = tr
	}
	hotel := byID["hotel-checkin-de-en"]
	assert.Equal(t, "Guest checks in at a hotel reception, German to English", hotel.TestName)
	assert.Equal(t, "garbled_turn", hotel.ScoreMethod)
	assert.Equal(t, []string{"guest", "receptionist"}, hotel.Participants)
	assert.Equal(t, []string{"de-en", "travel"}, hotel.Tags)
	assert.Equal(t, "passed", hotel.Status)
	assert.True(t, hotel.Passed)
	assert.Greater(t, hotel.DurationMS, 0.0)
	require.NotNil(t, hotel.Score)
	assert.InDelta(t, (85.185185+100)/2*0.75, *hotel.Score, 0.01, "garbled_turn: mean of the other metric scores, scaled by the ungarbled share")
	assert.Equal(t, "ratio", hotel.Metrics["wer"].Unit)
	assert.Equal(t, "lower", hotel.Metrics["wer"].Direction)

	// Nothing secret anywhere in what was stored.
	assert.NotContains(t, storetest.Documents(t, s.DB), "sk-secret")
}

func TestStorageDisabledDoesNothing(t *testing.T) {
	t.Setenv("MONGODB_ENABLED", "false")
	t.Setenv("EVALREC_SPOOL_DIR", filepath.Join(t.TempDir(), "spool"))
	var buf bytes.Buffer
	old := evalrec.Stderr
	evalrec.Stderr = &buf
	defer func() { evalrec.Stderr = old }()

	// Goroutines are told apart by identity, not counted: a count also
	// drops when an earlier test's goroutine ends in between.
	ignoreExisting := goleak.IgnoreCurrent()
	r := evalrec.Start()
	evalrec.Record(t, evalrec.Metrics{"x": 1})
	assert.Equal(t, 0, r.Finish(0))
	assert.Nil(t, r)
	assert.NoError(t, goleak.Find(ignoreExisting), "no goroutine left behind")
	assert.Equal(t, "evalrec: storage disabled (MONGODB_ENABLED=false)\n", buf.String())
	_, err := os.Stat(os.Getenv("EVALREC_SPOOL_DIR"))
	assert.True(t, os.IsNotExist(err), "no file written")
}

func TestPackagesOfOneInvocationShareOneRunWithExactTotals(t *testing.T) {
	s := storetest.New(t)
	files := map[string]string{}
	const pkgs, perPkg = 4, 30
	for i := range pkgs {
		p := fmt.Sprintf("p%d", i)
		files[p+"/main_test.go"] = fmt.Sprintf(mainTest, p)
		files[p+"/x_test.go"] = recordingTests(p, perPkg)
	}
	dir := module(t, files)
	out, code := goTest(t, dir, s.Env(), "-count=1", "-p", "4", "./...")
	s.AwaitIngest(t)
	require.Equal(t, 0, code, out)

	rs := runs(t, s.DB)
	require.Len(t, rs, 1, "one go test invocation is one evaluation run")
	r := rs[0]
	assert.Equal(t, model.StatusCompleted, r.Status)
	assert.Equal(t, pkgs*perPkg, r.NumTests)
	assert.Equal(t, pkgs*perPkg, r.NumPassed)
	assert.Len(t, testRuns(t, s.DB, func(tr model.TestRun) bool { return tr.EvaluationRunID == r.ID }), pkgs*perPkg)
	assert.InDelta(t, 0.45, r.Metrics["accuracy"], 1e-9)

	// A second invocation is a second run.
	out, code = goTest(t, dir, s.Env(), "-count=1", "-p", "4", "./p0")
	s.AwaitIngest(t)
	require.Equal(t, 0, code, out)
	assert.Len(t, runs(t, s.DB), 2)
}

func TestRepeatedRecordsCountAndAttemptsAndStatuses(t *testing.T) {
	s := storetest.New(t)
	dir := module(t, map[string]string{
		"a/main_test.go": fmt.Sprintf(mainTest, "a"),
		"a/a_test.go": `package a

import (
	"testing"

	"evalrec.dev/evalrec"
)

func TestTwice(t *testing.T) {
	evalrec.Record(t, evalrec.Metrics{"x": 0.2, "y": 1}, evalrec.Tags("first"))
	evalrec.Record(t, evalrec.Metrics{"x": 0.6}, evalrec.Tags("second"), evalrec.TestID("custom-id"))
}

func TestFails(t *testing.T) {
	evalrec.Record(t, evalrec.Metrics{"x": 1})
	t.Error("deliberate")
}

func TestSkips(t *testing.T) {
	evalrec.Record(t, evalrec.Metrics{"x": 1})
	t.Skip("not today")
}

func TestOddNames(t *testing.T) {
	evalrec.Record(t, evalrec.Metrics{"lat.p99": 0.5, "$where": 0.5, "": 0.5, "nan": nanValue()})
}
`,
		"a/nan_test.go": "package a\n\nimport \"math\"\n\nfunc nanValue() float64 { return math.NaN() }\n",
	})
	out, code := goTest(t, dir, s.Env(), "-v", "-count=2", "./...")
	s.AwaitIngest(t)
	require.Equal(t, 1, code, out)
	assert.Contains(t, out, `a_test.go:25: evalrec: metric "lat.p99" is stored as "lat%2Ep99"`, "Record's notes name the line that called it")

	rs := runs(t, s.DB)
	require.Len(t, rs, 1)
	r := rs[0]
	assert.Equal(t, model.StatusCompleted, r.Status, "test failures are counted, the run itself completed")
	assert.Equal(t, 8, r.NumTests)
	assert.Equal(t, 2, r.NumFailed)
	assert.Equal(t, 2, r.NumSkipped)

	twice := testRuns(t, s.DB, func(tr model.TestRun) bool { return tr.TestID == "custom-id" })
	require.Len(t, twice, 2, "-count=2 stores two attempts")
	assert.Equal(t, 1, twice[0].Attempt)
	assert.Equal(t, 2, twice[1].Attempt)
	assert.InDelta(t, 0.6, *twice[0].Metrics["x"].Value, 1e-9, "a later value replaces an earlier one")
	assert.Contains(t, twice[0].Metrics, "y", "metrics accumulate")
	assert.InDelta(t, (60.0+100)/2, *twice[0].Score, 1e-9, "the score covers every metric")
	assert.Equal(t, []string{"first", "second"}, twice[0].Tags)

	fails := testRuns(t, s.DB, func(tr model.TestRun) bool { return tr.GoTest == "TestFails" })
	require.Len(t, fails, 2)
	assert.Contains(t, fails[0].Output, "deliberate", "a failed test keeps the tail of its output")
	assert.Empty(t, twice[0].Output, "passing tests keep none")

	odd := testRuns(t, s.DB, func(tr model.TestRun) bool { return tr.GoTest == "TestOddNames" })
	require.Len(t, odd, 2)
	assert.Contains(t, odd[0].Metrics, "lat%2Ep99")
	assert.Contains(t, odd[0].Metrics, "%24where")
	assert.Nil(t, odd[0].Metrics["nan"].Value)
	assert.Equal(t, "NaN", odd[0].Metrics["nan"].NonFinite)
}

func TestAFailureNoRecordSawFailsTheRun(t *testing.T) {
	s := storetest.New(t)
	dir := module(t, map[string]string{
		"a/main_test.go": fmt.Sprintf(mainTest, "a"),
		"a/a_test.go": `package a

import (
	"testing"

	"evalrec.dev/evalrec"
)

func TestRecorded(t *testing.T) { evalrec.Record(t, evalrec.Metrics{"x": 1}) }
func TestPlain(t *testing.T)    { t.Error("fails without calling Record") }
`,
	})
	out, code := goTest(t, dir, s.Env(), "-count=1", "./...")
	s.AwaitIngest(t)
	require.Equal(t, 1, code, out)
	r := runs(t, s.DB)[0]
	assert.Equal(t, model.StatusFailed, r.Status)
	assert.Contains(t, r.Error, "no failure recorded by evalrec")
	assert.Equal(t, 1, r.NumPassed)
}

const killerTests = `package %s

import (
	"os"
	"testing"
	"time"

	"evalrec.dev/evalrec"
)

var _ = os.Exit

func TestRecorded(t *testing.T) { evalrec.Record(t, evalrec.Metrics{"x": 1}) }

func TestDies(t *testing.T) {
	time.Sleep(500 * time.Millisecond) // several flush intervals
	%s
}
`

func TestKilledBinaryIsMarkedFailedByTheRestOfTheRun(t *testing.T) {
	s := storetest.New(t)
	dir := module(t, map[string]string{
		"a/main_test.go": fmt.Sprintf(mainTest, "a"),
		"a/a_test.go":    fmt.Sprintf(killerTests, "a", "os.Exit(3)"),
		"b/main_test.go": fmt.Sprintf(mainTest, "b"),
		"b/b_test.go": `package b

import (
	"testing"
	"time"

	"evalrec.dev/evalrec"
)

func TestSlow(t *testing.T) {
	time.Sleep(2 * time.Second) // outlives package a
	evalrec.Record(t, evalrec.Metrics{"x": 1})
}
`,
	})
	out, code := goTest(t, dir, s.Env(), "-count=1", "-p", "2", "./...")
	s.AwaitIngest(t)
	require.NotEqual(t, 0, code, out)
	r := runs(t, s.DB)[0]
	assert.Equal(t, model.StatusFailed, r.Status)
	assert.Contains(t, r.Error, "example.com/gen/a")
	assert.Equal(t, 2, r.NumTests, "a's flushed result and b's both count")
	assert.Len(t, testRuns(t, s.DB, func(tr model.TestRun) bool { return tr.GoTest == "TestRecorded" }), 1)
}

func TestTimeoutPanicIsMarkedFailedWhenItsJournalIsStored(t *testing.T) {
	s := storetest.New(t)
	dir := module(t, map[string]string{
		"a/main_test.go": fmt.Sprintf(mainTest, "a"),
		"a/a_test.go":    fmt.Sprintf(killerTests, "a", "time.Sleep(time.Hour)"),
	})
	out, code := goTest(t, dir, s.Env(), "-count=1", "-timeout", "2s", "./...")
	s.AwaitIngest(t)
	require.NotEqual(t, 0, code, out)
	require.Contains(t, out, "test timed out")
	r := runs(t, s.DB)[0]
	assert.Equal(t, model.StatusFailed, r.Status)
	assert.Contains(t, r.Error, "crashed: panic: test timed out after 2s", "the run's error quotes the crash")
	assert.Equal(t, 1, r.NumTests, "the result recorded before the panic is kept")
}

func TestUnreachableServerSpoolsAndStrictModeFails(t *testing.T) {
	dir := module(t, map[string]string{
		"a/main_test.go": fmt.Sprintf(mainTest, "a"),
		"a/a_test.go":    recordingTests("a", 5),
	})
	env := []string{"MONGODB_ENABLED=true", "MONGODB_CONNECTION_STRING=mongodb://evalrec:hunter2@127.0.0.1:1/", "EVALREC_CONNECT_TIMEOUT=500ms"}
	out, code := goTest(t, dir, env, "-count=1", "-v", "./...")
	require.Equal(t, 0, code, "storage trouble never fails the suite:\n%s", out)
	// The bound is issue 2's "a few seconds in total, never 30 s per
	// operation", with a wide margin: expected is one 500 ms connect timeout.
	// It is read from go test's own figure for the test binary, so the
	// time spent compiling the generated module is not counted.
	m := regexp.MustCompile(`ok\s+example.com/gen/a\s+([0-9.]+)s`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	binary, err := strconv.ParseFloat(m[1], 64)
	require.NoError(t, err)
	assert.Less(t, binary, 10.0, "seconds in the test binary with the server unreachable")
	assert.Equal(t, 1, strings.Count(out, "cannot reach MongoDB at mongodb://evalrec:xxxxx@127.0.0.1:1/"), out)
	assert.NotContains(t, out, "hunter2")

	spool := filepath.Join(dir, ".evalrec", "spool")
	files, err := store.PendingSpool(spool)
	require.NoError(t, err)
	require.Len(t, files, 1)

	s := storetest.New(t)
	rep, err := s.DB.Replay(context.Background(), spool, store.ReplayOptions{Force: true})
	require.NoError(t, err)
	assert.Empty(t, rep.Rejected)
	r := runs(t, s.DB)
	require.Len(t, r, 1)
	assert.Equal(t, model.StatusCompleted, r[0].Status)
	assert.Equal(t, 5, r[0].NumTests)

	out, code = goTest(t, dir, append(env, "EVALREC_STRICT=true"), "-count=1", "./...")
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "strict mode: storage failed")
}

func TestFailedTestsKeepTheirOutputInEveryMode(t *testing.T) {
	dir := module(t, map[string]string{
		"a/main_test.go": fmt.Sprintf(mainTest, "a"),
		"a/a_test.go": `package a

import (
	"fmt"
	"testing"

	"evalrec.dev/evalrec"
)

func TestParent(t *testing.T) {
	for _, name := range []string{"good", "bad"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			evalrec.Record(t, evalrec.Metrics{"x": 1})
			t.Logf("log of %s", name)
			if name == "bad" {
				t.Errorf("%s went wrong", name)
			}
		})
	}
}

func TestPrints(t *testing.T) {
	evalrec.Record(t, evalrec.Metrics{"x": 1})
	fmt.Println("printed to stdout")
	t.Fatal("fatal here")
}
`,
	})
	for _, mode := range [][]string{{}, {"-v"}, {"-json"}} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			s := storetest.New(t)
			out, code := goTest(t, dir, s.Env(), append([]string{"-count=1"}, append(mode, "./...")...)...)
			s.AwaitIngest(t)
			require.Equal(t, 1, code, out)
			assert.Contains(t, out, "printed to stdout", "the user's output still reaches the terminal")
			bad := testRuns(t, s.DB, func(tr model.TestRun) bool { return tr.GoTest == "TestParent/bad" })
			require.Len(t, bad, 1)
			assert.Contains(t, bad[0].Output, "bad went wrong")
			assert.Contains(t, bad[0].Output, "log of bad")
			assert.NotContains(t, bad[0].Output, "log of good")
			prints := testRuns(t, s.DB, func(tr model.TestRun) bool { return tr.GoTest == "TestPrints" })
			require.Len(t, prints, 1)
			assert.Contains(t, prints[0].Output, "fatal here")
			good := testRuns(t, s.DB, func(tr model.TestRun) bool { return tr.GoTest == "TestParent/good" })
			require.Len(t, good, 1)
			assert.Empty(t, good[0].Output)
		})
	}
}

func TestRecordWorksOutsideGoTest(t *testing.T) {
	// testing.Benchmark from a plain program: the testing flags are never
	// parsed, and testing.Verbose would panic.
	dir := module(t, map[string]string{"main.go": `package main

import (
	"fmt"
	"testing"

	"evalrec.dev/evalrec"
)

func main() {
	r := testing.Benchmark(func(b *testing.B) {
		for b.Loop() {
			evalrec.Record(b, evalrec.Metrics{"wer": 0.1})
		}
	})
	fmt.Println("iterations:", r.N > 0)
}
`})
	cmd := exec.Command("go", "run", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS="+testmod.GoFlags)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "iterations: true")
}

func TestRecordScoresOnceWhenTheTestEnds(t *testing.T) {
	var calls atomic.Int64
	scoring.Default.Register("counting", scoring.CalculatorFunc(func(rs []scoring.Result) (float64, bool) {
		calls.Add(1)
		return float64(len(rs)), true
	}))
	t.Run("many names", func(t *testing.T) {
		for i := range 2000 {
			evalrec.Record(t, evalrec.Metrics{fmt.Sprintf("m%04d", i): 0.5}, evalrec.ScoreMethod("counting"))
		}
		assert.Zero(t, calls.Load(), "no call scores: the score is computed when the test ends")
	})
	assert.Equal(t, int64(1), calls.Load(), "once, over all 2000 metrics")
}
