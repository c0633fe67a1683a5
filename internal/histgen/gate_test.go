package histgen_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"evalrec.dev/compare"
	"evalrec.dev/internal/histgen"
)

// TestTheGateMeetsItsTargets measures the gate on generated comparisons
// (fixed seeds, so the outcome is the same every time) against issue 10's
// targets: false alarms on at most 5% of unchanged comparisons, and 90%
// detection of a 5σ shift at 1 run against a 10-run history and at 5 vs 5,
// and of a 3σ shift at 10 vs 10. With 100 comparisons a cell the estimates
// carry about ±2 points of sampling error, so the bounds here allow that;
// bench/gate measures every cell with 2,000 and the README has its figures.
// Here four cells stand for the rest: a test run keeps to scenarios.
func TestTheGateMeetsItsTargets(t *testing.T) {
	cells := fourCells()
	if len(cells) != 4 {
		t.Fatalf("%d of the gate's cells chosen, want 4", len(cells))
	}
	for _, c := range cells {
		rate := histgen.MeasureGate(c, compare.ModeratedT, 100)
		t.Logf("%d tests, %d vs %d, %s: %.1f%%", c.Tests, c.Base, c.Cand, c.Describe(), 100*rate)
		switch {
		case c.Shift > 0:
			assert.GreaterOrEqual(t, rate, 0.87, "%d tests, %d vs %d, %s: detected %.1f%%", c.Tests, c.Base, c.Cand, c.Describe(), 100*rate)
		default:
			assert.LessOrEqual(t, rate, 0.08, "%d tests, %d vs %d, %s: false alarms %.1f%%", c.Tests, c.Base, c.Cand, c.Describe(), 100*rate)
		}
	}
}

// TestTheFirstVersionsGateFailedThem keeps the record of what this replaced:
// the first version never detects at 5 vs 5, and fires on cached copies.
func TestTheFirstVersionsGateFailedThem(t *testing.T) {
	for _, c := range histgen.GateCells(0) {
		if c.Tests != 200 || !(c.Shift > 0 && c.Base == 5) && !c.Cached {
			continue
		}
		rate := histgen.MeasureGate(c, compare.MannWhitney, 50)
		switch {
		case c.Shift > 0 && c.Base == 5:
			assert.Zero(t, rate, "Mann–Whitney at 5+5 cannot reach Holm's threshold")
		case c.Cached:
			assert.Greater(t, rate, 0.9, "cached copies look like a change")
		}
	}
}

// fourCells are the gate's scenarios a test run measures: unchanged and
// shifted, 1 run against a history and equal sides, on the larger suite,
// and cached copies on the smaller.
func fourCells() []histgen.Scenario {
	var out []histgen.Scenario
	for _, c := range histgen.GateCells(0) {
		switch {
		case c.Tests == 200 && c.Shift == 0 && !c.Cached && c.Base == 10 && c.Cand == 1,
			c.Tests == 200 && c.Shift == 5 && c.Base == 10 && c.Cand == 1,
			c.Tests == 200 && c.Shift == 3 && c.Base == 10 && c.Cand == 10,
			c.Tests == 20 && c.Cached:
			out = append(out, c)
		}
	}
	return out
}
