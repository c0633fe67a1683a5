package faults

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"evalrec.dev/ingest"
	"evalrec.dev/internal/storetest"
	"evalrec.dev/internal/testmod"
	"evalrec.dev/model"
	"evalrec.dev/result"
)

// executions counts the terminal events of tests in a stream, with
// encoding/json alone: the independent reader the stored counts must match.
func executions(t *testing.T, stream []byte) int {
	t.Helper()
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(stream))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var ev struct{ Action, Test string }
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Test != "" && (ev.Action == "pass" || ev.Action == "fail" || ev.Action == "skip") {
			n++
		}
	}
	return n
}

// convert runs gojson2mongo with args in dir, storing into s.
func convert(t *testing.T, s *storetest.Store, dir string, stdin []byte, args ...string) testmod.Output {
	t.Helper()
	cmd := exec.Command(filepath.Join(testmod.Bin(t), "gojson2mongo"), args...)
	cmd.Dir = dir
	cmd.Env = testmod.Env(storeEnv(s)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return testmod.Output{Stdout: out.String(), Stderr: errOut.String(), Code: code}
}

func storeEnv(s *storetest.Store) []string {
	return []string{"MONGODB_CONNECTION_STRING=" + s.URI, "MONGODB_DATABASE=" + s.Database}
}

func gotestsumFixture(t *testing.T, name string) []byte {
	t.Helper()
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "gotest.tools/gotestsum").Output()
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(dir)), "cmd", "testdata", name))
	require.NoError(t, err)
	return b
}

func TestEveryExecutionOfARerunStreamIsStored(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"go-test-json-flaky-rerun.out", "go-test-missing-run-events.out"} {
		t.Run(name, func(t *testing.T) {
			s := storetest.New(t)
			stream := gotestsumFixture(t, name)
			out := convert(t, s, t.TempDir(), stream)
			assert.Contains(t, out.Stderr, "the stream runs packages more than once")
			rs := runs(t, s.DB)
			require.Len(t, rs, 1)
			trs := assertTotalsAreStored(t, s.DB, rs[0])
			assert.Equal(t, executions(t, stream), len(trs), "every execution gotestsum's stream holds")
			t.Logf("%s: %d of %d executions stored", name, len(trs), executions(t, stream))
		})
	}
}

// genStream is a go test -json stream of one package of n passing tests,
// starting at start.
func genStream(pkg string, start time.Time, n int) [][]byte {
	at := func(i int) string { return start.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano) }
	lines := [][]byte{[]byte(fmt.Sprintf(`{"Time":%q,"Action":"start","Package":%q}`, at(0), pkg))}
	for i := range n {
		name := fmt.Sprintf("Test%04d", i)
		lines = append(lines,
			[]byte(fmt.Sprintf(`{"Time":%q,"Action":"run","Package":%q,"Test":%q}`, at(2*i+1), pkg, name)),
			[]byte(fmt.Sprintf(`{"Time":%q,"Action":"pass","Package":%q,"Test":%q,"Elapsed":0.001}`, at(2*i+2), pkg, name)))
	}
	return append(lines, []byte(fmt.Sprintf(`{"Time":%q,"Action":"pass","Package":%q,"Elapsed":%g}`, at(2*n+1), pkg, float64(2*n+1)/1000)))
}

func joinLines(ls [][]byte) []byte { return append(bytes.Join(ls, []byte("\n")), '\n') }

