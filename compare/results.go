package compare

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"evalrec.dev/model"
	"evalrec.dev/result"
	"evalrec.dev/samples"
	"evalrec.dev/scoring"
)

// side is one side of a comparison over the rows of a [samples.Results]
// that may hold both sides: the rows it has, and per test (by its index in
// the Results' tests) the row of its last attempt. Statistics read
// samples from it, not test run documents: a side of ten runs of 50,000
// tests is 500,000 rows of 48 bytes.
type side struct {
	rs   *samples.Results
	rows []int32
	// last is, per test, the row of its last attempt, or -1 when the side
	// did not run it.
	last []int32
}

// newSide makes a side of rows, which are in the order of the runs'
// evaluation_run_ids and, within a run, of attempts: a test's last
// attempt is its last row of highest attempt.
func newSide(rs *samples.Results, rows []int32) *side {
	s := &side{rs: rs, rows: rows, last: make([]int32, len(rs.Tests))}
	for i := range s.last {
		s.last[i] = -1
	}
	for _, i := range rows {
		r := &rs.Rows[i]
		if prev := s.last[r.Test]; prev < 0 || r.Attempt >= rs.Rows[prev].Attempt {
			s.last[r.Test] = i
		}
	}
	return s
}

// keep is the side with the rows f keeps.
func (s *side) keep(f func(r *samples.Result) bool) *side {
	var rows []int32
	for _, i := range s.rows {
		if f(&s.rs.Rows[i]) {
			rows = append(rows, i)
		}
	}
	if len(rows) == len(s.rows) {
		return s
	}
	return newSide(s.rs, rows)
}

// ran reports whether the side ran test t.
func (s *side) ran(t int32) bool { return s.last[t] >= 0 }

// status is the status of test t's last attempt.
func (s *side) status(t int32) result.Status { return s.rs.Rows[s.last[t]].Status() }

// meanScore is the mean score of the tests' last attempts, or nil.
func (s *side) meanScore() *float64 {
	return meanOf(slices.Values(s.last), func(i int32) (float64, bool) {
		if i < 0 || !s.rs.Rows[i].HasScore() {
			return 0, false
		}
		return s.rs.Rows[i].Score, true
	})
}

// onPackagesOf keeps the rows of base of the packages cand ran.
func onPackagesOf(base, cand *side) *side {
	pkgs := map[string]bool{}
	for _, i := range cand.rows {
		pkgs[base.rs.Tests[base.rs.Rows[i].Test].Package] = true
	}
	if len(pkgs) == 0 {
		return base
	}
	return base.keep(func(r *samples.Result) bool { return pkgs[base.rs.Tests[r.Test].Package] })
}

// common keeps the rows of the tests both sides ran.
func common(base, cand *side) (*side, *side) {
	return base.keep(func(r *samples.Result) bool { return cand.ran(r.Test) }),
		cand.keep(func(r *samples.Result) bool { return base.ran(r.Test) })
}

// testSetChanges is how the sides' tests differ, by test ID: the tests only
// cand ran and only base ran, those passing in base and failing in cand
// and the reverse, and the tests renamed between the sides.
type testSetChanges struct {
	added, removed, broke, fixed []string
	renamed                      []Renamed
	// pairs holds the renamed tests' indices, base then cand.
	pairs [][2]int32
}

// A Renamed test ran on both sides under names that differ only where
// they print a value that changes from run to run: a pointer's address
// or a time, as %v and %#v print them (testify names some subtests so,
// with the arguments they assert on). Its status, and in a Diff its
// score, are compared as one test's, rather than listing it as new on one
// side and removed on the other every run.
type Renamed struct {
	Base string `json:"base"`
	Cand string `json:"cand"`
}

// What every view says of a comparison with no metric in common, and of
// one where no test changed its status.
const (
	NoMetricsLine      = "no metrics to compare: the tests of both sides recorded none in common"
	NoStatusChangeLine = "no test changed its status, and both sides ran the same tests"
)

// RenamedLine says that n tests were compared across a change of name,
// in the words every view uses.
func RenamedLine(n int) string {
	if n == 1 {
		return "1 test is named anew each run (a pointer's address or a time in its name): compared as the same test"
	}
	return fmt.Sprintf("%d tests are named anew each run (a pointer's address or a time in their names): compared as the same tests", n)
}

// NamedAnew reports whether a test's ID holds what differs from run to
// run (see [Renamed]): such a test has a new ID each run.
func NamedAnew(testID string) bool { return runDependent.MatchString(testID) }

// NamedAnewLine says that n of the tests read over several runs are
// named anew each run, which only a comparison pairs across runs.
func NamedAnewLine(n int) string {
	return fmt.Sprintf("%d of the tests are named anew each run (a pointer's address or a time in their names): each name is a test of its own here, and only compare pairs them across runs", n)
}

// NamedAnewIn counts the tests of rs that are named anew each run.
func NamedAnewIn(rs *samples.Results) int {
	n := 0
	for _, t := range rs.Tests {
		if NamedAnew(t.TestID) {
			n++
		}
	}
	return n
}

// runDependent matches what a test's name may hold that differs from run
// to run: an address (six hex digits or more after 0x) and a time as %#v
// prints it.
var runDependent = regexp.MustCompile(`0x[0-9a-fA-F]{6,}|time\.Date\([^)]*\)`)

