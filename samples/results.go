// Package samples holds test runs in the narrow form that the statistics
// (package compare and package analytics) read: [Results], streamed a run
// at a time, and a run's results encoded as one value, its digest, which
// a store keeps for each finished run. It knows no store.
package samples

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"time"

	"evalrec.dev/model"
	"evalrec.dev/result"
)

// Results are test runs in the narrow form the statistics read (flaky
// tests, per-test aggregates, change points, the metrics in use, and what
// compare and show list): a row is 48 bytes, and a test's ID and name, a
// run's ID and a metric's key are held once in tables that rows index.
//
// A [ResultStream] fills one Results a run at a time: Rows and Values hold
// that run's test runs, in no particular order, and the next run's replace
// them, while the tables only grow, so an index means the same test in
// every run. Reading 30 runs of 50,000 tests so holds 50,000 rows at once,
// not 1.5 million.
type Results struct {
	Runs    []model.ID  // a row's Run indexes this
	Tests   []TestKey   // a row's Test indexes this
	Metrics []MetricKey // a value's Metric indexes this
	Rows    []Result
	Values  []MetricValue // ValuesOf(i) slices this
	// KeepIDs asks for each row's test run ID (see TestRun): the
	// statistics need none, and 1.5 million of them cost 100 MB.
	KeepIDs bool
	// Accumulate keeps every run's rows: Rows and Values grow run after
	// run (see [DB.ResultsOf]).
	Accumulate bool
	ids        []string // by row, with KeepIDs
	// rowStart and valueStart are where the current run's rows and values
	// begin, with Accumulate.
	rowStart, valueStart int

	current   int32
	methods   []string // score methods, which rows index
	runIdx    map[model.ID]int32
	testIdx   map[string]int32
	metricIdx map[MetricKey]int32
	// seq holds the tests of the digest decoded last, in its order, and
	// next those of the one being decoded: runs mostly repeat their tests,
	// and comparing an ID with the one at the same place costs less than
	// hashing it.
	seq, next []int32
	seqPos    int
}

// A ResultStream calls yield with the results of each of its runs in turn
// (see [Results]), and stops at the first error, which it returns. It can
// be read again, with the same tables.
type ResultStream func(yield func(*Results) error) error

// Reset empties the rows, keeping the tables, for the results of run.
// With Accumulate it keeps the rows of other runs: it drops only those of
// run, when run is the current run (a reader starting it again).
func (rs *Results) Reset(run model.ID) {
	i := rs.Run(run)
	switch {
	case !rs.Accumulate:
		rs.rowStart, rs.valueStart = 0, 0
	case i != rs.current:
		rs.rowStart, rs.valueStart = len(rs.Rows), len(rs.Values)
	}
	rs.Rows, rs.Values, rs.seqPos = rs.Rows[:rs.rowStart], rs.Values[:rs.valueStart], 0
	if len(rs.ids) > rs.rowStart {
		rs.ids = rs.ids[:rs.rowStart]
	}
	rs.current = i
}

// Current is the index of the run whose results Rows hold.
func (rs *Results) Current() int32 { return rs.current }

// StreamOf streams test runs, run by run (by their EvaluationRunID, in
// order of first appearance).
func StreamOf(trs []model.TestRun) ResultStream {
	var order []model.ID
	byRun := map[model.ID][]int{}
	for i := range trs {
		id := trs[i].EvaluationRunID
		if _, ok := byRun[id]; !ok {
			order = append(order, id)
		}
		byRun[id] = append(byRun[id], i)
	}
	rs := &Results{}
	return func(yield func(*Results) error) error {
		for _, id := range order {
			rs.Reset(id)
			for _, i := range byRun[id] {
				rs.Add(&trs[i])
			}
			if err := yield(rs); err != nil {
				return err
			}
		}
		return nil
	}
}

// TestKey names a test: TestName is the name of its newest row.
type TestKey struct {
	TestID, TestName string
	// Package and GoTest are where the test is and its name as go test
	// knows it.
	Package, GoTest string
	last            int64
}

// MetricKey is a metric as a test reported it: the stored key, the user's
// name when it differs, its direction, and whether that was assumed.
type MetricKey struct {
	Key, Name, Direction string
	Assumed              bool
}

// Label is the metric's name as the user wrote it.
func (k MetricKey) Label() string { return cmp.Or(k.Name, k.Key) }

// Result is one test run.
type Result struct {
	Run, Test int32
	status    uint8
	Cached    bool
	method    uint8 // indexes Results.methods
	Attempt   uint16
	// Score is NaN when the test run has none.
	Score float64
	// Finished is when the test run ended, in Unix milliseconds.
	Finished   int64
	DurationMS float64
	from, to   int32
}

