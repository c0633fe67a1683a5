package evalrec

import (
	"cmp"
	"flag"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"evalrec.dev/internal/metricfile"
	"evalrec.dev/result"
	"evalrec.dev/scoring"
)

// testState accumulates what one test recorded.
type testState struct {
	mu      sync.Mutex
	test    result.Test // everything but the metrics and the score
	metrics map[string]result.Metric
	start   time.Time
	emitted *emittedScore // the score the first call's attribute carried
}

// emittedScore is a score as an attribute carried it.
type emittedScore struct {
	score  float64
	method string
}

// Record reports metrics for the running test and emits them as attributes.
// See the package documentation for what repeated calls do. It never fails
// the test over storage; an unknown score method is reported with t.Errorf
// when the test ends, because it is a mistake in the suite.
//
// Each call costs time in the number of metrics it is given, not in those
// recorded before: the score is computed when the test ends, and by the
// first call over its own metrics, so that the attribute of a test that
// calls Record once carries its score too.
func Record(t testing.TB, metrics Metrics, opts ...Option) {
	// t.Helper walks the stack; it is called only before Record reports
	// something, which is all it affects.
	var o recordOptions
	for _, opt := range opts {
		opt(&o)
	}
	st := stateFor(t)

	names := make([]string, 0, len(metrics))
	for name := range metrics {
		names = append(names, name)
	}
	slices.Sort(names)

	if _, err := moduleFile(); err != nil && warnOnce(metricfile.Name) {
		t.Helper()
		t.Logf("evalrec: %v; its definitions are not used", err)
	}

	st.mu.Lock()
	defer st.mu.Unlock()
	first := len(st.metrics) == 0
	tr := &st.test
	recorded := make([]result.Metric, 0, len(names))
	for _, name := range names {
		// A name over the limit is refused where it would be stored: here
		// in TestMain mode, by the reader of the stream otherwise.
		if err := result.CheckName(name); err != nil {
			if r := active.Load(); r != nil {
				if warnOnce("long name") {
					r.log.Warn(err.Error())
					r.notes.add(err.Error())
				}
				continue
			}
		}
		key, changed := result.MetricKey(name)
		if changed {
			t.Helper()
			t.Logf("evalrec: metric %q is stored as %q", name, key)
		}
		def, defined := definition(&o, name)
		m := result.Metric{Key: key, Result: def.Evaluate(metrics[name])}
		m.Assumed = !defined
		if v := metrics[name]; !defined && (v < 0 || v > 1) && warnOnce(name) {
			t.Helper()
			t.Logf("evalrec: metric %q is %g, outside [0, 1], with no definition: its score is %g; declare its range and direction in evalrec.yaml or with evalrec.MetricDefinitions", name, v, m.Score)
		}
		st.metrics[key] = m
		recorded = append(recorded, m)
	}
	if o.testID != "" {
		tr.TestID = result.OneLine(o.testID)
	}
	if o.testName != "" {
		tr.TestName = result.OneLine(o.testName)
	}
	if len(o.tags) > 0 {
		tr.Tags = result.MergeSet(tr.Tags, o.tags)
	}
	if len(o.participants) > 0 {
		tr.Participants = result.MergeSet(tr.Participants, o.participants)
	}
	if o.method != "" {
		tr.ScoreMethod = o.method
	}
	if !verbose() {
		return
	}
	r := callRecord(tr, &o, recorded)
	if first && len(recorded) > 0 {
		// The score so far: the test's own, unless it calls again.
		method := cmp.Or(tr.ScoreMethod, defaultMethod())
		if score, ok, err := scoreOf(recorded, method); err == nil && ok {
			st.emitted = &emittedScore{score, method}
			r.Score, r.Method = &score, method
		}
	}
	if len(r.Metrics) > 0 || r.TestID != "" || r.TestName != "" || r.Tags != nil || r.Participants != nil {
		emit(t, []result.Attr{r.Attr()})
	}
}

// scoreOf scores metrics with method, in key order.
func scoreOf(metrics []result.Metric, method string) (float64, bool, error) {
	ms := slices.SortedFunc(slices.Values(metrics), func(a, b result.Metric) int { return strings.Compare(a.Key, b.Key) })
	rs := make([]scoring.Result, len(ms))
	for i, m := range ms {
		rs[i] = m.Result
	}
	return scoring.Default.Score(method, rs)
}

// warned holds the metric names already warned about, once per process.
var warned sync.Map

func warnOnce(name string) bool {
	_, loaded := warned.LoadOrStore(name, true)
	return !loaded
}

