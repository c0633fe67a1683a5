package ingest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"evalrec.dev/result"
	"evalrec.dev/scoring"
)

// executions is an independent reader: it counts the terminal events of
// tests (pass, fail or skip with a Test), with encoding/json and nothing of
// this package, the way a person checking our counts would. Benchmarks are
// left out: their results come from result lines, one per sample.
func executions(t *testing.T, stream []byte) int {
	t.Helper()
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(stream))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var ev struct{ Action, Test string }
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		if ev.Test != "" && !strings.HasPrefix(ev.Test, "Benchmark") && (ev.Action == "pass" || ev.Action == "fail" || ev.Action == "skip") {
			n++
		}
	}
	require.NoError(t, sc.Err())
	return n
}

// fixtureStreams lists real go test -json streams from the module cache:
// gotestsum's fixtures (its reruns, missing events, panics, build failures)
// and the Go distribution's own test2json testdata.
func fixtureStreams(t *testing.T) []string {
	t.Helper()
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "gotest.tools/gotestsum").Output()
	require.NoError(t, err)
	root := strings.TrimSpace(string(dir))
	var files []string
	for _, pattern := range []string{
		filepath.Join(root, "cmd", "testdata", "*.out"),
		filepath.Join(root, "testjson", "testdata", "input", "*.out"),
		filepath.Join(runtime.GOROOT(), "src", "cmd", "internal", "test2json", "testdata", "*.json"),
	} {
		m, err := filepath.Glob(pattern)
		require.NoError(t, err)
		files = append(files, m...)
	}
	require.Greater(t, len(files), 20)
	return files
}

func TestEveryExecutionAnIndependentReaderCountsIsReported(t *testing.T) {
	for _, f := range fixtureStreams(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			c, _ := ingestAll(t, data)
			ended := 0
			ids := map[string]bool{}
			for _, tr := range c.tests {
				if tr.Status != result.Incomplete && !strings.HasPrefix(tr.Name, "Benchmark") {
					ended++
				}
				id := fmt.Sprintf("%s %s #%d", tr.Package, tr.Name, tr.Attempt)
				assert.False(t, ids[id], "two executions share %s", id)
				ids[id] = true
			}
			assert.Equal(t, executions(t, data), ended)
		})
	}
}

func TestGotestsumRerunsAreStoredAsFurtherAttempts(t *testing.T) {
	var rerun string
	for _, f := range fixtureStreams(t) {
		if filepath.Base(f) == "go-test-json-flaky-rerun.out" {
			rerun = f
		}
	}
	require.NotEmpty(t, rerun)
	data, err := os.ReadFile(rerun)
	require.NoError(t, err)
	c, in := ingestAll(t, data)
	assert.Len(t, c.tests, 12, "every execution of the first run and of gotestsum's three reruns")
	assert.Equal(t, 4, in.Stats.Packages, "four lifetimes of one package")
	assert.Equal(t, 3, in.Stats.Rerun)
	rarely := c.find("flaky", "TestFailsRarely")
	require.Len(t, rarely, 2)
	assert.Equal(t, []int{1, 2}, []int{rarely[0].Attempt, rarely[1].Attempt})
	assert.Equal(t, []result.Status{result.Failed, result.Passed}, []result.Status{rarely[0].Status, rarely[1].Status})
	require.Len(t, c.ended, 4)
	for i, p := range c.ended {
		assert.Equal(t, i+1, p.Occurrence)
	}
}

// stream writes a go test -json stream of one package with n passing
// tests, its events a millisecond apart from start.
func stream(pkg string, start time.Time, n int) []string {
	at := func(i int) string { return start.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano) }
	lines := []string{fmt.Sprintf(`{"Time":%q,"Action":"start","Package":%q}`, at(0), pkg)}
	for i := range n {
		name := fmt.Sprintf("Test%04d", i)
		lines = append(lines,
			fmt.Sprintf(`{"Time":%q,"Action":"run","Package":%q,"Test":%q}`, at(2*i+1), pkg, name),
			fmt.Sprintf(`{"Time":%q,"Action":"pass","Package":%q,"Test":%q,"Elapsed":0}`, at(2*i+2), pkg, name))
	}
	return append(lines, fmt.Sprintf(`{"Time":%q,"Action":"pass","Package":%q,"Elapsed":1}`, at(2*n+1), pkg))
}

func TestConcatenatedStreamsAreFurtherAttempts(t *testing.T) {
	a := stream("m/p", time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC), 2000)
	b := stream("m/p", time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC), 2000)
	c, in := ingestAll(t, []byte(strings.Join(append(a, b...), "\n")))
	assert.Len(t, c.tests, 4000, "no execution shadows another")
	assert.Equal(t, 1, in.Stats.Rerun)
	assert.Zero(t, in.Stats.Interleaved)
	got := c.find("m/p", "Test0007")
	require.Len(t, got, 2)
	assert.Equal(t, 2, got[1].Attempt)
}