// MetricValue is one metric of a test run.
type MetricValue struct {
	Metric int32
	// Value is ±Inf or NaN when it was not finite.
	Value float64
	// Threshold is NaN when the metric has none; Passed says whether the
	// value met it, when known.
	Threshold float64
	Passed    passed
}

// passed is an optional verdict: 0 unknown, 1 failed, 2 passed.
type passed uint8

func passedOf(p *bool) passed {
	switch {
	case p == nil:
		return 0
	case *p:
		return 2
	}
	return 1
}

// Verdict is whether the value met its threshold, or nil when unknown.
func (v MetricValue) Verdict() *bool { return v.Passed.ptr() }

func (p passed) ptr() *bool {
	if p == 0 {
		return nil
	}
	v := p == 2
	return &v
}

var statuses = []result.Status{"", result.Passed, result.Failed, result.Skipped, result.Incomplete}

func statusCode(s string) uint8 {
	for i, st := range statuses {
		if string(st) == s {
			return uint8(i)
		}
	}
	return 0
}

// Status is the test run's status.
func (r *Result) Status() result.Status { return statuses[r.status] }

// HasScore says whether the test run has a score.
func (r *Result) HasScore() bool { return !math.IsNaN(r.Score) }

// FinishedAt is Finished as a time.
func (r *Result) FinishedAt() time.Time { return time.UnixMilli(r.Finished).UTC() }

// ValuesOf are the metric values of row i.
func (rs *Results) ValuesOf(i int) []MetricValue {
	r := &rs.Rows[i]
	return rs.Values[r.from:r.to]
}

// Run is the index of run id, added when new.
func (rs *Results) Run(id model.ID) int32 { return indexOf(&rs.Runs, &rs.runIdx, id) }

// indexOf is the index of k in *list, appended when new; *idx maps them,
// and is built from *list when nil.
func indexOf[K comparable](list *[]K, idx *map[K]int32, k K) int32 {
	if *idx == nil {
		*idx = make(map[K]int32, len(*list))
		for i, v := range *list {
			(*idx)[v] = int32(i)
		}
	}
	i, ok := (*idx)[k]
	if !ok {
		i = int32(len(*list))
		*list = append(*list, k)
		(*idx)[k] = i
	}
	return i
}

// testIndex is the index of a test in rs, added when new; its name is
// the newest. It takes the stored strings or a digest's bytes, which it
// copies only for a test it adds.
func testIndex[S string | []byte](rs *Results, id, name, pkg, goTest S, finished int64) int32 {
	i, ok := inSequence(rs, id)
	if !ok {
		if rs.testIdx == nil {
			rs.testIdx = map[string]int32{}
			for i, t := range rs.Tests {
				rs.testIdx[t.TestID] = int32(i)
			}
		}
		i, ok = rs.testIdx[string(id)] // no allocation for the lookup
		if !ok {
			i = int32(len(rs.Tests))
			s := string(id)
			rs.Tests = append(rs.Tests, TestKey{TestID: s, TestName: string(name), Package: string(pkg), GoTest: string(goTest), last: finished})
			rs.testIdx[s] = i
			return i
		}
	}
	if t := &rs.Tests[i]; finished >= t.last {
		t.last = finished
		if t.TestName != string(name) {
			t.TestName = string(name)
		}
		if t.Package != string(pkg) || t.GoTest != string(goTest) {
			t.Package, t.GoTest = string(pkg), string(goTest)
		}
	}
	return i
}

// inSequence finds id where the previous run had it, at the same place or
// one further on (a test that was removed).
func inSequence[S string | []byte](rs *Results, id S) (int32, bool) {
	for skip := range 2 {
		p := rs.seqPos + skip
		if p >= len(rs.seq) {
			return 0, false
		}
		if i := rs.seq[p]; rs.Tests[i].TestID == string(id) {
			rs.seqPos = p + 1
			return i, true
		}
	}
	return 0, false
}

// method is the index of a score method, added when new.
func (rs *Results) method(m string) uint8 {
	if i := slices.Index(rs.methods, m); i >= 0 {
		return uint8(i)
	}
	if len(rs.methods) == 255 {
		return 255 // more methods than there are: the last stands for the rest
	}
	rs.methods = append(rs.methods, m)
	return uint8(len(rs.methods) - 1)
}

// TestRunID is the test run ID of row i, with KeepIDs; else "".
func (rs *Results) TestRunID(i int) string {
	if i < len(rs.ids) {
		return rs.ids[i]
	}
	return ""
}

// Method is the score method of row i.
func (rs *Results) Method(i int) string {
	if m := int(rs.Rows[i].method); m < len(rs.methods) {
		return rs.methods[m]
	}
	return ""
}

func (rs *Results) metric(k MetricKey) int32 { return indexOf(&rs.Metrics, &rs.metricIdx, k) }

