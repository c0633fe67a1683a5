package compare

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"evalrec.dev/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func withMetric(id string, score, wer float64, attempt int) model.TestRun {
	w := wer
	return model.TestRun{TestID: id, Status: "passed", Score: &score, Attempt: attempt, ScoreMethod: "average",
		Metrics: map[string]model.MetricDoc{"wer": {Value: &w, Direction: "lower"}}}
}

func werSide(id string, wers ...float64) []model.TestRun {
	var out []model.TestRun
	for i, w := range wers {
		out = append(out, withMetric(id, 100*(1-w), w, i+1))
	}
	return out
}

func find(r Report, id, metric string) Finding {
	for _, f := range r.Findings {
		if f.TestID == id && f.Metric == metric {
			return f
		}
	}
	return Finding{}
}

func TestSidesFindsASignificantRegression(t *testing.T) {
	base := werSide("t", 0.10, 0.11, 0.09, 0.10, 0.12, 0.10, 0.11, 0.09)
	cand := werSide("t", 0.20, 0.21, 0.19, 0.22, 0.20, 0.21, 0.19, 0.20)
	r := Sides(nil, nil, base, cand, Options{})
	f := find(r, "t", "wer")
	require.NotNil(t, f.P)
	assert.Less(t, *f.P, 0.001)
	assert.True(t, f.Significant)
	assert.Equal(t, Regression, f.Verdict, "a higher WER is worse")
	assert.InDelta(t, 0.1025, f.Base, 1e-9)
	assert.InDelta(t, 0.2025, f.Cand, 1e-9)
	assert.Len(t, r.Regressions(), 1, "the score of a test with metrics is not compared twice")
}

func TestSidesDoesNotCallNoiseARegression(t *testing.T) {
	base := werSide("t", 0.10, 0.12, 0.09, 0.11, 0.10)
	cand := werSide("t", 0.11, 0.10, 0.12, 0.09, 0.11)
	r := Sides(nil, nil, base, cand, Options{})
	f := find(r, "t", "wer")
	require.NotNil(t, f.P)
	assert.Greater(t, *f.P, 0.05)
	assert.Equal(t, Unchanged, f.Verdict)
	assert.Empty(t, r.Regressions())
}

func TestHolmBonferroni(t *testing.T) {
	p := func(v float64) *float64 { return &v }
	// m = 4, alpha = 0.05: thresholds 0.0125, 0.0167, 0.025, 0.05.
	fs := []Finding{
		{Metric: "a", P: p(0.010), Direction: "higher", Base: 1, Cand: 0},
		{Metric: "b", P: p(0.015), Direction: "higher", Base: 1, Cand: 0},
		{Metric: "c", P: p(0.030), Direction: "higher", Base: 1, Cand: 0}, // > 0.025: stops here
		{Metric: "d", P: p(0.040), Direction: "higher", Base: 1, Cand: 0}, // < 0.05, but after a failure
	}
	holm(fs, []int{3, 2, 1, 0}, 0.05)
	assert.True(t, fs[0].Significant)
	assert.True(t, fs[1].Significant)
	assert.False(t, fs[2].Significant)
	assert.False(t, fs[3].Significant, "step-down: nothing after the first failure is significant")
	assert.Equal(t, Regression, fs[0].Verdict)
	assert.Equal(t, Unchanged, fs[3].Verdict)
}

func TestOneRunASideWithNothingToLearnTheNoiseFromIsTooFewRuns(t *testing.T) {
	r := Sides(nil, nil, werSide("t", 0.10), werSide("t", 0.12), Options{})
	f := find(r, "t", "wer")
	assert.Nil(t, f.P)
	assert.Equal(t, TooFewRuns, f.Verdict, "never unchanged, never a regression")
	assert.Contains(t, f.Note, "need ≥ 2 runs on a side")
}

func TestOneRunAgainstAHistoryIsTested(t *testing.T) {
	base := werSide("t", 0.10, 0.11, 0.09, 0.10, 0.12, 0.10, 0.11, 0.09, 0.10, 0.11)
	r := Sides(nil, nil, base, werSide("t", 0.30), Options{})
	f := find(r, "t", "wer")
	require.NotNil(t, f.P)
	assert.Equal(t, Regression, f.Verdict)
}

