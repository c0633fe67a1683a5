package samples_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"evalrec.dev/model"
	"evalrec.dev/result"
	"evalrec.dev/samples"
)

// wideRun is one run of tests test runs: a metric on one in ten (with a
// threshold, and a value that was not finite on one in twenty), a
// skipped, a failed, a cached and an unscored one among them, a test
// whose go test name is not its name, and a test run twice.
func wideRun(run model.ID, tests int) []model.TestRun {
	at := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	out := make([]model.TestRun, 0, tests+1)
	for k := range tests {
		score := 100.0
		pkg := fmt.Sprintf("example.com/wide/pkg%02d", k/2000)
		name := fmt.Sprintf("TestFunction%05d", k)
		tr := model.TestRun{EvaluationRunID: run, TestID: pkg + "." + name, TestName: name, Package: pkg, GoTest: name, Attempt: 1,
			Status: "passed", Score: &score, ScoreMethod: "status", FinishedAt: at.Add(time.Duration(k) * time.Millisecond),
			DurationMS: float64(k%5000) / 1000, Metrics: map[string]model.MetricDoc{}}
		switch {
		case k%10 == 0:
			v, s, th, ok := 0.8+float64(k%7)/100, 81.25+float64(k%3), 0.5, true
			tr.Score, tr.ScoreMethod = &s, "average"
			tr.Metrics["accuracy"] = model.MetricDoc{Value: &v, Direction: "higher", Threshold: &th, Passed: &ok}
			if k%20 == 0 {
				tr.Metrics["lat%2Ep"] = model.MetricDoc{NonFinite: "+Inf", Name: "lat.p", Direction: "lower", Assumed: true}
			}
		case k == 7:
			tr.Status, tr.Score = "skipped", nil
		case k == 9:
			zero := 0.0
			tr.Status, tr.Score = "failed", &zero
		case k == 11:
			tr.Cached = true
		case k == 13:
			tr.TestName = "a name of its own"
		}
		out = append(out, tr)
	}
	again := out[3]
	again.FinishedAt = again.FinishedAt.Add(time.Hour)
	again.Status, again.Attempt = "incomplete", 2
	return append(out, again)
}

// resultsOf holds the test runs of one run.
func resultsOf(trs []model.TestRun) *samples.Results {
	rs := &samples.Results{KeepIDs: true}
	rs.Reset(trs[0].EvaluationRunID)
	for i := range trs {
		rs.Add(&trs[i])
	}
	return rs
}

func flat(rs *samples.Results) []string {
	var out []string
	for i, r := range rs.Rows {
		line := fmt.Sprintf("%s %s %s %s %v %v %d", rs.Runs[r.Run].Hex(), rs.Tests[r.Test].TestID, rs.Tests[r.Test].TestName,
			r.Status(), r.Cached, r.Score, r.Finished)
		for _, v := range rs.ValuesOf(i) {
			line += fmt.Sprintf(" %+v=%v", rs.Metrics[v.Metric], v.Value)
		}
		out = append(out, line)
	}
	slices.Sort(out)
	return out
}

func TestADigestHoldsEveryResultOfItsRun(t *testing.T) {
	runA, runB := model.NewID(), model.NewID()
	a, b := wideRun(runA, 3000), wideRun(runB, 2000)
	want := resultsOf(append(slices.Clone(a), b...))

	got := &samples.Results{}
	da, db := samples.EncodeDigest(resultsOf(a)), samples.EncodeDigest(resultsOf(b))
	require.NoError(t, samples.DecodeDigest(da, runA, got))
	require.NoError(t, samples.DecodeDigest(db, runB, got))
	assert.Equal(t, flat(want), flat(got))
	assert.Len(t, got.Tests, 3000, "a test is held once, however many runs it has")
	assert.Equal(t, "a name of its own", got.Tests[slices.IndexFunc(got.Tests, func(k samples.TestKey) bool { return k.TestID == a[13].TestID })].TestName)
	perRow := float64(len(da)) / float64(len(a))
	t.Logf("%.1f bytes a test run", perRow)
	assert.Less(t, perRow, 24.0)

	for cut := 0; cut < len(db); cut += 997 {
		err := samples.DecodeDigest(db[:cut], runB, &samples.Results{})
		assert.Error(t, err, "a digest cut at %d bytes", cut)
	}
	assert.Error(t, samples.DecodeDigest(append([]byte{9}, db[1:]...), runB, &samples.Results{}), "an unknown version")
	assert.Error(t, samples.DecodeDigest(append(slices.Clone(db), 0), runB, &samples.Results{}), "bytes left over")
}

