package ingest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"evalrec.dev/result"
)

// collect is a Sink that keeps everything.
type collect struct {
	begun []string
	tests []*result.Test
	pkgs  map[string]*Package // the last lifetime of each
	ended []*Package          // every lifetime, in order
}

func (c *collect) BeginPackage(p *Package) { c.begun = append(c.begun, p.Name) }
func (c *collect) Test(t *result.Test)     { cp := *t; c.tests = append(c.tests, &cp) }
func (c *collect) EndPackage(p *Package) {
	if c.pkgs == nil {
		c.pkgs = map[string]*Package{}
	}
	cp := *p
	c.pkgs[p.Name] = &cp
	c.ended = append(c.ended, &cp)
}

func (c *collect) find(pkg, name string) []*result.Test {
	var out []*result.Test
	for _, t := range c.tests {
		if strings.HasSuffix(t.Package, pkg) && t.Name == name {
			out = append(out, t)
		}
	}
	return out
}

// ingestAll runs a stream through an Ingester.
func ingestAll(t *testing.T, stream []byte) (*collect, *Ingester) {
	t.Helper()
	c := &collect{}
	in := New(c)
	r := NewReader(bytes.NewReader(stream))
	for r.Scan() {
		if ev := r.Event(); ev != nil {
			in.Event(ev)
		} else {
			in.BadLine(r.LineError())
		}
	}
	require.NoError(t, r.Err())
	in.Close()
	return c, in
}

var fixtures = map[string]string{
	"go.mod": "module fix\n\ngo 1.25\n",
	"basic/basic_test.go": `package basic

import (
	"fmt"
	"strings"
	"testing"
)

func TestPass(t *testing.T) { t.Log("fine") }
func TestSkip(t *testing.T) { t.Skip("not here") }
func TestFail(t *testing.T) {
	t.Log("before failing")
	t.Error("boom")
}
func TestSub(t *testing.T) {
	for i := range 3 {
		t.Run(fmt.Sprint("case ", i), func(t *testing.T) {
			t.Parallel()
			if i == 2 {
				t.Error("third case fails")
			}
		})
	}
}
func TestAttrs(t *testing.T) {
	t.Attr("evalrec.metric.wer", ` + "`" + `{"value":0.25,"direction":"lower","score":75}` + "`" + `)
	t.Attr("evalrec.score", "75")
	t.Attr("evalrec.score_method", "average")
	t.Attr("evalrec.test_id", "scenario-1")
	t.Attr("build", "nightly 42")
}
func TestHugeOutput(t *testing.T) {
	t.Log(strings.Repeat("x", 1<<20))
	t.Error("failed after a 1 MB line")
}
`,
	"bench/bench_test.go": `package bench

import (
	"strings"
	"testing"
)

// Benchmarks only run when every test of the package passed.
func TestOK(t *testing.T) {}

func BenchmarkWork(b *testing.B) {
	for range b.N {
		_ = strings.Repeat("a", 10)
	}
	b.ReportMetric(42, "widgets/op")
}
`,
	"panics/panics_test.go": `package panics

import "testing"

func TestBefore(t *testing.T) {}
func TestPanics(t *testing.T) { panic("kaboom") }
`,
	"exits/exits_test.go": `package exits

import (
	"os"
	"testing"
)

func TestExits(t *testing.T) { os.Exit(3) }
`,
	"broken/broken_test.go": `package broken

import "testing"

func TestBroken(t *testing.T) { undefined() }
`,
	"slow/slow_test.go": `package slow

import (
	"testing"
	"time"
)

func TestForever(t *testing.T) { time.Sleep(time.Hour) }
`,
}

var (
	fixtureOnce sync.Once
	fixtureDir  string
)

func fixtureModule(t *testing.T) string {
	fixtureOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ingest-fixtures")
		require.NoError(t, err)
		for name, content := range fixtures {
			p := filepath.Join(dir, name)
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		}
		fixtureDir = dir
	})
	return fixtureDir
}

// goTestJSON runs go test -json in the fixture module and returns stdout.
func goTestJSON(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("go", append([]string{"test", "-json"}, args...)...)
	cmd.Dir = fixtureModule(t)
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	var out bytes.Buffer
	cmd.Stdout = &out
	_ = cmd.Run() // failing tests are the point
	return out.Bytes()
}

