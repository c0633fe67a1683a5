package compare

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"evalrec.dev/store"
)

func withMetric(id string, score, wer float64, attempt int) store.TestRun {
	w := wer
	return store.TestRun{TestID: id, Status: "passed", Score: &score, Attempt: attempt, ScoreMethod: "average",
		Metrics: map[string]store.MetricDoc{"wer": {Value: &w, Direction: "lower"}}}
}

func side(id string, wers ...float64) []store.TestRun {
	var out []store.TestRun
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
	base := side("t", 0.10, 0.11, 0.09, 0.10, 0.12, 0.10, 0.11, 0.09)
	cand := side("t", 0.20, 0.21, 0.19, 0.22, 0.20, 0.21, 0.19, 0.20)
	r := Sides(nil, nil, base, cand, Options{})
	f := find(r, "t", "wer")
	require.NotNil(t, f.P)
	assert.Less(t, *f.P, 0.001)
	assert.True(t, f.Significant)
	assert.Equal(t, Regression, f.Verdict, "a higher WER is worse")
	assert.Equal(t, Regression, find(r, "t", ScoreMetric).Verdict, "and so is the lower score")
	assert.InDelta(t, 0.10, f.BaseMedian, 1e-9)
	assert.InDelta(t, 0.20, f.CandMedian, 1e-9)
	assert.Len(t, r.Regressions(), 2)
}

func TestSidesDoesNotCallNoiseARegression(t *testing.T) {
	base := side("t", 0.10, 0.12, 0.09, 0.11, 0.10)
	cand := side("t", 0.11, 0.10, 0.12, 0.09, 0.10)
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
		{Metric: "a", P: p(0.010), Direction: "higher", BaseMedian: 1, CandMedian: 0},
		{Metric: "b", P: p(0.015), Direction: "higher", BaseMedian: 1, CandMedian: 0},
		{Metric: "c", P: p(0.030), Direction: "higher", BaseMedian: 1, CandMedian: 0}, // > 0.025: stops here
		{Metric: "d", P: p(0.040), Direction: "higher", BaseMedian: 1, CandMedian: 0}, // < 0.05, but after a failure
	}
	holm(fs, []int{3, 2, 1, 0}, 0.05)
	assert.True(t, fs[0].Significant)
	assert.True(t, fs[1].Significant)
	assert.False(t, fs[2].Significant)
	assert.False(t, fs[3].Significant, "step-down: nothing after the first failure is significant")
	assert.Equal(t, Regression, fs[0].Verdict)
	assert.Equal(t, Unchanged, fs[3].Verdict)
}

func TestSingleSamplesUseTheTolerance(t *testing.T) {
	r := Sides(nil, nil, side("t", 0.100), side("t", 0.103), Options{})
	f := find(r, "t", "wer")
	assert.Nil(t, f.P)
	assert.Equal(t, Unchanged, f.Verdict, "3% is within the 5% tolerance")
	r = Sides(nil, nil, side("t", 0.10), side("t", 0.12), Options{})
	assert.Equal(t, Regression, find(r, "t", "wer").Verdict)
	assert.False(t, find(r, "t", "wer").Significant)
}

func TestSidesWarnsAboutInconsistentSides(t *testing.T) {
	base := append(side("a", 0.1), side("gone", 0.1)...)
	cand := append(side("a", 0.1), side("new", 0.1)...)
	cand[0].ScoreMethod = "garbled_turn"
	r := Sides(nil, nil, base, cand, Options{})
	assert.Equal(t, []string{"new"}, r.NewTests)
	assert.Equal(t, []string{"gone"}, r.RemovedTests)
	require.Len(t, r.Warnings, 2)
	assert.Contains(t, r.Warnings[0], "test set")
	assert.Contains(t, r.Warnings[1], "a is scored by average in base and garbled_turn in candidate")
}

func TestScoreDrop(t *testing.T) {
	s := func(v float64) *float64 { return &v }
	r := Sides([]store.EvaluationRun{{Score: s(80)}, {Score: s(90)}}, []store.EvaluationRun{{Score: s(70)}}, nil, nil, Options{})
	d, ok := r.ScoreDrop()
	assert.True(t, ok)
	assert.Equal(t, 15.0, d)
	assert.False(t, math.IsNaN(d))
}

func TestMannWhitneyKnownValue(t *testing.T) {
	// Four samples a side, fully separated: the exact two-sided p-value is
	// 2 / C(8,4) = 2/70.
	r := Sides(nil, nil, side("t", 0.10, 0.11, 0.12, 0.13), side("t", 0.20, 0.21, 0.22, 0.23), Options{})
	f := find(r, "t", "wer")
	require.NotNil(t, f.P)
	assert.InDelta(t, 2.0/70, *f.P, 1e-9)
	assert.False(t, f.Significant, "two comparisons (wer and score): Holm needs p <= 0.025")
}
