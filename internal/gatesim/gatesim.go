// Package gatesim generates comparisons whose truth is known (a suite's
// base and candidate runs, with nothing changed or with known shifts) and
// measures the regression gate on them: its false alarms and detections.
// It sits above compare, which it measures, and store, whose documents it
// generates.
package gatesim

import (
	"fmt"
	"math"
	"math/rand/v2"

	"evalrec.dev/compare"
	"evalrec.dev/model"
)

// A Scenario is a synthetic comparison whose truth is known: N tests, each
// with a metric of its own mean and noise, measured in Base runs on one
// side (a history) and Cand runs on the other. With Shift > 0, one metric
// of one test moves by Shift of its standard deviations in the candidate,
// in the worse direction; nothing else changes.
type Scenario struct {
	Tests      int
	Base, Cand int     // runs per side
	Sigma      float64 // each test's noise: Sigma, or Sigma × U(1−Spread, 1+Spread)
	Spread     float64
	Shift      float64 // in the shifted test's own σ; 0: nothing changed
	// ShiftShare is the share of the metric tests Shift moves (the first
	// of them); 0 moves one, Shifted.
	ShiftShare float64
	// StatusOnly tests report no metric (scored 100 passed, 0 failed);
	// Flaky of them fail at random with probability FlakyRate.
	StatusOnly, Flaky int
	FlakyRate         float64
	// Failing status-only tests fail in every run, Skipped are skipped in
	// every run; both are among the StatusOnly.
	Failing, Skipped int
	// Counts tests report a count of rare events (lower is better) drawn
	// from a Poisson law of mean 0.02–0.3, so their history is often all
	// zeros, instead of the noisy metric.
	Counts int
	// Cached, when set, makes every run after a side's first a copy that
	// go test served from its cache: an unchanged suite run again without
	// -count=1.
	Cached bool
	Seed   uint64
	// Alpha is the gate's family-wise level; 0 means its default, 0.05.
	Alpha float64
	// Noise draws each metric's noise, of unit spread, before Sigma
	// scales it; nil is Gaussian (see analytics.Noises for other shapes).
	Noise func(*rand.Rand) float64
}

// testID names the i-th test of a scenario.
func testID(i int) string { return fmt.Sprintf("test-%03d", i) }

// shifts reports whether Shift moves the metric of the i-th test: the
// first, Shifted, and the first ShiftShare of them.
func (s Scenario) shifts(i int) bool { return i == 0 || i < int(s.ShiftShare*float64(s.Tests)) }

// Shifted is the test whose metric a scenario with Shift > 0 moves.
const Shifted = "test-000"

// Generate writes the two sides.
func (s Scenario) Generate() (baseRuns, candRuns []model.EvaluationRun, base, cand []model.TestRun) {
	rng := rand.New(rand.NewPCG(s.Seed, 0x9e3779b97f4a7c15))
	specs := make([]spec, s.Tests)
	for i := range specs {
		sp := spec{id: testID(i), mean: 0.05 + 0.25*rng.Float64(), sigma: s.Sigma * (1 - s.Spread + 2*s.Spread*rng.Float64()), noise: s.Noise}
		switch {
		case i >= s.Tests-s.StatusOnly:
			sp.statusOnly = true
			k := s.Tests - 1 - i // 0 is the last test
			switch {
			case k < s.Flaky:
				sp.flaky = true
			case k < s.Flaky+s.Failing:
				sp.status = "failed"
			case k < s.Flaky+s.Failing+s.Skipped:
				sp.status = "skipped"
			}
		case i >= s.Tests-s.StatusOnly-s.Counts:
			sp.count = 0.02 + 0.28*rng.Float64()
		case s.shifts(i):
			sp.shiftInSigma = s.Shift
		}
		specs[i] = sp
	}
	side := func(n int, candidate bool) ([]model.EvaluationRun, []model.TestRun) {
		var runs []model.EvaluationRun
		var trs []model.TestRun
		var first []model.TestRun
		for r := range n {
			run := model.EvaluationRun{ID: model.NewID(), Project: "example.com/synthetic", Environment: "ci", SystemInfoHash: "synthetic"}
			var these []model.TestRun
			if s.Cached && r > 0 {
				for _, t := range first {
					t.EvaluationRunID, t.Cached = run.ID, true
					these = append(these, t)
				}
			} else {
				for _, sp := range specs {
					these = append(these, sp.sample(rng, run.ID, candidate, s.FlakyRate))
				}
			}
			if r == 0 {
				first = these
			}
			var sum float64
			scored := 0
			for _, t := range these {
				if t.Score != nil {
					sum += *t.Score
					scored++
				}
			}
			score := sum / float64(scored)
			run.Score = &score
			runs = append(runs, run)
			trs = append(trs, these...)
		}
		return runs, trs
	}
	baseRuns, base = side(s.Base, false)
	candRuns, cand = side(s.Cand, true)
	return baseRuns, candRuns, base, cand
}

