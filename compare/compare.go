// Package compare diffs two evaluation runs: metric and score deltas that
// respect each metric's direction, per-test score changes, and the tests that
// appeared, disappeared, started failing or were fixed.
package compare

import (
	"cmp"
	"context"
	"math"
	"slices"

	"evalrec.dev/model"
	"evalrec.dev/samples"
	"evalrec.dev/scoring"
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
	Base, Cand *model.EvaluationRun
	// Metrics present in both runs, largest relative change first.
	Metrics []MetricDelta
	// Tests present in both runs whose score or status changed, largest
	// score change first.
	Tests        []TestDelta
	NewTests     []string
	RemovedTests []string
	NewlyFailing []string // passed in base, failed or incomplete in cand
	Fixed        []string // failed or incomplete in base, passed in cand
	// Renamed tests ran on both sides under names that differ only in
	// what changes from run to run (see [Renamed]); they are compared as
	// one test, and are neither new nor removed.
	Renamed []Renamed
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
// from the tests' metrics, or from keys when given.
func Runs(base, cand *model.EvaluationRun, baseTests, candTests []model.TestRun, keys ...samples.MetricKey) Diff {
	rs, baseRows, candRows := resultsOf(baseTests, candTests)
	return diffRuns(base, cand, rs, baseRows, candRows, keys)
}

// A ResultReader reads the results of runs into rs, run after run, in the
// order given, keeping every run's rows (rs.Accumulate): a store.DB.
type ResultReader interface {
	ReadResults(ctx context.Context, runs []model.ID, rs *samples.Results) error
}

// LoadRuns reads two runs' results from db and compares them (see Runs).
func LoadRuns(ctx context.Context, db ResultReader, base, cand *model.EvaluationRun) (Diff, error) {
	rs := &samples.Results{Accumulate: true}
	if err := db.ReadResults(ctx, []model.ID{base.ID, cand.ID}, rs); err != nil {
		return Diff{}, err
	}
	return RunsOf(base, cand, rs), nil
}

// LoadBase is LoadRuns for a candidate whose results the caller holds
// (those a writer just totalled it from, every test run of it): it reads
// only the base's from db, adding them to candResults, whose tables
// already hold most of the base's tests.
func LoadBase(ctx context.Context, db ResultReader, base, cand *model.EvaluationRun, candResults *samples.Results) (Diff, error) {
	rs := candResults
	rs.Accumulate, rs.KeepIDs = true, false
	if err := db.ReadResults(ctx, []model.ID{base.ID}, rs); err != nil {
		return Diff{}, err
	}
	return RunsOf(base, cand, rs), nil
}

// RunsOf is Runs over the results of both runs, read into rs (with
// Accumulate), for a caller that reads them for more than the diff.
func RunsOf(base, cand *model.EvaluationRun, rs *samples.Results) Diff {
	return diffRuns(base, cand, rs, rowsOf(rs, []model.EvaluationRun{*base}), rowsOf(rs, []model.EvaluationRun{*cand}), rs.Metrics)
}

func diffRuns(base, cand *model.EvaluationRun, rs *samples.Results, baseRows, candRows []int32, keys []samples.MetricKey) Diff {
	d := Diff{Base: base, Cand: cand, BaseScore: base.Score, CandScore: cand.Score}
	bs, cs := newSide(rs, baseRows), newSide(rs, candRows)
	bs = onPackagesOf(bs, cs)
	if base.TestsSelected || cand.TestsSelected {
		bs, cs = common(bs, cs)
		d.Common, d.BaseScore, d.CandScore = true, bs.meanScore(), cs.meanScore()
	}
	dirs, known := directions(rs, cs, bs)
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

	byID := testsByID(rs)
	ch := statusChanges(bs, cs, byID)
	d.NewTests, d.RemovedTests, d.NewlyFailing, d.Fixed, d.Renamed = ch.added, ch.removed, ch.broke, ch.fixed, ch.renamed
	both := ch.pairs
	for _, t := range byID {
		if bs.ran(t) && cs.ran(t) {
			both = append(both, [2]int32{t, t})
		}
	}
	for _, p := range both {
		b, c := &rs.Rows[bs.last[p[0]]], &rs.Rows[cs.last[p[1]]]
		td := TestDelta{TestID: rs.Tests[p[1]].TestID, BaseScore: scoreOf(b), CandScore: scoreOf(c), BaseStatus: string(b.Status()), CandStatus: string(c.Status())}
		if td.ScoreDelta() != 0 || b.Status() != c.Status() {
			d.Tests = append(d.Tests, td)
		}
	}
	slices.SortStableFunc(d.Tests, func(a, b TestDelta) int {
		return cmp.Compare(math.Abs(b.ScoreDelta()), math.Abs(a.ScoreDelta()))
	})
	return d
}

func scoreOf(r *samples.Result) *float64 {
	if !r.HasScore() {
		return nil
	}
	s := r.Score
	return &s
}

// directions reads each metric's direction from the sides' results, and
// whether a definition or unit gave it: the first side's first.
func directions(rs *samples.Results, sides ...*side) (map[string]scoring.Direction, map[string]bool) {
	out, known := map[string]scoring.Direction{}, map[string]bool{}
	for _, s := range sides {
		for _, i := range s.rows {
			for _, v := range rs.ValuesOf(int(i)) {
				k := rs.Metrics[v.Metric]
				if _, ok := out[k.Key]; !ok {
					out[k.Key], _ = scoring.ParseDirection(k.Direction)
					known[k.Key] = !k.Assumed
				}
			}
		}
	}
	return out, known
}
