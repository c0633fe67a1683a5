// Package compare diffs two evaluation runs: metric and score deltas that
// respect each metric's direction, per-test score changes, and the tests that
// appeared, disappeared, started failing or were fixed.
package compare

import (
	"cmp"
	"maps"
	"math"
	"slices"

	"evalrec.dev/scoring"
	"evalrec.dev/store"
)

// MetricDelta is the change of one run-level metric (its mean over tests).
type MetricDelta struct {
	Name       string
	Base, Cand float64
	Direction  scoring.Direction
	// DirectionKnown is false when no test document said which way the
	// metric improves; Improvement then assumes higher is better.
	DirectionKnown bool
}

// Delta is Cand − Base.
func (m MetricDelta) Delta() float64 { return m.Cand - m.Base }

// Improvement is the delta signed so that positive is better.
func (m MetricDelta) Improvement() float64 {
	if m.Direction == scoring.LowerIsBetter {
		return -m.Delta()
	}
	return m.Delta()
}

// Relative is |Delta| relative to |Base|, or +Inf when Base is 0.
func (m MetricDelta) Relative() float64 {
	if m.Base == 0 {
		if m.Delta() == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return math.Abs(m.Delta() / m.Base)
}

// TestDelta is the change of one test between the runs.
type TestDelta struct {
	TestID                 string
	BaseScore, CandScore   *float64
	BaseStatus, CandStatus string
}

// ScoreDelta is CandScore − BaseScore, or 0 when either is missing.
func (t TestDelta) ScoreDelta() float64 {
	if t.BaseScore == nil || t.CandScore == nil {
		return 0
	}
	return *t.CandScore - *t.BaseScore
}

// Diff is the comparison of a candidate run against a base run.
type Diff struct {
	Base, Cand *store.EvaluationRun
	// Metrics present in both runs, largest relative change first.
	Metrics []MetricDelta
	// Tests present in both runs whose score or status changed, largest
	// score change first.
	Tests        []TestDelta
	NewTests     []string
	RemovedTests []string
	NewlyFailing []string // passed in base, failed or incomplete in cand
	Fixed        []string // failed or incomplete in base, passed in cand
	// Common says a side ran some tests only (go test -run): the diff
	// keeps to the tests both ran, and its scores are theirs.
	Common bool
	// BaseScore and CandScore are the scores compared: the runs', or with
	// Common, the mean score of the tests both ran.
	BaseScore, CandScore *float64
}

// ScoreDelta is the change of the score, and false when a side has none.
func (d Diff) ScoreDelta() (float64, bool) {
	if d.BaseScore == nil || d.CandScore == nil {
		return 0, false
	}
	return *d.CandScore - *d.BaseScore, true
}

// Runs compares cand against base, on the packages cand ran. A test is
// identified by its test_id; when it ran several times in one run
// (-count=N), its last attempt counts. The run's metrics' directions come
// from the tests' metrics, or from keys when given (see
// store.DB.TestOutcomes).
func Runs(base, cand *store.EvaluationRun, baseTests, candTests []store.TestRun, keys ...store.MetricKey) Diff {
	d := Diff{Base: base, Cand: cand, BaseScore: base.Score, CandScore: cand.Score}
	baseTests = onPackagesOf(baseTests, candTests)
	if base.TestsSelected || cand.TestsSelected {
		baseTests, candTests = common(baseTests, candTests)
		d.Common, d.BaseScore, d.CandScore = true, meanTestScore(baseTests), meanTestScore(candTests)
	}
	dirs, known := directions(candTests, baseTests)
	for _, k := range keys {
		if _, ok := dirs[k.Key]; !ok {
			dirs[k.Key], _ = scoring.ParseDirection(k.Direction)
			known[k.Key] = !k.Assumed
		}
	}
	for name, c := range cand.Metrics {
		b, ok := base.Metrics[name]
		if !ok || d.Common {
			continue // with Common, the runs' means cover other tests
		}
		d.Metrics = append(d.Metrics, MetricDelta{Name: name, Base: b, Cand: c, Direction: dirs[name], DirectionKnown: known[name]})
	}
	slices.SortFunc(d.Metrics, func(a, b MetricDelta) int {
		return cmp.Or(cmp.Compare(b.Relative(), a.Relative()), cmp.Compare(a.Name, b.Name))
	})

	bt, ct := latest(baseTests), latest(candTests)
	d.NewTests, d.RemovedTests, d.NewlyFailing, d.Fixed = statusChanges(bt, ct)
	for _, id := range slices.Sorted(maps.Keys(ct)) {
		c := ct[id]
		b, ok := bt[id]
		if !ok {
			continue
		}
		td := TestDelta{TestID: id, BaseScore: b.Score, CandScore: c.Score, BaseStatus: b.Status, CandStatus: c.Status}
		if td.ScoreDelta() != 0 || b.Status != c.Status {
			d.Tests = append(d.Tests, td)
		}
	}
	slices.SortStableFunc(d.Tests, func(a, b TestDelta) int {
		return cmp.Compare(math.Abs(b.ScoreDelta()), math.Abs(a.ScoreDelta()))
	})
	return d
}

// common keeps the test runs of the tests both sides ran.
func common(base, cand []store.TestRun) ([]store.TestRun, []store.TestRun) {
	in := func(trs []store.TestRun) map[string]bool {
		m := make(map[string]bool, len(trs))
		for _, t := range trs {
			m[t.TestID] = true
		}
		return m
	}
	inBase, inCand := in(base), in(cand)
	keep := func(trs []store.TestRun, other map[string]bool) []store.TestRun {
		return slices.DeleteFunc(slices.Clone(trs), func(t store.TestRun) bool { return !other[t.TestID] })
	}
	return keep(base, inCand), keep(cand, inBase)
}

// meanTestScore is the mean score of the tests' last attempts, or nil.
func meanTestScore(trs []store.TestRun) *float64 {
	return meanOf(maps.Values(latest(trs)), func(t *store.TestRun) *float64 { return t.Score })
}

// statusChanges lists the tests only in cand, only in base, passing in base
// but failing in cand, and the reverse.
func statusChanges(bt, ct map[string]*store.TestRun) (added, removed, broke, fixed []string) {
	for _, id := range slices.Sorted(maps.Keys(ct)) {
		c := ct[id]
		b, ok := bt[id]
		switch {
		case !ok:
			added = append(added, id)
		case b.Status == "passed" && bad(c.Status):
			broke = append(broke, id)
		case bad(b.Status) && c.Status == "passed":
			fixed = append(fixed, id)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(bt)) {
		if _, ok := ct[id]; !ok {
			removed = append(removed, id)
		}
	}
	return added, removed, broke, fixed
}

func bad(status string) bool { return status == "failed" || status == "incomplete" }

// directions reads each metric's direction from the test documents, and
// whether a definition or unit gave it.
func directions(sets ...[]store.TestRun) (map[string]scoring.Direction, map[string]bool) {
	out, known := map[string]scoring.Direction{}, map[string]bool{}
	for _, set := range sets {
		for _, t := range set {
			for k, m := range t.Metrics {
				if _, ok := out[k]; !ok {
					out[k], _ = scoring.ParseDirection(m.Direction)
					known[k] = !m.Assumed
				}
			}
		}
	}
	return out, known
}

func latest(ts []store.TestRun) map[string]*store.TestRun {
	out := make(map[string]*store.TestRun, len(ts))
	for i := range ts {
		t := &ts[i]
		if prev, ok := out[t.TestID]; !ok || t.Attempt >= prev.Attempt {
			out[t.TestID] = t
		}
	}
	return out
}