// TestResultsGiveBackTheTestRunsTheyHold turns test runs into results, and
// through a digest, and back: every field results hold comes back.
func TestResultsGiveBackTheTestRunsTheyHold(t *testing.T) {
	run := model.NewID()
	trs := wideRun(run, 40)
	for i := range trs {
		trs[i].ID = result.RunID("r1", trs[i].Package, trs[i].GoTest, trs[i].Attempt)
		trs[i].TestRunID, trs[i].Passed = trs[i].ID, trs[i].Status == "passed"
	}
	rs := &samples.Results{KeepIDs: true}
	rs.Reset(run)
	require.NoError(t, samples.DecodeDigest(samples.EncodeDigest(resultsOf(trs)), run, rs))
	got := make([]model.TestRun, len(rs.Rows))
	for i := range rs.Rows {
		got[i] = rs.TestRun(i, true)
	}
	slices.SortFunc(got, func(a, b model.TestRun) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(trs, func(a, b model.TestRun) int { return strings.Compare(a.ID, b.ID) })
	for i := range trs {
		if len(trs[i].Metrics) == 0 {
			trs[i].Metrics = nil
		}
	}
	// A test's name is its newest row's.
	trs[slices.IndexFunc(trs, func(x model.TestRun) bool { return x.GoTest == "TestFunction00013" })].TestName = "a name of its own"
	assert.Equal(t, trs, got)
	r := rs.Rows[slices.IndexFunc(rs.Rows, func(r samples.Result) bool { return rs.Tests[r.Test].GoTest == "TestFunction00007" })]
	assert.Equal(t, result.Skipped, r.Status())
	assert.False(t, r.HasScore())
	lat := rs.Metrics[slices.IndexFunc(rs.Metrics, func(k samples.MetricKey) bool { return k.Key == "lat%2Ep" })]
	assert.Equal(t, "lat.p", lat.Label())
}

// BenchmarkDecodeDigest reads 30 runs of 50,000 tests, as evalrec tests
// does on a wide suite.
func BenchmarkDecodeDigest(b *testing.B) {
	run := model.NewID()
	d := samples.EncodeDigest(resultsOf(wideRun(run, 50000)))
	b.SetBytes(30 * int64(len(d)))
	rs := &samples.Results{}
	for b.Loop() {
		for range 30 {
			rs.Reset(run)
			if err := samples.DecodeDigest(d, run, rs); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// With Accumulate, a Results keeps every run's rows; starting the current
// run again (a reader that fell back from a digest to the rows) drops only
// that run's.
func TestAccumulatedResultsKeepEveryRunsRows(t *testing.T) {
	a, b := model.NewID(), model.NewID()
	tr := func(run model.ID, name string) *model.TestRun {
		return &model.TestRun{EvaluationRunID: run, TestID: "p." + name, TestName: name, Status: "passed"}
	}
	rs := &samples.Results{Accumulate: true}
	rs.Reset(a)
	rs.Add(tr(a, "T1"))
	rs.Add(tr(a, "T2"))
	rs.Reset(b)
	rs.Add(tr(b, "T1"))
	rs.Reset(b)
	rs.Add(tr(b, "T2"))
	require.Len(t, rs.Rows, 3)
	assert.Equal(t, []string{"p.T1", "p.T2", "p.T2"}, []string{rs.Tests[rs.Rows[0].Test].TestID, rs.Tests[rs.Rows[1].Test].TestID, rs.Tests[rs.Rows[2].Test].TestID})
	assert.Equal(t, rs.Run(b), rs.Rows[2].Run)

	rs.Accumulate = false
	rs.Reset(a)
	assert.Empty(t, rs.Rows, "without Accumulate a run's rows replace the last's")
}
