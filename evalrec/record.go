package evalrec

import (
	"flag"
	"slices"
	"sync"
	"testing"
	"time"

	"evalrec.dev/result"
	"evalrec.dev/scoring"
)

// testState accumulates what one test recorded.
type testState struct {
	mu    sync.Mutex
	test  result.Test
	start time.Time
}

// Record reports metrics for the running test and emits them as attributes.
// See the package documentation for what repeated calls do. It never fails
// the test over storage; an unknown score method is reported with t.Errorf,
// because it is a mistake in the suite.
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

	st.mu.Lock()
	defer st.mu.Unlock()
	tr := &st.test
	recorded := make([]result.Metric, 0, len(names))
	for _, name := range names {
		key, changed := result.MetricKey(name)
		if changed {
			t.Helper()
			t.Logf("evalrec: metric %q is stored as %q", name, key)
		}
		m := result.Metric{Key: key, Result: definition(&o, name).Evaluate(metrics[name])}
		tr.SetMetric(m)
		recorded = append(recorded, m)
	}
	if o.testID != "" {
		tr.TestID = o.testID
	}
	if o.testName != "" {
		tr.TestName = o.testName
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
	if tr.ScoreMethod == "" {
		tr.ScoreMethod = defaultMethod()
	}
	if len(tr.Metrics) > 0 {
		rs := make([]scoring.Result, len(tr.Metrics))
		for i, m := range tr.Metrics {
			rs[i] = m.Result
		}
		score, ok, err := scoring.Default.Score(tr.ScoreMethod, rs)
		switch {
		case err != nil:
			t.Helper()
			t.Errorf("evalrec: %v", err)
			tr.Score = nil
		case ok:
			tr.Score = &score
		default:
			tr.Score = nil
		}
	}
	// testing prints attributes only in verbose mode (which go test -json
	// implies) and drops them otherwise, so they are encoded only then.
	// Verbose panics before flags are parsed (testing.Benchmark called from
	// a plain program), when nothing is verbose either.
	if flag.Parsed() && testing.Verbose() {
		for _, a := range callAttrs(tr, &o, recorded) {
			t.Attr(a.Key, a.Value)
		}
	}
}

// callAttrs are the attributes one Record call emits: the metrics it
// recorded and, as they stand after it, whatever its options set, and the
// score.
func callAttrs(tr *result.Test, o *recordOptions, recorded []result.Metric) []result.Attr {
	attrs := make([]result.Attr, 0, len(recorded)+6)
	for _, m := range recorded {
		attrs = append(attrs, result.MetricAttr(m))
	}
	if o.testID != "" {
		attrs = append(attrs, result.Attr{Key: result.AttrTestID, Value: result.OneLine(o.testID)})
	}
	if o.testName != "" {
		attrs = append(attrs, result.Attr{Key: result.AttrTestName, Value: result.OneLine(o.testName)})
	}
	if len(o.tags) > 0 {
		attrs = append(attrs, result.ListAttr(result.AttrTags, tr.Tags))
	}
	if len(o.participants) > 0 {
		attrs = append(attrs, result.ListAttr(result.AttrParticipants, tr.Participants))
	}
	if tr.Score != nil {
		attrs = append(attrs, result.ScoreAttrs(*tr.Score, tr.ScoreMethod)...)
	}
	return attrs
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
	st := &testState{start: time.Now()}
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
		if r := active.Load(); r != nil {
			r.finishTest(t, st)
		}
	})
	return st
}

// finishTest stores the test with its final status. It runs from t.Cleanup,
// after the test and its subtests have finished.
func (r *Recorder) finishTest(t testing.TB, st *testState) {
	st.mu.Lock()
	tr := st.test
	st.mu.Unlock()
	tr.Package = r.pkg
	tr.Name = t.Name()
	tr.Attempt = r.nextAttempt(tr.Name)
	tr.Started = st.start
	tr.Finished = time.Now()
	switch {
	case t.Skipped():
		tr.Status = result.Skipped
	case t.Failed():
		tr.Status = result.Failed
		r.recordedFailures.Add(1)
	default:
		tr.Status = result.Passed
	}
	if r.capture != nil {
		r.capture.finish(&tr)
		return
	}
	r.session.Add(r.partID, &tr)
}

func (r *Recorder) nextAttempt(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts[name]++
	return r.attempts[name]
}
