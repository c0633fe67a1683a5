package main

import (
	"fmt"
	"strings"
	"testing"

	"evalrec.dev/compare"
	"evalrec.dev/model"
)

// A run with 100,000 new tests prints a few names and a count, and a name
// with control characters shows them escaped.
func TestTheSummaryBoundsItsLists(t *testing.T) {
	ids := make([]string, 100000)
	for i := range ids {
		ids[i] = fmt.Sprintf("example.com/p.TestGenerated%06d", i)
	}
	ids[0] = "example.com/p.TestEvil\x1b]0;owned\x07"
	var b strings.Builder
	printChanges(&b, compare.Diff{Base: &model.EvaluationRun{EvaluationRunID: "base"}, NewTests: ids, NewlyFailing: ids[:3]})
	out := b.String()
	if len(out) > 4000 {
		t.Errorf("the summary is %d bytes", len(out))
	}
	if !strings.Contains(out, ", … and 99990 more") || !strings.Contains(out, `TestEvil\x1b]0;owned\x07`) || strings.ContainsAny(out, "\x1b\x07") {
		t.Errorf("summary:\n%s", out)
	}
	b.Reset()
	printReport(&b, compare.Report{NewTests: ids}, false)
	if len(b.String()) > 4000 || !strings.Contains(b.String(), "new: ") {
		t.Errorf("compare's report is %d bytes", len(b.String()))
	}
}