// statusChanges compares the sides' test sets and statuses (see
// testSetChanges). A test only cand ran and one only base ran are one
// test renamed when their IDs are the same but for what runDependent
// matches; several such tests are paired in the order of their IDs.
func statusChanges(base, cand *side, byID []int32) testSetChanges {
	var c testSetChanges
	judge := func(bt, ct int32) {
		id := cand.rs.Tests[ct].TestID
		switch {
		case base.status(bt) == result.Passed && bad(cand.status(ct)):
			c.broke = append(c.broke, id)
		case bad(base.status(bt)) && cand.status(ct) == result.Passed:
			c.fixed = append(c.fixed, id)
		}
	}
	var onlyBase, onlyCand []int32
	for _, t := range byID {
		switch b, cr := base.ran(t), cand.ran(t); {
		case cr && !b:
			onlyCand = append(onlyCand, t)
		case b && !cr:
			onlyBase = append(onlyBase, t)
		case b:
			judge(t, t)
		}
	}
	masked := func(t int32) string { return runDependent.ReplaceAllString(base.rs.Tests[t].TestID, "…") }
	gone := map[string][]int32{}
	for _, t := range onlyBase {
		if k := masked(t); k != base.rs.Tests[t].TestID {
			gone[k] = append(gone[k], t)
		}
	}
	paired := map[int32]bool{}
	for _, t := range onlyCand {
		k := masked(t)
		if bs := gone[k]; len(bs) > 0 {
			gone[k] = bs[1:]
			c.pairs = append(c.pairs, [2]int32{bs[0], t})
			c.renamed = append(c.renamed, Renamed{Base: base.rs.Tests[bs[0]].TestID, Cand: base.rs.Tests[t].TestID})
			paired[bs[0]], paired[t] = true, true
			judge(bs[0], t)
			continue
		}
		c.added = append(c.added, base.rs.Tests[t].TestID)
	}
	for _, t := range onlyBase {
		if !paired[t] {
			c.removed = append(c.removed, base.rs.Tests[t].TestID)
		}
	}
	slices.Sort(c.broke)
	slices.Sort(c.fixed)
	return c
}

func bad(s result.Status) bool { return s == result.Failed || s == result.Incomplete }

// testsByID are the tests' indices, sorted by test ID.
func testsByID(rs *samples.Results) []int32 {
	out := make([]int32, len(rs.Tests))
	for i := range out {
		out[i] = int32(i)
	}
	slices.SortFunc(out, func(a, b int32) int { return strings.Compare(rs.Tests[a].TestID, rs.Tests[b].TestID) })
	return out
}

// samples collects, per test, each metric's finite values over the side's
// rows that go test did not serve from its cache, every run and attempt.
// Scores are not samples: a test's score follows from its metrics, and
// the score of a test without metrics is its status, whose changes are
// newly failing and fixed tests (and flakiness), not a drift to test for.
// Tests without samples have none.
func (s *side) samples(durations bool) map[int32]*testSamples {
	out := map[int32]*testSamples{}
	get := func(t int32) *testSamples {
		ts := out[t]
		if ts == nil {
			ts = &testSamples{bench: strings.HasPrefix(s.rs.Tests[t].GoTest, "Benchmark"),
				values: map[string][]float64{}, dirs: map[string]scoring.Direction{}, passed: map[string][]bool{}, assumed: map[string]bool{}}
			out[t] = ts
		}
		return ts
	}
	for _, i := range s.rows {
		r := &s.rs.Rows[i]
		if r.Cached {
			continue
		}
		for _, v := range s.rs.ValuesOf(int(i)) {
			if math.IsNaN(v.Value) || math.IsInf(v.Value, 0) {
				continue
			}
			k := s.rs.Metrics[v.Metric]
			ts := get(r.Test)
			ts.values[k.Key] = append(ts.values[k.Key], v.Value)
			if p := v.Verdict(); p != nil && !math.IsNaN(v.Threshold) {
				ts.passed[k.Key] = append(ts.passed[k.Key], *p)
			}
			ts.dirs[k.Key] = directionOf(k.Direction)
			ts.assumed[k.Key] = ts.assumed[k.Key] || k.Assumed
		}
		if durations && r.Status() == result.Passed && !strings.HasPrefix(s.rs.Tests[r.Test].GoTest, "Benchmark") {
			ts := get(r.Test)
			ts.values[DurationMetric] = append(ts.values[DurationMetric], r.DurationMS)
			ts.dirs[DurationMetric] = scoring.LowerIsBetter
		}
	}
	return out
}

// cached counts the side's rows go test served from its cache.
func (s *side) cached() int {
	n := 0
	for _, i := range s.rows {
		if s.rs.Rows[i].Cached {
			n++
		}
	}
	return n
}

// Load reads both sides' results from db and compares them.
func Load(ctx context.Context, db ResultReader, base, cand []model.EvaluationRun, opt Options) (Report, error) {
	// One Results for both sides, so that a test has one index; runs in
	// the order of their names, which is the order of test run IDs.
	var runs []model.EvaluationRun
	for _, r := range append(slices.Clone(base), cand...) {
		if !slices.ContainsFunc(runs, func(o model.EvaluationRun) bool { return o.ID == r.ID }) {
			runs = append(runs, r)
		}
	}
	slices.SortStableFunc(runs, func(a, b model.EvaluationRun) int { return cmp.Compare(a.EvaluationRunID, b.EvaluationRunID) })
	ids := make([]model.ID, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	rs := &samples.Results{Accumulate: true}
	if err := db.ReadResults(ctx, ids, rs); err != nil {
		return Report{}, err
	}
	return compareSides(base, cand, rs, rowsOf(rs, base), rowsOf(rs, cand), opt), nil
}

// rowsOf are the rows of rs that belong to runs.
func rowsOf(rs *samples.Results, runs []model.EvaluationRun) []int32 {
	in := make([]bool, len(rs.Runs))
	for _, r := range runs {
		if i := slices.Index(rs.Runs, r.ID); i >= 0 {
			in[i] = true
		}
	}
	var out []int32
	for i := range rs.Rows {
		if in[rs.Rows[i].Run] {
			out = append(out, int32(i))
		}
	}
	return out
}
