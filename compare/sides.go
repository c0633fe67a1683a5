package compare

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"

	"golang.org/x/perf/benchmath"

	"evalrec.dev/scoring"
	"evalrec.dev/store"
)

// Options tune a statistical comparison. The zero value uses the defaults.
type Options struct {
	// Alpha is the family-wise significance level, after Holm–Bonferroni
	// correction across every comparison made. Default 0.05.
	Alpha float64
	// Tolerance is the relative change, in the worse direction, that counts
	// as a regression when a side has a single sample and no test is
	// possible. Default 0.05 (5%).
	Tolerance float64
}

func (o Options) withDefaults() Options {
	if o.Alpha <= 0 {
		o.Alpha = 0.05
	}
	if o.Tolerance <= 0 {
		o.Tolerance = 0.05
	}
	return o
}

// Verdicts of a finding.
const (
	Regression  = "regression"
	Improvement = "improvement"
	Unchanged   = "unchanged"
)

// ScoreMetric names a test's own score among its metrics in findings.
const ScoreMetric = "score"

// Finding compares one metric (or the score) of one test across the sides.
type Finding struct {
	TestID     string  `json:"test_id"`
	Metric     string  `json:"metric"`
	Direction  string  `json:"direction"`
	BaseMedian float64 `json:"base_median"`
	CandMedian float64 `json:"cand_median"`
	N1         int     `json:"n_base"`
	N2         int     `json:"n_cand"`
	// P is the Mann–Whitney U p-value, or null when a side has a single
	// sample. Significant is the verdict after Holm–Bonferroni.
	P           *float64 `json:"p"`
	Significant bool     `json:"significant"`
	Verdict     string   `json:"verdict"`
}

// Delta is CandMedian − BaseMedian.
func (f Finding) Delta() float64 { return f.CandMedian - f.BaseMedian }

// Report is a statistical comparison of two sides, each one or more runs.
type Report struct {
	BaseRuns, CandRuns int
	BaseScore          *float64 `json:"base_score"` // mean run score of the side
	CandScore          *float64 `json:"cand_score"`
	Findings           []Finding
	NewTests           []string `json:"new_tests"`
	RemovedTests       []string `json:"removed_tests"`
	NewlyFailing       []string `json:"newly_failing"`
	Fixed              []string `json:"fixed"`
	Warnings           []string `json:"warnings"`
}

// Regressions returns the findings judged regressions.
func (r Report) Regressions() []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Verdict == Regression {
			out = append(out, f)
		}
	}
	return out
}

// ScoreDrop is how far the candidate side's mean run score fell (positive
// when it fell), and false when a side has no score.
func (r Report) ScoreDrop() (float64, bool) {
	if r.BaseScore == nil || r.CandScore == nil {
		return 0, false
	}
	return *r.BaseScore - *r.CandScore, true
}

// Sides compares a candidate side against a base side. Each side is one or
// more runs and their test runs; with -count=N, one run gives N samples per
// test. Samples are the test's score and each metric's value.
//
// Where both sides have at least two samples, a Mann–Whitney U test
// (benchmath.AssumeNothing: no assumption about the distribution, as
// benchstat) gives a p-value, and Holm–Bonferroni keeps the family-wise
// error at Alpha across all comparisons. Where a side has one sample, no
// test is possible: a change in the worse direction larger than Tolerance
// (relative) is reported as a regression, unmarked as significant.
func Sides(baseRuns, candRuns []store.EvaluationRun, base, cand []store.TestRun, opt Options) Report {
	opt = opt.withDefaults()
	r := Report{BaseRuns: len(baseRuns), CandRuns: len(candRuns),
		BaseScore: meanScore(baseRuns), CandScore: meanScore(candRuns)}
	bs, cs := samplesByTest(base), samplesByTest(cand)
	bt, ct := latest(base), latest(cand)
	r.NewTests, r.RemovedTests, r.NewlyFailing, r.Fixed = statusChanges(bt, ct)
	if len(r.NewTests)+len(r.RemovedTests) > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("dataset inconsistency: the sides differ in their test set (%d new, %d removed)",
			len(r.NewTests), len(r.RemovedTests)))
	}
	for _, id := range slices.Sorted(maps.Keys(ct)) {
		if b, ok := bt[id]; ok && b.ScoreMethod != ct[id].ScoreMethod {
			r.Warnings = append(r.Warnings, fmt.Sprintf("scoring inconsistency: %s is scored by %s in base and %s in candidate",
				id, b.ScoreMethod, ct[id].ScoreMethod))
		}
	}

	var tested []int
	for _, id := range slices.Sorted(maps.Keys(cs)) {
		b, ok := bs[id]
		if !ok {
			continue
		}
		c := cs[id]
		for _, metric := range slices.Sorted(maps.Keys(c.values)) {
			bv, ok := b.values[metric]
			if !ok {
				continue
			}
			dir := c.dirs[metric]
			f := Finding{TestID: id, Metric: metric, Direction: dir.String(),
				BaseMedian: median(bv), CandMedian: median(c.values[metric]), N1: len(bv), N2: len(c.values[metric])}
			if f.N1 >= 2 && f.N2 >= 2 {
				cmp := benchmath.AssumeNothing.Compare(
					benchmath.NewSample(slices.Clone(bv), &benchmath.DefaultThresholds),
					benchmath.NewSample(slices.Clone(c.values[metric]), &benchmath.DefaultThresholds))
				p := cmp.P
				f.P = &p
				tested = append(tested, len(r.Findings))
			} else {
				f.Verdict = toleranceVerdict(f, dir, opt.Tolerance)
			}
			r.Findings = append(r.Findings, f)
		}
	}
	holm(r.Findings, tested, opt.Alpha)
	slices.SortStableFunc(r.Findings, func(a, b Finding) int {
		return cmp.Compare(rank(a.Verdict), rank(b.Verdict))
	})
	return r
}

