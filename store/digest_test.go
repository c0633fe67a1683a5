package store_test

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"evalrec.dev/store"
)

// wideRun is one run of tests test runs: a metric on one in ten, a
// skipped, a failed, a cached and an unscored one among them, and a test
// run twice.
func wideRun(run bson.ObjectID, tests int) []store.TestRun {
	at := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	out := make([]store.TestRun, 0, tests+1)
	for k := range tests {
		score := 100.0
		tr := store.TestRun{EvaluationRunID: run, TestID: fmt.Sprintf("example.com/wide/pkg%02d.TestFunction%05d", k/2000, k),
			TestName: fmt.Sprintf("TestFunction%05d", k), Status: "passed", Score: &score, FinishedAt: at.Add(time.Duration(k) * time.Millisecond)}
		switch {
		case k%10 == 0:
			v, s := 0.8+float64(k%7)/100, 81.25+float64(k%3)
			tr.Score = &s
			tr.Metrics = map[string]store.MetricDoc{"accuracy": {Value: &v, Direction: "higher"}}
			if k%20 == 0 {
				tr.Metrics["lat%2Ep"] = store.MetricDoc{NonFinite: "NaN", Name: "lat.p", Direction: "lower", Assumed: true}
			}
		case k == 7:
			tr.Status, tr.Score = "skipped", nil
		case k == 9:
			zero := 0.0
			tr.Status, tr.Score = "failed", &zero
		case k == 11:
			tr.Cached = true
		}
		out = append(out, tr)
	}
	again := out[3]
	again.FinishedAt = again.FinishedAt.Add(time.Hour)
	again.Status, again.TestName = "incomplete", "renamed"
	return append(out, again)
}

// resultsOf holds the test runs of one run.
func resultsOf(trs []store.TestRun) *store.Results {
	rs := &store.Results{}
	rs.Reset(trs[0].EvaluationRunID)
	for i := range trs {
		rs.Add(&trs[i])
	}
	return rs
}

func flat(rs *store.Results) []string {
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
	runA, runB := bson.NewObjectID(), bson.NewObjectID()
	a, b := wideRun(runA, 3000), wideRun(runB, 2000)
	want := resultsOf(append(slices.Clone(a), b...))

	got := &store.Results{}
	da, db := store.EncodeDigest(resultsOf(a)), store.EncodeDigest(resultsOf(b))
	require.NoError(t, store.DecodeDigest(da, runA, got))
	require.NoError(t, store.DecodeDigest(db, runB, got))
	assert.Equal(t, flat(want), flat(got))
	assert.Len(t, got.Tests, 3000, "a test is held once, however many runs it has")
	assert.Equal(t, "renamed", got.Tests[slices.IndexFunc(got.Tests, func(k store.TestKey) bool { return k.TestID == a[3].TestID })].TestName,
		"a test's name is its newest")
	perRow := float64(len(da)) / float64(len(a))
	t.Logf("%.1f bytes a test run", perRow)
	assert.Less(t, perRow, 20.0)

	for cut := 0; cut < len(db); cut += 997 {
		err := store.DecodeDigest(db[:cut], runB, &store.Results{})
		assert.Error(t, err, "a digest cut at %d bytes", cut)
	}
	assert.Error(t, store.DecodeDigest(append([]byte{9}, db[1:]...), runB, &store.Results{}), "an unknown version")
	assert.Error(t, store.DecodeDigest(append(slices.Clone(db), 0), runB, &store.Results{}), "bytes left over")
}

func TestResultsKeepWhatTheStatisticsRead(t *testing.T) {
	run := bson.NewObjectID()
	rs := resultsOf(wideRun(run, 12))
	require.Len(t, rs.Rows, 13)
	r := rs.Rows[7]
	assert.Equal(t, "skipped", string(r.Status()))
	assert.False(t, r.HasScore())
	assert.True(t, math.IsNaN(r.Score))
	assert.True(t, rs.Rows[11].Cached)
	assert.Equal(t, []store.MetricValue{{Metric: 0, Value: 0.8}, {Metric: 1, Value: math.NaN()}}[0], rs.ValuesOf(0)[0])
	assert.Equal(t, "lat.p", rs.Metrics[rs.ValuesOf(0)[1].Metric].Label())
	assert.True(t, math.IsNaN(rs.ValuesOf(0)[1].Value), "a value that was not finite")
}

// BenchmarkDecodeDigest reads 30 runs of 50,000 tests, as evalrec tests
// does on a wide suite.
func BenchmarkDecodeDigest(b *testing.B) {
	run := bson.NewObjectID()
	d := store.EncodeDigest(resultsOf(wideRun(run, 50000)))
	b.SetBytes(30 * int64(len(d)))
	rs := &store.Results{}
	for b.Loop() {
		for range 30 {
			rs.Reset(run)
			if err := store.DecodeDigest(d, run, rs); err != nil {
				b.Fatal(err)
			}
		}
	}
}
