package gatesim_test

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"

	"evalrec.dev/analytics"
	"evalrec.dev/compare"
	"evalrec.dev/internal/gatesim"
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
		rate := gatesim.MeasureGate(c, compare.ModeratedT, 100)
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
	for _, c := range gatesim.GateCells(0) {
		if c.Tests != 200 || !(c.Shift > 0 && c.Base == 5) && !c.Cached {
			continue
		}
		rate := gatesim.MeasureGate(c, compare.MannWhitney, 50)
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
func fourCells() []gatesim.Scenario {
	var out []gatesim.Scenario
	for _, c := range gatesim.GateCells(0) {
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

// TestTheGateHoldsOnNoiseThatIsNotGaussian measures four of issue 18's
// cells on 50-test suites (status-only tests among them, flaky, failing
// and skipped): no false alarm beyond sampling error with heavy-tailed
// noise and with counts of rare events at one run against a 10-run
// history (the Gaussian reference fired on 27% and 20% of them), and the
// detections the issue asks for. Fixed seeds, 100 comparisons a cell;
// bench/gate -noises measures every cell with 200 and the README has the
// table with its intervals.
func TestTheGateHoldsOnNoiseThatIsNotGaussian(t *testing.T) {
	noise := map[string]func(*rand.Rand) float64{}
	for _, n := range analytics.Noises {
		noise[n.Name] = n.Draw
	}
	suite := func(shape string, base, cand int) gatesim.Scenario {
		return gatesim.Scenario{Tests: 50, Base: base, Cand: cand, Sigma: 0.01, Noise: noise[shape],
			StatusOnly: 5, Flaky: 1, FlakyRate: 0.2, Failing: 1, Skipped: 1}
	}
	heavy := suite("t3", 10, 1)
	counts := suite("gaussian", 10, 1)
	counts.Counts = 10
	one := suite("gaussian", 10, 1)
	one.Shift = 5
	wide := suite("t3", 10, 10)
	wide.Shift, wide.ShiftShare = 2, 0.1
	for _, c := range []struct {
		name  string
		s     gatesim.Scenario
		alarm bool
		bound float64
	}{
		{"t3 noise, 10 runs vs 1, nothing changed", heavy, true, 0.08},
		{"counts of rare events, 10 runs vs 1, nothing changed", counts, true, 0.08},
		{"Gaussian, 10 runs vs 1, one test +5σ", one, false, 0.87},
		{"t3 noise, 10 vs 10, 10% of tests +2σ", wide, false, 0.95},
	} {
		rate := gatesim.MeasureGate(c.s, compare.ModeratedT, 100)
		t.Logf("%s: %.1f%%", c.name, 100*rate)
		if c.alarm {
			assert.LessOrEqual(t, rate, c.bound, "%s: false alarms", c.name)
			before := gatesim.MeasureGate(c.s, compare.GaussianT, 100)
			assert.Greater(t, before, 0.1, "%s: the Gaussian reference's false alarms", c.name)
		} else {
			assert.GreaterOrEqual(t, rate, c.bound, "%s: detected", c.name)
		}
	}
}