func rank(verdict string) int {
	switch verdict {
	case Regression:
		return 0
	case Improvement:
		return 1
	}
	return 2
}

// holm applies the Holm–Bonferroni step-down procedure to the tested
// findings: sorted by p, the i-th smallest (0-based) of m is significant
// when its p and every smaller one are at most alpha / (m − i).
func holm(fs []Finding, tested []int, alpha float64) {
	sort.SliceStable(tested, func(a, b int) bool { return *fs[tested[a]].P < *fs[tested[b]].P })
	m := len(tested)
	rejecting := true
	for i, idx := range tested {
		f := &fs[idx]
		if rejecting && *f.P <= alpha/float64(m-i) {
			f.Significant = true
		} else {
			rejecting = false
		}
		f.Verdict = Unchanged
		if f.Significant {
			f.Verdict = worseOrBetter(f.Delta(), directionOf(f.Direction))
		}
	}
}

func toleranceVerdict(f Finding, dir scoring.Direction, tol float64) string {
	d := f.Delta()
	if d == 0 {
		return Unchanged
	}
	rel := math.Inf(1)
	if f.BaseMedian != 0 {
		rel = math.Abs(d / f.BaseMedian)
	}
	if rel <= tol {
		return Unchanged
	}
	return worseOrBetter(d, dir)
}

func worseOrBetter(delta float64, dir scoring.Direction) string {
	if (delta < 0) == (dir == scoring.HigherIsBetter) {
		return Regression
	}
	return Improvement
}

func directionOf(s string) scoring.Direction {
	d, _ := scoring.ParseDirection(s)
	return d
}

type testSamples struct {
	values map[string][]float64
	dirs   map[string]scoring.Direction
}

// samplesByTest collects, per test, the score and each metric's finite
// values over every run and attempt.
func samplesByTest(trs []store.TestRun) map[string]*testSamples {
	out := map[string]*testSamples{}
	for _, t := range trs {
		s := out[t.TestID]
		if s == nil {
			s = &testSamples{values: map[string][]float64{}, dirs: map[string]scoring.Direction{ScoreMetric: scoring.HigherIsBetter}}
			out[t.TestID] = s
		}
		if t.Score != nil {
			s.values[ScoreMetric] = append(s.values[ScoreMetric], *t.Score)
		}
		for k, m := range t.Metrics {
			if m.Value == nil {
				continue
			}
			s.values[k] = append(s.values[k], *m.Value)
			s.dirs[k] = directionOf(m.Direction)
		}
	}
	return out
}

func meanScore(runs []store.EvaluationRun) *float64 {
	var sum float64
	n := 0
	for _, r := range runs {
		if r.Score != nil {
			sum += *r.Score
			n++
		}
	}
	if n == 0 {
		return nil
	}
	m := sum / float64(n)
	return &m
}

func median(vs []float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