func TestConcatenatedStreamsKeepEveryExecution(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	a := genStream("example.com/gen/p", time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC), 2000)
	b := genStream("example.com/gen/p", time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC), 2000)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.json"), joinLines(a), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.json"), joinLines(b), 0o644))
	both := append(joinLines(a), joinLines(b)...)
	out := convert(t, s, dir, both)
	require.Zero(t, out.Code, out.Combined())
	assert.Contains(t, out.Stderr, "further attempt")
	rs := runs(t, s.DB)
	require.Len(t, rs, 1)
	trs := assertTotalsAreStored(t, s.DB, rs[0])
	assert.Equal(t, 4000, len(trs), "cat a.json b.json | gojson2mongo")
	assert.Equal(t, model.StatusCompleted, rs[0].Status)

	// Ingesting the same bytes again stores nothing new.
	out = convert(t, s, dir, both)
	require.Zero(t, out.Code, out.Combined())
	assert.Len(t, runs(t, s.DB), 1)
	assert.Len(t, testRuns(t, s.DB, rs[0].ID), 4000)
}

func TestInterleavedStreamsAreReportedAndKept(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	a := genStream("example.com/gen/p", time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC), 3000)
	b := genStream("example.com/gen/p", time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC), 3000)
	var mixed [][]byte
	for i := range a {
		mixed = append(mixed, a[i], b[i])
	}
	stream := joinLines(mixed)
	out := convert(t, s, t.TempDir(), stream)
	assert.Equal(t, 1, out.Code, "an interleaved stream breaks the run: %s", out.Combined())
	assert.Contains(t, out.Stderr, "mix two go test runs line by line")
	rs := runs(t, s.DB)
	require.Len(t, rs, 1)
	assert.Equal(t, model.StatusFailed, rs[0].Status)
	assert.Contains(t, rs[0].Error, "mixes two go test runs")
	trs := assertTotalsAreStored(t, s.DB, rs[0])
	assert.Equal(t, executions(t, stream), len(trs))
}

func TestReingestingWithOtherSettingsSaysWhatItDid(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	stream := joinLines(genStream("example.com/gen/p", time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC), 10))
	out := convert(t, s, t.TempDir(), stream, "-tags", "first", "-env", "lab")
	require.Zero(t, out.Code, out.Combined())
	out = convert(t, s, t.TempDir(), stream, "-tags", "second", "-env", "prod")
	require.Zero(t, out.Code, out.Combined())
	assert.Contains(t, out.Stderr, `was stored before from the same invocation with environment "lab" and tags [first]; it keeps those`)
	rs := runs(t, s.DB)
	require.Len(t, rs, 1)
	assert.Equal(t, "lab", rs[0].Environment)
	assert.Len(t, testRuns(t, s.DB, rs[0].ID), 10)
}

func TestStreamTimesAreTheRunsTimes(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	start := time.Date(2026, 10, 1, 9, 0, 0, 123e6, time.UTC)
	stream := joinLines(genStream("example.com/gen/p", start, 49)) // 99 ms of events
	out := convert(t, s, t.TempDir(), stream)
	require.Zero(t, out.Code, out.Combined())
	r := runs(t, s.DB)[0]
	assert.Equal(t, start, r.StartedAt.UTC(), "started_at keeps milliseconds")
	require.NotNil(t, r.FinishedAt)
	assert.Equal(t, 99*time.Millisecond, r.FinishedAt.Sub(r.StartedAt), "finished_at is the stream's, not the time of ingestion")
}

// recordingSuite is run in all three modes: a Record from a goroutine after
// its test ended, tags over 4 KB, and a test ID with a newline.
var recordingSuite = map[string]string{
	"r/main_test.go": `package r

import (
	"os"
	"testing"

	"evalrec.dev/evalrec"
)

func TestMain(m *testing.M) { os.Exit(evalrec.Main(m)) }
`,
	"r/r_test.go": `package r

import (
	"fmt"
	"testing"
	"time"

	"evalrec.dev/evalrec"
)

var late = make(chan bool)

func TestLeaky(t *testing.T) {
	evalrec.Record(t, evalrec.Metrics{"acc": 0.7})
	go func() {
		time.Sleep(30 * time.Millisecond)
		defer func() { recover(); late <- true }()
		evalrec.Record(t, evalrec.Metrics{"late": 1})
	}()
}

func TestWaits(t *testing.T) {
	<-late
	evalrec.Record(t, evalrec.Metrics{"acc": 0.9})
}

// TestTwice's second call changes its score: the stream carries the
// first call's score, then the final one.
func TestTwice(t *testing.T) {
	evalrec.Record(t, evalrec.Metrics{"acc": 0.9})
	evalrec.Record(t, evalrec.Metrics{"wer": 0.5})
}

func TestManyTags(t *testing.T) {
	var tags []string
	for i := range 600 {
		tags = append(tags, fmt.Sprintf("tag-%04d", i))
	}
	evalrec.Record(t, evalrec.Metrics{"acc": 0.5}, evalrec.Tags(tags...), evalrec.TestID("multi\nline id"))
}
`,
}