func TestRealStream(t *testing.T) {
	stream := goTestJSON(t, "-count=2", "-bench=Work", "-benchtime=3x", "-benchmem", "./basic", "./bench", "./panics", "./exits")
	// A build failure in the same invocation makes go test fail every package
	// linked with it when benchmarks run, so it gets its own invocation.
	stream = append(stream, goTestJSON(t, "./broken")...)
	c, in := ingestAll(t, stream)
	assert.Zero(t, in.Stats.BadLines)

	t.Run("statuses and attempts", func(t *testing.T) {
		for name, want := range map[string]result.Status{
			"TestPass": result.Passed, "TestSkip": result.Skipped, "TestFail": result.Failed,
			"TestSub/case_0": result.Passed, "TestSub/case_2": result.Failed, "TestSub": result.Failed,
		} {
			got := c.find("basic", name)
			require.Len(t, got, 2, "%s: -count=2 gives two attempts", name)
			for i, tr := range got {
				assert.Equal(t, want, tr.Status, name)
				assert.Equal(t, i+1, tr.Attempt, name)
			}
		}
		assert.Contains(t, c.find("basic", "TestFail")[0].Output, "boom")
		assert.Empty(t, c.find("basic", "TestPass")[0].Output, "passing tests keep no output")
		assert.Greater(t, c.find("basic", "TestPass")[0].Duration, time.Duration(-1))
	})

	t.Run("attributes", func(t *testing.T) {
		a := c.find("basic", "TestAttrs")[0]
		assert.Equal(t, "scenario-1", a.TestID)
		assert.Equal(t, 75.0, *a.Score)
		require.Len(t, a.Metrics, 1)
		assert.Equal(t, 0.25, a.Metrics[0].Value)
		assert.Equal(t, "nightly 42", a.Attrs["build"], "values may contain spaces")
	})

	t.Run("a 1 MB line is read and its tail kept", func(t *testing.T) {
		h := c.find("basic", "TestHugeOutput")[0]
		assert.Equal(t, result.Failed, h.Status)
		assert.LessOrEqual(t, len(h.Output), TailSize+8)
		assert.Contains(t, h.Output, "failed after a 1 MB line")
	})

	t.Run("benchmarks", func(t *testing.T) {
		bs := c.find("bench", "BenchmarkWork")
		require.Len(t, bs, 2, "-count=2 gives two samples")
		keys := map[string]float64{}
		for _, m := range bs[0].Metrics {
			keys[m.Key] = m.Value
		}
		assert.Contains(t, keys, "sec/op")
		assert.Contains(t, keys, "B/op")
		assert.Contains(t, keys, "allocs/op")
		assert.Equal(t, 42.0, keys["widgets/op"])
		assert.Equal(t, result.Passed, bs[0].Status)
		assert.Equal(t, 2, bs[1].Attempt)
	})

	t.Run("panic", func(t *testing.T) {
		p := c.pkgs["fix/panics"]
		require.NotNil(t, p)
		assert.Equal(t, PackageFailed, p.Status)
		assert.Equal(t, "TestPanics: panic: kaboom [recovered, repanicked]", p.Panic)
		assert.True(t, p.Broken(), "a panic breaks the run, not just the test")
		got := c.find("panics", "TestPanics")
		require.NotEmpty(t, got)
		assert.Equal(t, result.Failed, got[0].Status, "since Go 1.14 a panicking test gets its own fail event")
		assert.Contains(t, got[0].Output, "kaboom")
		assert.Equal(t, result.Passed, c.find("panics", "TestBefore")[0].Status)
	})

	t.Run("os.Exit", func(t *testing.T) {
		got := c.find("exits", "TestExits")
		require.NotEmpty(t, got)
		assert.Equal(t, result.Incomplete, got[0].Status)
		assert.True(t, c.pkgs["fix/exits"].Broken())
	})

	t.Run("build failure", func(t *testing.T) {
		p := c.pkgs["fix/broken"]
		require.NotNil(t, p)
		assert.Equal(t, PackageBuildFailed, p.Status)
		assert.Contains(t, p.Output, "undefined")
		assert.Empty(t, c.find("broken", "TestBroken"))
	})
}

func TestTimeoutStream(t *testing.T) {
	c, _ := ingestAll(t, goTestJSON(t, "-timeout=1s", "./slow"))
	got := c.find("slow", "TestForever")
	require.Len(t, got, 1)
	assert.Equal(t, result.Incomplete, got[0].Status)
	assert.Contains(t, got[0].Output, "test timed out")
	assert.True(t, c.pkgs["fix/slow"].Broken())
}

func TestCachedPackagesAreFlagged(t *testing.T) {
	goTestJSON(t, "-run=TestPass", "./basic")
	c, _ := ingestAll(t, goTestJSON(t, "-run=TestPass", "./basic"))
	assert.True(t, c.pkgs["fix/basic"].Cached)
	assert.True(t, c.find("basic", "TestPass")[0].Cached)
}

func ev(action, pkg, test, output string) string {
	return fmt.Sprintf(`{"Time":"2026-01-01T00:00:00Z","Action":%q,"Package":%q,"Test":%q,"Output":%q}`, action, pkg, test, output)
}

func TestTruncatedStreamMakesIncompleteTests(t *testing.T) {
	stream := strings.Join([]string{
		ev("start", "p", "", ""),
		ev("run", "p", "TestA", ""),
		ev("pass", "p", "TestA", ""),
		ev("run", "p", "TestB", ""),
		ev("output", "p", "TestB", "working...\n"),
		`{"Time":"2026-01-01T00:00:00Z","Action":"out`, // cut mid-line
	}, "\n")
	c, in := ingestAll(t, []byte(stream))
	assert.Equal(t, 1, in.Stats.BadLines)
	require.Len(t, c.tests, 2)
	b := c.find("p", "TestB")[0]
	assert.Equal(t, result.Incomplete, b.Status)
	assert.Contains(t, b.Output, "working...")
	assert.Equal(t, PackageIncomplete, c.pkgs["p"].Status)
}