// verbose reports whether testing prints attributes: only in verbose mode
// (which go test -json implies) does it, and otherwise it drops them, so
// they are encoded only then. Verbose panics before flags are parsed
// (testing.Benchmark called from a plain program), when nothing is verbose
// either.
func verbose() bool { return flag.Parsed() && testing.Verbose() }

// emit passes attributes to testing, each cut to fit test2json's line
// limit.
func emit(t testing.TB, attrs []result.Attr) {
	for _, a := range attrs {
		for _, piece := range result.SplitAttr(t.Name(), a) {
			t.Attr(piece.Key, piece.Value)
		}
	}
}

// callRecord is what one Record call emits: the metrics it recorded and,
// as they stand after it, whatever its options set.
func callRecord(tr *result.Test, o *recordOptions, recorded []result.Metric) result.Recorded {
	r := result.Recorded{Metrics: recorded}
	if o.testID != "" {
		r.TestID = tr.TestID
	}
	if o.testName != "" {
		r.TestName = tr.TestName
	}
	if len(o.tags) > 0 {
		r.Tags = tr.Tags
	}
	if len(o.participants) > 0 {
		r.Participants = tr.Participants
	}
	return r
}

// states holds the accumulator of every test that has called Record and not
// yet ended, in every mode: the score must cover all of a test's metrics
// whether the recorder stores it or a wrapper reads its attributes.
var states sync.Map // testing.TB → *testState

// stateFor returns the test's accumulator, creating it on the first call
// together with the cleanup that ends it.
func stateFor(t testing.TB) *testState {
	if v, ok := states.Load(t); ok {
		return v.(*testState)
	}
	st := &testState{start: time.Now(), metrics: map[string]result.Metric{}}
	if s, ok := testStart(t); ok {
		st.start = s
	}
	if v, loaded := states.LoadOrStore(t, st); loaded {
		return v.(*testState)
	}
	if r := active.Load(); r != nil {
		r.capture.watch(t.Name())
	}
	t.Cleanup(func() {
		states.Delete(t)
		tr := st.finish(t)
		if r := active.Load(); r != nil {
			r.finishTest(t, st.start, tr)
		}
	})
	return st
}

// finish scores the test once, over every metric it recorded, emits the
// score, and returns the test as recorded. It runs from t.Cleanup.
func (st *testState) finish(t testing.TB) result.Test {
	st.mu.Lock()
	defer st.mu.Unlock()
	tr := st.test
	tr.Metrics = make([]result.Metric, 0, len(st.metrics))
	for _, m := range st.metrics {
		tr.Metrics = append(tr.Metrics, m)
	}
	slices.SortFunc(tr.Metrics, func(a, b result.Metric) int { return strings.Compare(a.Key, b.Key) })
	if tr.ScoreMethod == "" {
		tr.ScoreMethod = defaultMethod()
	}
	if len(tr.Metrics) == 0 {
		return tr
	}
	score, ok, err := scoreOf(tr.Metrics, tr.ScoreMethod)
	switch {
	case err != nil:
		t.Errorf("evalrec: %v", err)
	case ok:
		tr.Score = &score
		// A test that called Record once has its score on the stream.
		if verbose() && (st.emitted == nil || *st.emitted != emittedScore{score, tr.ScoreMethod}) {
			emit(t, []result.Attr{result.Recorded{Score: &score, Method: tr.ScoreMethod}.Attr()})
		}
	}
	return tr
}

// finishTest stores the test with its final status. It runs from t.Cleanup,
// after the test and its subtests have finished.
func (r *Recorder) finishTest(t testing.TB, start time.Time, tr result.Test) {
	tr.Package = r.pkg
	tr.Name = t.Name()
	tr.Attempt = r.nextAttempt(tr.Name)
	tr.Started = start
	tr.Finished = time.Now()
	switch {
	case t.Skipped():
		tr.Status = result.Skipped
	case t.Failed() || panicking():
		tr.Status = result.Failed
		r.recordedFailures.Add(1)
	default:
		tr.Status = result.Passed
	}
	if r.capture != nil {
		r.capture.finish(&tr)
		return
	}
	r.jn.Add(r.partID, &tr)
}

// panicking reports whether the test's goroutine is unwinding a panic
// (os.Exit(0) in a test is one too). testing runs a test's cleanups before
// it marks a panicking test failed, so Record's cleanup asks the stack: a
// handful of frames up, runtime.gopanic is there.
func panicking() bool {
	var pcs [8]uintptr
	n := runtime.Callers(3, pcs[:])
	for _, pc := range pcs[:n] {
		if f := runtime.FuncForPC(pc - 1); f != nil && f.Name() == "runtime.gopanic" {
			return true
		}
	}
	return false
}

func (r *Recorder) nextAttempt(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts[name]++
	return r.attempts[name]
}