func TestACutStreamFollowedByAnotherEndsTheFirstAsIncomplete(t *testing.T) {
	a := stream("m/p", time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC), 10)
	a = a[:len(a)-4] // cut after Test0008's run event
	b := stream("m/p", time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC), 10)
	c, _ := ingestAll(t, []byte(strings.Join(append(a, b...), "\n")))
	require.Len(t, c.ended, 2)
	assert.Equal(t, PackageIncomplete, c.ended[0].Status)
	assert.Equal(t, 1, c.ended[0].Incomplete)
	assert.Len(t, c.tests, 8+1+10)
}

func TestInterleavedStreamsAreDetectedAndNothingIsDropped(t *testing.T) {
	a := stream("m/p", time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC), 3000)
	b := stream("m/p", time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC), 3000)
	var mixed []string
	for i := range a {
		mixed = append(mixed, a[i], b[i])
	}
	data := []byte(strings.Join(mixed, "\n"))
	c, in := ingestAll(t, data)
	assert.Equal(t, executions(t, data), len(c.tests), "every execution is reported")
	assert.Positive(t, in.Stats.Interleaved)
	assert.True(t, c.ended[0].Interleaved)
}

func TestAnAttributeAfterItsTestEndedIsIgnored(t *testing.T) {
	s := strings.Join([]string{
		ev("run", "p", "TestA", ""),
		ev("pass", "p", "TestA", ""),
		ev("run", "p", "TestB", ""),
		`{"Time":"2026-01-01T00:00:00Z","Action":"attr","Package":"p","Test":"TestA","Key":"evalrec.score","Value":"5"}`,
		ev("pass", "p", "TestB", ""),
		ev("pass", "p", "", ""),
	}, "\n")
	c, in := ingestAll(t, []byte(s))
	require.Len(t, c.tests, 2)
	assert.Equal(t, 1, in.Stats.LateAttrs)
	for _, tr := range c.tests {
		assert.Equal(t, result.Passed, tr.Status, tr.Name)
	}
	assert.Equal(t, PackagePassed, c.pkgs["p"].Status)
	assert.False(t, c.pkgs["p"].Broken())
}

func TestAttributesSplitIntoPiecesAreJoined(t *testing.T) {
	tags := make([]string, 1000)
	for i := range tags {
		tags[i] = fmt.Sprintf("tag-%03d", i)
	}
	// What Record emits for a call with many tags.
	long := result.Recorded{Tags: tags, Metrics: []result.Metric{{Key: "wer", Result: scoring.Result{Name: "wer", Value: 0.25, Score: 75}}}}.Attr()
	require.Greater(t, len(long.Value), result.AttrLineLimit)
	pieces := result.SplitAttr("TestA", long)
	require.Greater(t, len(pieces), 1)
	lines := []string{ev("run", "p", "TestA", "")}
	for _, a := range pieces {
		assert.Less(t, len("\x16=== ATTR  TestA "+a.Key+" "+a.Value+"\n"), result.AttrLineLimit)
		b, _ := json.Marshal(map[string]string{"Action": "attr", "Package": "p", "Test": "TestA", "Key": a.Key, "Value": a.Value})
		lines = append(lines, string(b))
	}
	lines = append(lines, ev("pass", "p", "TestA", ""), ev("pass", "p", "", ""))
	c, in := ingestAll(t, []byte(strings.Join(lines, "\n")))
	require.Len(t, c.tests, 1)
	assert.Equal(t, tags, c.tests[0].Tags)
	require.Len(t, c.tests[0].Metrics, 1)
	assert.Equal(t, 0.25, c.tests[0].Metrics[0].Value)
	assert.Zero(t, in.Stats.AttrErrors)
}

// clock is a settable wall clock for Release.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func TestFinishedTestsAreHeldAtMostMaxHold(t *testing.T) {
	c := &collect{}
	in := New(c)
	clk := &clock{now: time.Unix(0, 0)}
	in.Now = clk.Now
	feed := func(lines ...string) {
		r := NewReader(strings.NewReader(strings.Join(lines, "\n")))
		for r.Scan() {
			in.Event(r.Event())
		}
	}
	feed(ev("start", "p", "", ""), ev("run", "p", "TestA", ""), ev("pass", "p", "TestA", ""), ev("run", "p", "TestSlow", ""))
	in.Release()
	assert.Empty(t, c.tests, "held: the package may still turn out cached")
	clk.now = clk.now.Add(MaxHold)
	in.Release()
	require.Len(t, c.tests, 1, "handed on once held for MaxHold")
	feed(ev("pass", "p", "TestSlow", ""))
	assert.Len(t, c.tests, 2, "and the package's later tests as they end")
	feed(ev("pass", "p", "", ""))
	assert.Equal(t, 2, c.pkgs["p"].UncachedOut)
}