// Add appends a test run (of the run its EvaluationRunID names).
func (rs *Results) Add(t *model.TestRun) {
	r := Result{Run: rs.Run(t.EvaluationRunID), status: statusCode(t.Status), Cached: t.Cached, method: rs.method(t.ScoreMethod),
		Attempt: uint16(min(max(t.Attempt, 0), math.MaxUint16)), Score: math.NaN(), Finished: t.FinishedAt.UnixMilli(), DurationMS: t.DurationMS}
	r.Test = testIndex(rs, t.TestID, t.TestName, t.Package, t.GoTest, r.Finished)
	if t.Score != nil {
		r.Score = *t.Score
	}
	r.from = int32(len(rs.Values))
	for _, key := range slices.Sorted(maps.Keys(t.Metrics)) {
		m := t.Metrics[key]
		v := MetricValue{Metric: rs.metric(MetricKey{Key: key, Name: m.Name, Direction: m.Direction, Assumed: m.Assumed}),
			Value: nonFinite(m.NonFinite), Threshold: math.NaN(), Passed: passedOf(m.Passed)}
		if m.Value != nil {
			v.Value = *m.Value
		}
		if m.Threshold != nil {
			v.Threshold = *m.Threshold
		}
		rs.Values = append(rs.Values, v)
	}
	r.to = int32(len(rs.Values))
	rs.Rows = append(rs.Rows, r)
	if rs.KeepIDs {
		rs.ids = append(rs.ids, t.ID)
	}
}

// nonFinite is the value a null metric stood for.
func nonFinite(s string) float64 {
	switch s {
	case "+Inf":
		return math.Inf(1)
	case "-Inf":
		return math.Inf(-1)
	}
	return math.NaN()
}

// TestRun is row i as a test run, with what Results hold: no output,
// tags, participants, attributes, start, and none of the run's fields
// (environment, project, git); Metrics only with metrics, and nil when
// there are none. Its ID is there only with KeepIDs.
func (rs *Results) TestRun(i int, metrics bool) model.TestRun {
	r := &rs.Rows[i]
	k := &rs.Tests[r.Test]
	id := rs.TestRunID(i)
	t := model.TestRun{ID: id, EvaluationRunID: rs.Runs[r.Run], TestRunID: id, TestID: k.TestID, TestName: k.TestName,
		Package: k.Package, GoTest: k.GoTest, Attempt: int(r.Attempt), FinishedAt: r.FinishedAt(), DurationMS: r.DurationMS,
		Status: string(r.Status()), Passed: r.Status() == result.Passed, ScoreMethod: rs.Method(i), Cached: r.Cached}
	if r.HasScore() {
		sc := r.Score
		t.Score = &sc
	}
	vs := rs.ValuesOf(i)
	if !metrics {
		vs = nil
	}
	if len(vs) > 0 {
		t.Metrics = make(map[string]model.MetricDoc, len(vs)) // nil for none: a map a test run costs
	}
	for _, v := range vs {
		k := rs.Metrics[v.Metric]
		m := model.MetricDoc{Name: k.Name, Direction: k.Direction, Assumed: k.Assumed, Passed: v.Passed.ptr()}
		if nf := result.NonFinite(v.Value); nf != "" {
			m.NonFinite = nf
		} else {
			val := v.Value
			m.Value = &val
		}
		if !math.IsNaN(v.Threshold) {
			th := v.Threshold
			m.Threshold = &th
		}
		t.Metrics[k.Key] = m
	}
	return t
}

// Merge appends o's rows to rs.
func (rs *Results) Merge(o *Results) {
	runs := make([]int32, len(o.Runs))
	for i, id := range o.Runs {
		runs[i] = rs.Run(id)
	}
	tests := make([]int32, len(o.Tests))
	for i, t := range o.Tests {
		tests[i] = testIndex(rs, t.TestID, t.TestName, t.Package, t.GoTest, t.last)
	}
	metrics := make([]int32, len(o.Metrics))
	for i, k := range o.Metrics {
		metrics[i] = rs.metric(k)
	}
	rs.Rows = slices.Grow(rs.Rows, len(o.Rows))
	for i, r := range o.Rows {
		r.Run, r.Test, r.method = runs[r.Run], tests[r.Test], rs.method(o.Method(i))
		from := int32(len(rs.Values))
		for _, v := range o.ValuesOf(i) {
			v.Metric = metrics[v.Metric]
			rs.Values = append(rs.Values, v)
		}
		r.from, r.to = from, int32(len(rs.Values))
		rs.Rows = append(rs.Rows, r)
		if rs.KeepIDs && i < len(o.ids) {
			rs.ids = append(rs.ids, o.ids[i])
		}
	}
}