func TestTiesAndZeroChangesAreNeverImprovements(t *testing.T) {
	score := func(id, status string, s float64) model.TestRun {
		return model.TestRun{TestID: id, Status: status, Score: &s, ScoreMethod: "status"}
	}
	// A score of [100 ×5] against [100, 100, 100, 0]: the failure is a
	// newly failing test, not a drift of the score to test for.
	base := []model.TestRun{score("t", "passed", 100), score("t", "passed", 100), score("t", "passed", 100), score("t", "passed", 100), score("t", "passed", 100)}
	cand := []model.TestRun{score("t", "passed", 100), score("t", "passed", 100), score("t", "passed", 100), score("t", "failed", 0)}
	r := Sides(nil, nil, base, cand, Options{})
	assert.Empty(t, r.Findings)
	assert.Equal(t, []string{"t"}, r.NewlyFailing, "the failure is reported as such")

	// Mostly tied metric values: no improvement, and weak evidence.
	ties := Sides(nil, nil, werSide("t", 0.1, 0.1, 0.1, 0.1, 0.1), werSide("t", 0.1, 0.1, 0.1, 0.9), Options{})
	f := find(ties, "t", "wer")
	assert.NotEqual(t, Improvement, f.Verdict)
	same := Sides(nil, nil, werSide("t", 0.1, 0.1, 0.1), werSide("t", 0.1, 0.1, 0.1), Options{})
	assert.Equal(t, Unchanged, find(same, "t", "wer").Verdict)
	assert.Nil(t, find(same, "t", "wer").P, "identical constants carry no evidence and are not tested")
}

func TestCachedResultsAreNotSamples(t *testing.T) {
	base := werSide("t", 0.10, 0.11, 0.09, 0.10, 0.12, 0.10)
	var cand []model.TestRun
	for range 6 {
		c := withMetric("t", 90, 0.10, 1)
		c.Cached = true
		cand = append(cand, c)
	}
	cand = append(cand, withMetric("t", 90, 0.105, 1))
	r := Sides(nil, nil, base, cand, Options{})
	assert.Equal(t, 6, r.Cached)
	assert.Equal(t, 1, find(r, "t", "wer").N2, "six cached copies are one sample, the fresh one")
	assert.Empty(t, r.Regressions())
	assert.Contains(t, r.Warnings[0], "6 test results (0 of the base, 6 of the candidate) were served from go test's cache")
}

func TestUnitsDecideDirections(t *testing.T) {
	tr := func(v float64, unit, dir string) model.TestRun {
		return model.TestRun{TestID: "b", Status: "passed", Metrics: map[string]model.MetricDoc{unit: {Value: &v, Unit: unit, Direction: dir}}}
	}
	var base, cand []model.TestRun
	for i := range 6 {
		base = append(base, tr(1000+float64(i%3), "records/sec", "higher"))
		cand = append(cand, tr(500+float64(i%3), "records/sec", "higher"))
	}
	r := Sides(nil, nil, base, cand, Options{})
	assert.Equal(t, Regression, find(r, "b", "records/sec").Verdict, "fewer records a second is worse")
}

func TestSidesWarnsAboutInconsistentSides(t *testing.T) {
	base := append(werSide("a", 0.1), werSide("gone", 0.1)...)
	cand := append(werSide("a", 0.1), werSide("new", 0.1)...)
	cand[0].ScoreMethod = "garbled_turn"
	r := Sides(nil, nil, base, cand, Options{})
	assert.Equal(t, []string{"new"}, r.NewTests)
	assert.Equal(t, []string{"gone"}, r.RemovedTests)
	require.Len(t, r.Warnings, 2)
	assert.Contains(t, r.Warnings[0], "test set")
	assert.Contains(t, r.Warnings[1], "a is scored by average in base and garbled_turn in candidate")

	r = Sides([]model.EvaluationRun{{Project: "a", Environment: "dev", SystemInfoHash: "1111111111"}},
		[]model.EvaluationRun{{Project: "a", Environment: "prod", SystemInfoHash: "2222222222"}}, nil, nil, Options{})
	assert.Equal(t, []string{"the sides differ in environment: base dev, candidate prod", "the sides differ in system: base 11111111, candidate 22222222"}, r.Warnings)
}

func TestASubsetIsComparedOnItsPackages(t *testing.T) {
	base := append(werSide("a", 0.1), werSide("b", 0.1)...)
	base[0].Package, base[1].Package = "m/a", "m/b"
	cand := werSide("a", 0.1)
	cand[0].Package = "m/a"
	r := Sides(nil, nil, base, cand, Options{})
	assert.Empty(t, r.RemovedTests, "m/b did not run in the candidate: it is not gone")
}

func TestScoreDrop(t *testing.T) {
	s := func(v float64) *float64 { return &v }
	r := Sides([]model.EvaluationRun{{Score: s(80)}, {Score: s(90)}}, []model.EvaluationRun{{Score: s(70)}}, nil, nil, Options{})
	d, ok := r.ScoreDrop()
	assert.True(t, ok)
	assert.Equal(t, 15.0, d)
	assert.False(t, math.IsNaN(d))
}

func TestMannWhitneyKnownValue(t *testing.T) {
	// Four samples a side, fully separated: the exact two-sided p-value is
	// 2 / C(8,4) = 2/70.
	r := Sides(nil, nil, werSide("t", 0.10, 0.11, 0.12, 0.13), werSide("t", 0.20, 0.21, 0.22, 0.23), Options{Test: MannWhitney})
	f := find(r, "t", "wer")
	require.NotNil(t, f.P)
	assert.InDelta(t, 2.0/70, *f.P, 1e-9)
	assert.True(t, f.Significant, "one comparison: p <= 0.05")
}