func TestNonJSONAndUnknownActionsAreNotFatal(t *testing.T) {
	stream := strings.Join([]string{
		"go: downloading example.com/x v1.0.0",
		ev("run", "p", "TestA", ""),
		`{"Action":"retry","Package":"p","Test":"TestA"}`,
		`{"Action":"artifacts","Package":"p","Test":"TestA","Path":"/tmp/x"}`,
		"FAIL\tp [setup failed]",
		`{"Time":"2026-01-01T00:00:01Z","Action":"pass","Package":"p","Test":"TestA","Elapsed":1.5}`,
		`{"not":"an event"}`,
		ev("pass", "p", "", ""),
	}, "\n")
	c, in := ingestAll(t, []byte(stream))
	assert.Equal(t, 3, in.Stats.BadLines)
	require.Len(t, c.tests, 1)
	assert.Equal(t, result.Passed, c.tests[0].Status)
	assert.Equal(t, 1500*time.Millisecond, c.tests[0].Duration)
	assert.Contains(t, in.Stats.FirstBad[0].Error(), "go: downloading")
}

func TestLinesLongerThan64KiB(t *testing.T) {
	big := strings.Repeat("y", 5<<20)
	stream := strings.Join([]string{
		ev("run", "p", "TestBig", ""),
		ev("output", "p", "TestBig", big+"\n"),
		ev("fail", "p", "TestBig", ""),
		ev("fail", "p", "", ""),
	}, "\n")
	c, in := ingestAll(t, []byte(stream))
	assert.Zero(t, in.Stats.BadLines)
	require.Len(t, c.tests, 1)
	assert.Equal(t, result.Failed, c.tests[0].Status)
	assert.Len(t, c.tests[0].Output, TailSize+len("…\n"))
}

func TestInterleavedParallelTestsAreAttributedByName(t *testing.T) {
	stream := strings.Join([]string{
		ev("run", "p", "TestX/a", ""),
		ev("run", "q", "TestX/a", ""),
		ev("output", "q", "TestX/a", "from q\n"),
		ev("output", "p", "TestX/a", "from p\n"),
		ev("fail", "q", "TestX/a", ""),
		ev("pass", "p", "TestX/a", ""),
		ev("pass", "p", "", ""),
		ev("fail", "q", "", ""),
	}, "\n")
	c, _ := ingestAll(t, []byte(stream))
	q := c.find("q", "TestX/a")[0]
	assert.Equal(t, result.Failed, q.Status)
	assert.Equal(t, "from q\n", q.Output)
	assert.Equal(t, result.Passed, c.find("p", "TestX/a")[0].Status)
}

func TestSplitOutputIsRejoined(t *testing.T) {
	stream := strings.Join([]string{
		ev("run", "p", "TestS", ""),
		ev("output", "p", "TestS", "part one, "),
		ev("output", "p", "TestS", "part two\n"),
		ev("fail", "p", "TestS", ""),
	}, "\n")
	c, _ := ingestAll(t, []byte(stream))
	assert.Equal(t, "part one, part two\n", c.tests[0].Output)
}

func TestTail(t *testing.T) {
	var tl tail
	tl.WriteString("abc")
	assert.Equal(t, "abc", tl.String())
	for range TailSize {
		tl.WriteString("z")
	}
	tl.WriteString("END")
	s := tl.String()
	assert.True(t, strings.HasPrefix(s, "…\n"))
	assert.True(t, strings.HasSuffix(s, "zzEND"))
	assert.Len(t, s, TailSize+len("…\n"))
}

// A test go test timed at 0.00 s took under 5 ms, whatever the time
// between its events (a parallel test waits between run and pass): its
// duration is go test's, never that gap.
func TestADurationIsGoTestsElapsedNeverTheGapBetweenEvents(t *testing.T) {
	stream := strings.Join([]string{
		`{"Time":"2026-01-01T00:00:00Z","Action":"run","Package":"p","Test":"TestWaits"}`,
		`{"Time":"2026-01-01T00:00:05Z","Action":"pass","Package":"p","Test":"TestWaits","Elapsed":0}`,
		`{"Time":"2026-01-01T00:00:05Z","Action":"run","Package":"p","Test":"TestSlow"}`,
		`{"Time":"2026-01-01T00:00:07Z","Action":"pass","Package":"p","Test":"TestSlow","Elapsed":2.5}`,
		`{"Time":"2026-01-01T00:00:07Z","Action":"pass","Package":"p","Elapsed":7}`,
	}, "\n")
	c, _ := ingestAll(t, []byte(stream))
	waits := c.find("p", "TestWaits")[0]
	waits.Complete()
	assert.Zero(t, waits.Duration, "0.00 s in go test's report")
	slow := c.find("p", "TestSlow")[0]
	slow.Complete()
	assert.Equal(t, 2500*time.Millisecond, slow.Duration)
}
