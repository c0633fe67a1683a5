package compare

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/stat/distuv"

	"evalrec.dev/analytics"
	"evalrec.dev/model"
)

// t3 draws Student t noise of 3 degrees of freedom scaled to unit
// variance, the shape bench/gate measures.
var t3 = func() func(*rand.Rand) float64 {
	i := slices.IndexFunc(analytics.Noises, func(n analytics.Noise) bool { return n.Name == "t3" })
	return analytics.Noises[i].Draw
}()

func TestTheTailFitKnowsGaussianFromHeavyTails(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	gauss := make([]float64, 20000)
	heavy := make([]float64, 20000)
	for i := range gauss {
		gauss[i] = 2 * rng.NormFloat64()
		heavy[i] = math.Sqrt(3) * t3(rng) // unit scale, as Student's t is
	}
	g := fitTail(gauss, reference{scale: 1})
	require.True(t, g.calibrated)
	assert.Greater(t, g.df, 30.0, "a Gaussian sample fits a (nearly) normal tail")
	assert.InDelta(t, 2, g.scale, 0.15)
	h := fitTail(heavy, reference{scale: 1})
	assert.InDelta(t, 3, h.df, 1.2, "a t3 sample fits about 3 degrees of freedom")
	assert.InDelta(t, 1, h.scale, 0.15)
	// How far out the family-wise threshold of 1,000 tests lies.
	assert.Greater(t, h.upper(8, 0), 5e-5/1.0, "t3 puts more than 5e-5 beyond 8")
	assert.Less(t, g.upper(8, 0), 5e-5)

	small := fitTail(gauss[:50], reference{scale: 1})
	assert.False(t, small.calibrated, "too few values to fit a tail: the fallback")
}

func TestEveryLabellingOfOneRunAgainstAHistory(t *testing.T) {
	labs := allLabellings(10, 1)
	assert.Len(t, labs, 11)
	assert.Len(t, allLabellings(3, 3), 20)
	assert.Equal(t, []float64{1, 3, 4, 2}, relabel([]float64{1, 2, 3, 4}, []int{1}, 3))
}

// heavySuite is a suite of n tests whose WER has Student t noise of 3
// degrees of freedom (scaled to sd 0.01), nb base and nc candidate runs.
func heavySuite(rng *rand.Rand, n, nb, nc int) (base, cand []model.TestRun) {
	for i := range n {
		id := fmt.Sprintf("t%04d", i)
		for r := range nb {
			base = append(base, withMetric(id, 90, 0.1+0.01*t3(rng), r+1))
		}
		for r := range nc {
			cand = append(cand, withMetric(id, 90, 0.1+0.01*t3(rng), r+1))
		}
	}
	return base, cand
}

// TestHeavyTailsDoNotFireTheGate: one run against a 10-run history of
// 1,000 tests with t3 noise. Referred to Student's t, the largest of 1,000
// heavy-tailed draws passes Holm's threshold in most unchanged
// comparisons; referred to the suite's own null, in few. Fixed seeds: 12
// comparisons each.
func TestHeavyTailsDoNotFireTheGate(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 3))
	var before, now int
	for range 12 {
		base, cand := heavySuite(rng, 1000, 10, 1)
		if len(Sides(nil, nil, base, cand, Options{Test: GaussianT}).Regressions()) > 0 {
			before++
		}
		if len(Sides(nil, nil, base, cand, Options{}).Regressions()) > 0 {
			now++
		}
	}
	assert.GreaterOrEqual(t, before, 6, "the Gaussian reference fires on most unchanged heavy-tailed suites")
	assert.LessOrEqual(t, now, 2, "the calibrated reference fires on few (5% expected)")
}

func TestAConstantHistoryIsNotJudgedByOneRun(t *testing.T) {
	// 50 tests with a noisy WER, and one count of rare errors that was 0
	// in all 10 runs of the history and is 1 in the candidate: by chance,
	// the newest of 11 runs is the odd one out once in 11.
	rng := rand.New(rand.NewPCG(5, 6))
	var base, cand []model.TestRun
	for i := range 50 {
		id := fmt.Sprintf("t%02d", i)
		for r := range 10 {
			base = append(base, withMetric(id, 90, 0.1+0.01*rng.NormFloat64(), r+1))
		}
		cand = append(cand, withMetric(id, 90, 0.1+0.01*rng.NormFloat64(), 1))
	}
	for r := range 10 {
		base = append(base, withMetric("errors", 90, 0, r+1))
	}
	cand = append(cand, withMetric("errors", 90, 1, 1))
	r := Sides(nil, nil, base, cand, Options{})
	f := find(r, "errors", "wer")
	assert.Equal(t, TooFewRuns, f.Verdict, f.Note)
	require.NotNil(t, f.P)
	assert.InDelta(t, 1.0/11, *f.P, 1e-9)
	before := find(Sides(nil, nil, base, cand, Options{Test: GaussianT}), "errors", "wer")
	assert.Equal(t, Regression, before.Verdict, "the previous method borrowed the suite's noise and called it a regression")

	// Two constant sides of two runs or more: a deterministic metric
	// that changed.
	both := Sides(nil, nil, werSide("d", 0.2, 0.2, 0.2), werSide("d", 0.3, 0.3, 0.3), Options{})
	assert.Equal(t, Regression, find(both, "d", "wer").Verdict)
}

// quantile is distuv's Student's t and normal quantiles, without linking
// distuv: they agree to 1e-12 relative, far in both tails.
func TestQuantileIsStudentsT(t *testing.T) {
	for _, df := range []float64{1, 2.5, 3, 9, 30, 1e4, math.Inf(1)} {
		for _, p := range []float64{1e-9, 5e-5, 0.01, 0.3, 0.5, 0.7, 0.99, 1 - 5e-5} {
			want := distuv.UnitNormal.Quantile(p)
			if !math.IsInf(df, 1) {
				want = distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(p)
			}
			if got := quantile(df, p); math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
				t.Errorf("quantile(%g, %g) = %.15g, want %.15g", df, p, got, want)
			}
		}
	}
}
