package faults

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"evalrec.dev/internal/testmod"
)

// concurrentSuite is three packages of 60 tests, each recording a metric
// after a few milliseconds, so that every writer is busy at once.
func concurrentSuite() map[string]string {
	files := map[string]string{}
	for _, p := range []string{"p1", "p2", "p3"} {
		var b strings.Builder
		fmt.Fprintf(&b, "package %s\n\nimport (\n\t\"os\"\n\t\"testing\"\n\t\"time\"\n\n\t\"evalrec.dev/evalrec\"\n)\n\n", p)
		b.WriteString("func TestMain(m *testing.M) { os.Exit(evalrec.Main(m)) }\n")
		for i := range 60 {
			fmt.Fprintf(&b, "\nfunc Test%03d(t *testing.T) {\n\ttime.Sleep(3 * time.Millisecond)\n\tevalrec.Record(t, evalrec.Metrics{\"x\": 0.5})\n}\n", i)
		}
		files[p+"/"+p+"_test.go"] = b.String()
	}
	return files
}

// TestEveryWriterAndReaderWorksAtOnce runs, in one module and at the same
// time, two evalrec test, a converter, a TestMain-mode go test and a loop of
// evalrec runs, on the embedded store: every command succeeds and every
// run keeps all 180 tests.
func TestEveryWriterAndReaderWorksAtOnce(t *testing.T) {
	t.Parallel()
	bin := testmod.Bin(t)
	dir := testmod.Write(t, concurrentSuite())
	// Build once, so that the writers overlap in running, not compiling.
	out := testmod.Run(t, dir, nil, "go", "test", "-count=1", "-run", "^$", "./...")
	require.Zero(t, out.Code, out.Combined())

	evalrec, gojson2mongo := filepath.Join(bin, "evalrec"), filepath.Join(bin, "gojson2mongo")
	writers := []struct {
		name string
		env  []string
		cmd  []string
	}{
		{"wrapper 1", nil, []string{evalrec, "test", "-q", "-count=1", "./..."}},
		{"wrapper 2", nil, []string{evalrec, "test", "-q", "-count=1", "./..."}},
		{"converter", nil, []string{gojson2mongo, "--", "go", "test", "-json", "-count=1", "./..."}},
		{"TestMain", []string{"MONGODB_ENABLED=true"}, []string{"go", "test", "-count=1", "./..."}},
	}
	var wg sync.WaitGroup
	var done atomic.Bool
	results := make([]testmod.Output, len(writers))
	for i, w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = testmod.Run(t, dir, w.env, w.cmd[0], w.cmd[1:]...)
		}()
	}
	var queries, queryFailures []string
	var qwg sync.WaitGroup
	qwg.Add(1)
	go func() {
		defer qwg.Done()
		for !done.Load() {
			q := testmod.Run(t, dir, nil, evalrec, "runs", "-limit", "5")
			queries = append(queries, q.Stdout)
			// Before the first writer created the store there is nothing to
			// read, and the query says so; anything else is a failure.
			if q.Code != 0 && !strings.Contains(q.Stderr, "nothing stored yet") {
				queryFailures = append(queryFailures, q.Combined())
			}
			// A reader every 50 ms still meets every phase of the writers;
			// back to back, the readers took more CPU than the writers.
			time.Sleep(50 * time.Millisecond)
		}
	}()
	wg.Wait()
	done.Store(true)
	qwg.Wait()

	for i, w := range writers {
		assert.Zero(t, results[i].Code, "%s: %s", w.name, results[i].Combined())
	}
	assert.Empty(t, queryFailures, "evalrec runs failed while the writers ran")
	assert.NotEmpty(t, queries)

	// The TestMain run is stored by its ingester once go test has ended;
	// the next command stores it if the ingester has not yet.
	out = testmod.Run(t, dir, nil, evalrec, "runs")
	require.Zero(t, out.Code, out.Combined())
	rs := runs(t, embeddedStore(t, dir))
	require.Len(t, rs, len(writers), "one run per writer")
	for _, r := range rs {
		trs := assertTotalsAreStored(t, embeddedStore(t, dir), r)
		assert.Len(t, trs, 180, "run %s (%s)", r.EvaluationRunID, r.Source)
		assert.Equal(t, "completed", r.Status, "run %s (%s): %s", r.EvaluationRunID, r.Source, r.Error)
	}
}
