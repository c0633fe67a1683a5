package analytics

import (
	"slices"
	"testing"
	"time"

	"evalrec.dev/model"
	"evalrec.dev/samples"
)

// A test that only ever skipped has no pass rate: it is not a test that
// always fails.
func TestATestThatOnlySkipsHasNoPassRate(t *testing.T) {
	trs := []model.TestRun{
		{TestID: "skips", Status: "skipped"}, {TestID: "skips", Status: "skipped"},
		{TestID: "half", Status: "passed"}, {TestID: "half", Status: "failed"}, {TestID: "half", Status: "skipped"},
	}
	got := map[string]TestAggregate{}
	aggs, err := TestAggregates(samples.StreamOf(trs))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range aggs {
		got[a.TestID] = a
	}
	if a := got["skips"]; a.PassRate != nil || a.Skipped != 2 {
		t.Errorf("skips: pass rate %v, skipped %d; want none and 2", a.PassRate, a.Skipped)
	}
	if a := got["half"]; a.PassRate == nil || *a.PassRate != 0.5 || a.Skipped != 1 {
		t.Errorf("half: pass rate %v, skipped %d; want 0.5 and 1", a.PassRate, a.Skipped)
	}
}

// Each test's runs, mean, lowest and highest score, and its newest status,
// whatever order its runs come in; tests with the highest mean first, and
// one never scored last, without scores.
func TestAggregatesSummariseEachTestOverItsRuns(t *testing.T) {
	at := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	score := func(v float64) *float64 { return &v }
	run := func(i int) model.ID { return model.NewIDAt(at.Add(time.Duration(i) * time.Minute)) }
	trs := []model.TestRun{
		{EvaluationRunID: run(1), TestID: "b", Status: "passed", Score: score(80), FinishedAt: at.Add(1 * time.Minute)},
		{EvaluationRunID: run(1), TestID: "a", Status: "passed", Score: score(90), FinishedAt: at.Add(1 * time.Minute)},
		{EvaluationRunID: run(1), TestID: "none", Status: "passed", FinishedAt: at.Add(1 * time.Minute)},
		{EvaluationRunID: run(3), TestID: "b", Status: "failed", Score: score(20), FinishedAt: at.Add(3 * time.Minute)},
		{EvaluationRunID: run(3), TestID: "a", Status: "passed", Score: score(100), FinishedAt: at.Add(3 * time.Minute)},
		{EvaluationRunID: run(2), TestID: "b", Status: "passed", Score: score(95), FinishedAt: at.Add(2 * time.Minute)},
	}
	aggs, err := TestAggregates(samples.StreamOf(trs))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range aggs {
		ids = append(ids, a.TestID)
	}
	if !slices.Equal(ids, []string{"a", "b", "none"}) {
		t.Fatalf("order %v, want a (mean 95), b (65), none", ids)
	}
	a, b, none := aggs[0], aggs[1], aggs[2]
	if a.Runs != 2 || *a.AvgScore != 95 || *a.MinScore != 90 || *a.MaxScore != 100 || a.LastStatus != "passed" {
		t.Errorf("a: %d runs, mean %v, min %v, max %v, last %s", a.Runs, *a.AvgScore, *a.MinScore, *a.MaxScore, a.LastStatus)
	}
	if b.Runs != 3 || *b.AvgScore != 65 || *b.MinScore != 20 || *b.MaxScore != 95 || b.LastStatus != "failed" || *b.PassRate != 2.0/3 {
		t.Errorf("b: %d runs, mean %v, min %v, max %v, last %s, pass rate %v", b.Runs, *b.AvgScore, *b.MinScore, *b.MaxScore, b.LastStatus, *b.PassRate)
	}
	if !b.LastRun.Equal(at.Add(3 * time.Minute)) {
		t.Errorf("b's last run %v, want its newest", b.LastRun)
	}
	if none.AvgScore != nil || none.MinScore != nil || none.MaxScore != nil {
		t.Errorf("a test never scored has scores: %+v", none)
	}
}