func TestLateRecordsLongTagsAndOddIDsAreTheSameInEveryMode(t *testing.T) {
	t.Parallel()
	dir := testmod.Write(t, recordingSuite)
	bin := testmod.Bin(t)

	// TestMain mode.
	sm := storetest.New(t)
	out := testmod.Run(t, dir, append(storeEnv(sm), "MONGODB_ENABLED=true"), "go", "test", "-count=1", "./...")
	require.Zero(t, out.Code, out.Combined())
	storetest.AwaitIngest(t, spoolOf(dir))
	// The converter, on the same suite's stream.
	sc := storetest.New(t)
	stream := testmod.Run(t, dir, nil, "go", "test", "-json", "-count=1", "./...")
	require.Zero(t, stream.Code, stream.Combined())
	// One attribute for a test that called Record once, with its score;
	// one a call and the final score for one that called twice.
	records := map[string]int{}
	for line := range strings.Lines(stream.Stdout) {
		var ev ingest.Event
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Action == "attr" && ev.Key == result.AttrRecord {
			records[ev.Test]++
		}
	}
	assert.Equal(t, 1, records["TestWaits"], stream.Stdout)
	assert.Equal(t, 3, records["TestTwice"], stream.Stdout)
	out = convert(t, sc, dir, []byte(stream.Stdout))
	assert.Zero(t, out.Code, "a late Record is ignored, not a failure: %s", out.Combined())
	assert.Contains(t, out.Stderr, "1 attributes arrived after their test had ended")
	// The wrapper.
	sw := storetest.New(t)
	out = testmod.Run(t, dir, storeEnv(sw), filepath.Join(bin, "evalrec"), "test", "-count=1", "./...")
	assert.Zero(t, out.Code, out.Combined())
	assert.Contains(t, out.Stdout, "ok   example.com/gen/r")
	assert.NotContains(t, out.Stdout, "FAIL")

	byMode := map[string]map[string]model.TestRun{}
	for mode, s := range map[string]*storetest.Store{"testmain": sm, "converter": sc, "wrapper": sw} {
		rs := runs(t, s.DB)
		require.Len(t, rs, 1, mode)
		assert.Equal(t, model.StatusCompleted, rs[0].Status, mode)
		byMode[mode] = map[string]model.TestRun{}
		for _, tr := range assertTotalsAreStored(t, s.DB, rs[0]) {
			byMode[mode][tr.GoTest] = tr
		}
	}
	for mode, trs := range byMode {
		many := trs["TestManyTags"]
		assert.Len(t, many.Tags, 600, "%s keeps tags past test2json's 4 KB line", mode)
		assert.Equal(t, "multi line id", many.TestID, mode)
		leaky := trs["TestLeaky"]
		assert.Equal(t, "passed", leaky.Status, mode)
		assert.NotContains(t, leaky.Metrics, "late", mode)
		assert.Equal(t, byMode["testmain"]["TestManyTags"].Score, many.Score, mode)
		twice := trs["TestTwice"]
		assert.Len(t, twice.Metrics, 2, mode)
		require.NotNil(t, twice.Score, mode)
		assert.InDelta(t, 70, *twice.Score, 1e-9, "%s: the mean of both metrics' scores, not the first call's 90", mode)
	}
}
