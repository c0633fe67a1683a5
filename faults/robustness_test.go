package faults

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"evalrec.dev/internal/storetest"
	"evalrec.dev/internal/testmod"
)

// wideSuite records 10,000 metrics on one test and a metric whose name is
// 1 MB on another.
const wideSuite = `package w

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"evalrec.dev/evalrec"
)

func TestMain(m *testing.M) { os.Exit(evalrec.Main(m)) }

func TestWide(t *testing.T) {
	m := evalrec.Metrics{}
	for i := range 10000 {
		m[fmt.Sprintf("metric_%05d", i)] = float64(i%7) / 7
	}
	evalrec.Record(t, m)
}

func TestLongName(t *testing.T) {
	evalrec.Record(t, evalrec.Metrics{strings.Repeat("n", 1<<20): 0.5, "short": 0.5})
}
`

// TestHugeNamesAndWideTestsStayBounded: a metric name over 256 bytes is
// refused with one line, in the wrapper and in TestMain mode, and every
// command on a store with 10,000 metrics on one test answers within
// 200 MB, with tables of bounded width.
func TestHugeNamesAndWideTestsStayBounded(t *testing.T) {
	t.Parallel()
	dir := testmod.Write(t, map[string]string{"w/w_test.go": wideSuite})
	evalrec := filepath.Join(testmod.Bin(t), "evalrec")
	s := storetest.New(t)
	for range 2 {
		out := testmod.Run(t, dir, storeEnv(s), evalrec, "test", "-count=1", "./...")
		require.Zero(t, out.Code, "%.2000s", out.Combined())
		assert.Contains(t, out.Stderr, "is 1048576 bytes, over the 256-byte limit: not stored")
		assert.Less(t, len(out.Combined()), 20000, "the wrapper's output stays short")
	}
	sm := storetest.New(t)
	out := testmod.Run(t, dir, append(storeEnv(sm), "MONGODB_ENABLED=true"), "go", "test", "-count=1", "./...")
	require.Zero(t, out.Code, "%.2000s", out.Combined())
	assert.Equal(t, 1, strings.Count(out.Combined(), "over the 256-byte limit"), "TestMain mode, without -v: %.2000s", out.Combined())
	storetest.AwaitIngest(t, spoolOf(dir))

	for _, st := range []*storetest.Store{s, sm} {
		docs := storetest.Documents(t, st.DB)
		assert.NotContains(t, docs, strings.Repeat("n", 257), "no name over the limit is stored")
		assert.Contains(t, docs, "metric_09999")
	}
	for _, args := range [][]string{
		{"metrics"}, {"show", "latest"}, {"tests"}, {"runs"}, {"compare", "latest~1", "latest"}, {"changes"}, {"flaky"}, {"trend", "-metric", "metric_00001"},
		{"history", "example.com/gen/w.TestWide"}, {"report"}, {"export", "-format", "prometheus"},
	} {
		out := testmod.RunMeasured(t, dir, storeEnv(s), evalrec, args...)
		assert.Zero(t, out.Code, "%v: %.500s", args, out.Combined())
		if out.MaxRSS == 0 {
			t.Logf("%v: no /usr/bin/time (apt-get install time): peak RSS not measured", args)
		}
		assert.Less(t, out.MaxRSS, int64(200<<20), "%v: peak RSS %d MB", args, out.MaxRSS>>20)
		for _, line := range strings.Split(out.Stdout, "\n") {
			if !strings.Contains(line, "<") { // the report is HTML, one long line
				assert.Less(t, len(line), 2000, "%v: a %d-byte line", args, len(line))
			}
		}
		t.Logf("evalrec %s: peak RSS %d MB, %d bytes out", strings.Join(args, " "), out.MaxRSS>>20, len(out.Stdout))
	}
}