func TestTheModeratedVarianceLearnsFromTheOtherTests(t *testing.T) {
	// 200 tests, three runs a side, the same noise; one test shifted by
	// 5σ. On its own three runs a side, no test can clear Holm's 0.00025;
	// with the suite's noise it does.
	var base, cand []model.TestRun
	rng := rand.New(rand.NewPCG(1, 2))
	const sigma = 0.01
	for i := range 200 {
		id := fmt.Sprint("t", i)
		for j := range 3 {
			base = append(base, withMetric(id, 90, 0.1+sigma*rng.NormFloat64(), j+1))
			shift := 0.0
			if i == 42 {
				shift = 5 * sigma
			}
			cand = append(cand, withMetric(id, 90, 0.1+sigma*rng.NormFloat64()+shift, j+1))
		}
	}
	r := Sides(nil, nil, base, cand, Options{})
	require.Len(t, r.Regressions(), 1, "%+v", r.Regressions())
	assert.Equal(t, "t42", r.Regressions()[0].TestID)
	assert.Zero(t, r.NeedRuns)
}

// A run whose packages came from go test's cache still ran its tests: they
// are not "new" against it, and a test that fails after it is newly
// failing. Its results are no samples.
func TestACachedRunStillHasItsTests(t *testing.T) {
	var base, cand []model.TestRun
	for _, id := range []string{"a", "b", "c"} {
		b := tr(id, "passed", 100, 1)
		b.Cached = true
		base = append(base, b)
		status := "passed"
		if id == "b" {
			status = "failed"
		}
		cand = append(cand, tr(id, status, 100, 1))
	}
	r := Sides([]model.EvaluationRun{{}}, []model.EvaluationRun{{}}, base, cand, Options{})
	assert.Empty(t, r.NewTests, "the cached run's tests are not new")
	assert.Equal(t, []string{"b"}, r.NewlyFailing)
	assert.Equal(t, 3, r.Cached)
}

// A test that became 2 s slower: with Durations (compare_durations in
// evalrec.yaml) it is a duration regression; a change under 100 ms, or
// without Durations, is none.
func TestDurationsAreComparedWhenAsked(t *testing.T) {
	side := func(slowMS float64) []model.TestRun {
		var out []model.TestRun
		for i := range 10 {
			for _, id := range []string{"a", "b", "c"} {
				d := 100 + float64(i%3)
				if id == "a" {
					d += slowMS
				}
				if id == "b" {
					d = float64(i % 2 * 10) // 0.00 s and 0.01 s: go test's resolution
				}
				out = append(out, model.TestRun{TestID: id, Status: "passed", Score: f(100), DurationMS: d, Attempt: i + 1})
			}
		}
		return out
	}
	runs := []model.EvaluationRun{{}}
	r := Sides(runs, runs, side(0), side(2000), Options{Durations: true})
	assert.Equal(t, Regression, find(r, "a", DurationMetric).Verdict)
	assert.Equal(t, Unchanged, find(r, "b", DurationMetric).Verdict)
	r = Sides(runs, runs, side(0), side(50), Options{Durations: true})
	assert.Equal(t, Unchanged, find(r, "a", DurationMetric).Verdict, "50 ms is under the floor")
	r = Sides(runs, runs, side(0), side(2000), Options{})
	assert.Empty(t, r.Findings, "durations are compared only when asked")
}

// With one run a side and nothing to learn the noise from, a metric's
// declared threshold decides: passed in base and failed in the candidate
// is a regression, and the finding says which rule decided.
func TestWithoutHistoryTheThresholdDecides(t *testing.T) {
	run := func(wer float64) []model.TestRun {
		th := 0.3
		passed := wer <= th
		return []model.TestRun{{TestID: "a", Status: "passed", Score: f(100),
			Metrics: map[string]model.MetricDoc{"wer": {Value: &wer, Direction: "lower", Threshold: &th, Passed: &passed}}}}
	}
	runs := []model.EvaluationRun{{}}
	r := Sides(runs, runs, run(0.2), run(0.4), Options{})
	fd := find(r, "a", "wer")
	assert.Equal(t, Regression, fd.Verdict)
	assert.Equal(t, "threshold", fd.Rule)
	r = Sides(runs, runs, run(0.2), run(0.25), Options{})
	assert.Equal(t, TooFewRuns, find(r, "a", "wer").Verdict, "within the threshold, one run a side says nothing")
	r = Sides(runs, runs, run(0.4), run(0.2), Options{})
	assert.Equal(t, Improvement, find(r, "a", "wer").Verdict)
}