// spec is one synthetic test.
type spec struct {
	id           string
	mean, sigma  float64
	statusOnly   bool
	flaky        bool
	status       string  // of a status-only test that is not flaky: "" passes
	count        float64 // > 0: the mean of a count metric
	shiftInSigma float64
	noise        func(*rand.Rand) float64
}

func (sp spec) sample(rng *rand.Rand, run model.ID, candidate bool, flakyRate float64) model.TestRun {
	t := model.TestRun{TestID: sp.id, Package: "example.com/synthetic", EvaluationRunID: run, Status: "passed", ScoreMethod: "average"}
	if sp.statusOnly {
		score := 100.0
		switch {
		case sp.flaky && rng.Float64() < flakyRate, sp.status == "failed":
			t.Status, score = "failed", 0
		case sp.status == "skipped":
			t.Status = "skipped"
			t.Score, t.ScoreMethod = nil, "status"
			return t
		}
		t.Score, t.ScoreMethod = &score, "status"
		return t
	}
	if sp.count > 0 {
		v := float64(poisson(rng, sp.count))
		score := 100 / (1 + v)
		t.Score = &score
		t.Metrics = map[string]model.MetricDoc{"errors": {Value: &v, Direction: "lower", Score: score}}
		return t
	}
	draw := sp.noise
	if draw == nil {
		draw = (*rand.Rand).NormFloat64
	}
	v := sp.mean + sp.sigma*draw(rng)
	if candidate {
		v += sp.shiftInSigma * sp.sigma // worse: WER is lower-is-better
	}
	score := 100 * (1 - v)
	t.Score = &score
	t.Metrics = map[string]model.MetricDoc{"wer": {Value: &v, Direction: "lower", Score: score}}
	return t
}

// poisson draws from a Poisson law of mean lambda (Knuth's method, for
// small means).
func poisson(rng *rand.Rand, lambda float64) int {
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// GateCells are the configurations issue 10 names: 20- and 200-test
// suites, at one run against a 10-run history, 3 vs 3, 5 vs 5 and 10 vs 10,
// with nothing changed; a 5σ shift at 1 vs 10 and 5 vs 5; a 3σ shift at 10
// vs 10; and an unchanged suite re-run from go test's cache, 6 vs 6. A 5σ
// shift at 1 run against a 20-run history shows what a longer history buys. One
// test in ten reports no metric, and half of those fail one run in five.
// With spread 0 every test's metric has the same noise σ, as the issue
// puts it; spread 0.5 gives each test its own, from 0.5σ to 1.5σ.
func GateCells(spread float64) []Scenario {
	var out []Scenario
	for _, tests := range []int{20, 200} {
		base := Scenario{Tests: tests, Sigma: 0.01, Spread: spread, StatusOnly: tests / 10, Flaky: tests / 20, FlakyRate: 0.2}
		for _, sides := range [][2]int{{10, 1}, {3, 3}, {5, 5}, {10, 10}} {
			c := base
			c.Base, c.Cand = sides[0], sides[1]
			out = append(out, c)
		}
		for _, shift := range []struct {
			b, c  int
			sigma float64
		}{{10, 1, 5}, {20, 1, 5}, {5, 5, 5}, {10, 10, 3}} {
			c := base
			c.Base, c.Cand, c.Shift = shift.b, shift.c, shift.sigma
			out = append(out, c)
		}
		c := base
		c.Base, c.Cand, c.Cached, c.StatusOnly, c.Flaky = 6, 6, true, 0, 0
		out = append(out, c)
	}
	return out
}

// Describe names what a scenario changes.
func (s Scenario) Describe() string {
	switch {
	case s.Shift > 0:
		return fmt.Sprintf("%gσ shift in one test", s.Shift)
	case s.Cached:
		return "none; runs after the first served from cache"
	}
	return "none"
}

// MeasureGate runs reps comparisons of scenario c with the given method and
// returns the share of them that raised an alarm: a regression (what
// -fail-on regression fails on) when nothing changed, or the shifted
// test's regression when one was shifted.
func MeasureGate(c Scenario, method string, reps int) float64 {
	shifted := map[string]bool{}
	for i := range c.Tests {
		if c.shifts(i) {
			shifted[testID(i)] = true
		}
	}
	hits := 0
	for i := range reps {
		c.Seed = uint64(i + 1)
		br, cr, b, cd := c.Generate()
		r := compare.Sides(br, cr, b, cd, compare.Options{Test: method, Alpha: c.Alpha})
		if c.Shift > 0 {
			// Found: the gate fails on a regression of a shifted test.
			for _, f := range r.Regressions() {
				if f.Metric == "wer" && shifted[f.TestID] {
					hits++
					break
				}
			}
			continue
		}
		if len(r.Regressions()) > 0 {
			hits++
		}
	}
	return float64(hits) / float64(reps)
}
