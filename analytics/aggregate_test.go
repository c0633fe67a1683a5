package analytics

import (
	"testing"

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
