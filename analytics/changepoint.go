package analytics

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/aclements/go-moremath/stats"

	"evalrec.dev/model"
	"evalrec.dev/samples"
)

// ChangeOptions tune change-point detection. The zero value uses the
// defaults.
type ChangeOptions struct {
	// P is the largest p-value a change point may have. Default 0.0001:
	// the split tested is the one that looks most like a change, which
	// makes the test's p-value optimistic, and a suite has hundreds of
	// series. On generated series of 120 points (bench/changes) 0.001,
	// the value Hunter uses, found a change point in 2.2% of unchanged
	// series, and 0.0001 in 0.3%, for a recall of 0.98 against 0.99 at 3σ
	// changes.
	P float64
	// MinSegment is the fewest points on either side of a change point.
	// Default 3: a lone outlier is not a change.
	MinSegment int
	// Confirm is how many points after a change point confirm it: one
	// with fewer, at the newest end of its series, is tentative, and is
	// not posted by -notify. Default 5: three tight points after a change
	// pass the t-test with a tiny p-value, and the newest end is what a
	// nightly job posts.
	Confirm int
}

// WithDefaults is o with each zero field set to its default.
func (o ChangeOptions) WithDefaults() ChangeOptions {
	if o.P <= 0 {
		o.P = 0.0001
	}
	if o.MinSegment <= 0 {
		o.MinSegment = 3
	}
	if o.Confirm <= 0 {
		o.Confirm = 5
	}
	return o
}

// RunsNeeded is how many runs of one configuration a change point needs:
// MinSegment on each side of it.
func (o ChangeOptions) RunsNeeded() int { return 2 * o.WithDefaults().MinSegment }

// A ChangePoint is a lasting change in a series: the values from Index on
// differ from those before it.
type ChangePoint struct {
	Index int `json:"index"` // the first point after the change
	// Before and After are the means of the segments on either side,
	// bounded by the neighbouring change points.
	Before float64 `json:"before"`
	After  float64 `json:"after"`
	// P is the p-value of the pooled t-test between the two segments.
	P float64 `json:"p"`
}

// Relative is After/Before − 1, or ±Inf when Before is 0.
func (c ChangePoint) Relative() float64 {
	if c.Before == 0 {
		return math.Copysign(math.Inf(1), c.After)
	}
	return c.After/c.Before - 1
}

// ChangePoints finds the change points of a series, oldest point first.
//
// The method is E-divisive means (Matteson and James, 2014): of all the
// splits of a segment, the one that best separates the distributions of
// the two sides is the one whose energy statistic Q is largest. Q compares
// every pair of points across the split with the pairs within each side,
// so it sees a change in level, spread or shape, not only in the mean.
// Where the original tests each split with a permutation test, this tests
// it with Student's t-test between the segments, their variance pooled:
// deterministic, and fast enough to run over every metric of every test at
// each run. (Hunter, Fleming et al. 2023, uses Welch's test; it takes a
// short segment's own spread at its word, and three tight points at an end
// of a flat series pass it.) A split whose p-value is below opt.P is kept,
// and both sides are split again. Where no lasting split is significant, a
// stretch of opt.Confirm points or more that differs from both its sides
// (a bump) is looked for, as E-divisive's second end point does, and held
// to opt.P / n², n the segment's length: it was chosen among about n².
//
// Assumptions, named: within a segment the points are independent and
// their means are what the t-test judges; a change in spread alone is
// located by Q but confirmed only if the means differ too.
func ChangePoints(xs []float64, opt ChangeOptions) []ChangePoint {
	opt = opt.WithDefaults()
	n := len(xs)
	if n < 2*opt.MinSegment || slices.Min(xs) == slices.Max(xs) {
		return nil // a constant series (a test that always scored 100) has none
	}
	e := newEnergy(xs)
	var cuts []int
	var split func(lo, hi int)
	split = func(lo, hi int) {
		if hi-lo < 2*opt.MinSegment {
			return
		}
		best, bestQ := -1, 0.0
		for t := lo + opt.MinSegment; t <= hi-opt.MinSegment; t++ {
			if q := e.q(lo, t, hi); q > bestQ {
				best, bestQ = t, q
			}
		}
		if best >= 0 && pooled(xs[lo:best], xs[best:hi]) < opt.P {
			cuts = append(cuts, best)
			split(lo, best)
			split(best, hi)
			return
		}
		// No lasting change: look for a stretch that differs from what is
		// on both sides of it (a bump), as E-divisive's second end point
		// does: the best [t, k) by Q against what precedes it.
		// A bump lasts opt.Confirm points at least: shorter, a few outliers
		// of heavy-tailed noise look like one.
		bt, bk, bq := -1, -1, 0.0
		for t := lo + opt.MinSegment; t <= hi-opt.Confirm-opt.MinSegment; t++ {
			for k := t + opt.Confirm; k <= hi-opt.MinSegment; k++ {
				if q := e.q(lo, t, k); q > bq {
					bt, bk, bq = t, k, q
				}
			}
		}
		if bt < 0 {
			return
		}
		// The stretch was chosen among O(n²) of them, so its test is held
		// to P/n².
		rest := append(slices.Clone(xs[lo:bt]), xs[bk:hi]...)
		if w := float64(hi - lo); pooled(xs[bt:bk], rest) >= opt.P/(w*w) {
			return
		}
		cuts = append(cuts, bt, bk)
		split(lo, bt)
		split(bt, bk)
		split(bk, hi)
	}
	split(0, n)
	slices.Sort(cuts)
	cuts = refine(xs, cuts, opt)
	out := make([]ChangePoint, len(cuts))
	for i, c := range cuts {
		lo, hi := 0, n
		if i > 0 {
			lo = cuts[i-1]
		}
		if i+1 < len(cuts) {
			hi = cuts[i+1]
		}
		out[i] = ChangePoint{Index: c, Before: stats.Mean(xs[lo:c]), After: stats.Mean(xs[c:hi]), P: pooled(xs[lo:c], xs[c:hi])}
	}
	return out
}

// refine settles the cuts that splitting found against their final
// neighbours, as Hunter's merge step does. Each cut moves to where, between
// the cuts either side of it and within 5 points of where it was, the two
// means explain most of the variance (the least-squares location of a
// change of level; Q locates by distribution, and is a few points off more
// often). Then the cut whose t-test against its neighbouring segments is
// weakest goes while its p-value is above opt.P: a split made inside a
// segment that a later cut divided may no longer stand between the
// segments it ends up separating. Refining repeats until nothing moves.
func refine(xs []float64, cuts []int, opt ChangeOptions) []int {
	bounds := func(i int) (int, int) {
		lo, hi := 0, len(xs)
		if i > 0 {
			lo = cuts[i-1]
		}
		if i+1 < len(cuts) {
			hi = cuts[i+1]
		}
		return lo, hi
	}
	for range 20 {
		moved := false
		for i, c := range cuts {
			lo, hi := bounds(i)
			best, bestGain := c, -1.0
			for t := max(lo+opt.MinSegment, c-5); t <= min(hi-opt.MinSegment, c+5); t++ {
				a, b := xs[lo:t], xs[t:hi]
				d := stats.Mean(a) - stats.Mean(b)
				if g := float64(len(a)*len(b)) / float64(len(a)+len(b)) * d * d; g > bestGain {
					best, bestGain = t, g
				}
			}
			if best != c {
				cuts[i], moved = best, true
			}
		}
		weakest, weakestP := -1, opt.P
		for i, c := range cuts {
			lo, hi := bounds(i)
			if p := pooled(xs[lo:c], xs[c:hi]); p > weakestP {
				weakest, weakestP = i, p
			}
		}
		if weakest >= 0 {
			cuts = slices.Delete(cuts, weakest, weakest+1)
			moved = true
		}
		if !moved {
			break
		}
	}
	return cuts
}

// pooled is the two-sided p-value of Student's t-test between a and b,
// with the variance pooled over both: a short segment of tight points
// borrows the spread of the long one, where Welch's test would take its
// own, tiny, spread at its word.
func pooled(a, b []float64) float64 {
	r, err := stats.TwoSampleTTest(stats.Sample{Xs: a}, stats.Sample{Xs: b}, stats.LocationDiffers)
	if err != nil || math.IsNaN(r.P) {
		return welch(a, b)
	}
	return r.P
}

// welch is the two-sided p-value of Welch's t-test between a and b: 0 when
// both are constant and differ, 1 when they are equal.
func welch(a, b []float64) float64 {
	r, err := stats.TwoSampleWelchTTest(stats.Sample{Xs: a}, stats.Sample{Xs: b}, stats.LocationDiffers)
	if err != nil || math.IsNaN(r.P) {
		if stats.Mean(a) == stats.Mean(b) {
			return 1
		}
		if varianceOf(a) == 0 && varianceOf(b) == 0 {
			return 0
		}
		return 1
	}
	return r.P
}

// energy holds prefix sums of the pairwise distances |x_i − x_j|, so that
// the sum of distances over any block of pairs, and so Q, costs O(1).
type energy struct {
	n int
	s []float64 // s[(i)*(n+1)+j] = Σ_{a<i, b<j} |x_a − x_b|
}

func newEnergy(xs []float64) *energy {
	n := len(xs)
	e := &energy{n: n, s: make([]float64, (n+1)*(n+1))}
	for i := 1; i <= n; i++ {
		row := 0.0
		for j := 1; j <= n; j++ {
			row += math.Abs(xs[i-1] - xs[j-1])
			e.s[i*(n+1)+j] = e.s[(i-1)*(n+1)+j] + row
		}
	}
	return e
}

// block is Σ |x_a − x_b| for a in [a0, a1) and b in [b0, b1).
func (e *energy) block(a0, a1, b0, b1 int) float64 {
	w := e.n + 1
	return e.s[a1*w+b1] - e.s[a0*w+b1] - e.s[a1*w+b0] + e.s[a0*w+b0]
}

// q is the energy statistic of splitting [lo, hi) at t (Székely and
// Rizzo's divergence with exponent 1, scaled by nm/(n+m)).
func (e *energy) q(lo, t, hi int) float64 {
	n, m := float64(t-lo), float64(hi-t)
	between := e.block(lo, t, t, hi) / (n * m)
	within1 := e.block(lo, t, lo, t) / (n * (n - 1)) // ordered pairs: twice each pair
	within2 := e.block(t, hi, t, hi) / (m * (m - 1))
	return n * m / (n + m) * (2*between - within1 - within2)
}

func varianceOf(xs []float64) float64 {
	m := stats.Mean(xs)
	var s float64
	for _, x := range xs {
		s += (x - m) * (x - m)
	}
	return s
}

// A Series is one history to look for changes in: a metric (or the score)
// of a test, or of the run itself (TestID ""), in one configuration, one
// point per run, oldest first.
type Series struct {
	Environment    string                 `json:"environment"`
	Branch         *string                `json:"git_branch"`
	SystemInfoHash string                 `json:"system_info_hash"`
	TestID         string                 `json:"test_id"`
	Metric         string                 `json:"metric"`
	Direction      string                 `json:"direction"`
	DirectionKnown bool                   `json:"direction_known"`
	Runs           []*model.EvaluationRun `json:"-"`
	Values         []float64              `json:"-"`
}

// A Change is a change point of a series, with the first run after it.
type Change struct {
	Series
	ChangePoint
	Run     string    `json:"run"` // evaluation_run_id
	Commit  *string   `json:"git_commit"`
	At      time.Time `json:"started_at"`
	Verdict string    `json:"verdict"` // regression or improvement
	// Tentative says too few points follow the change to confirm it
	// (ChangeOptions.Confirm): it is shown, not posted.
	Tentative bool `json:"tentative"`
}

// BuildSeries turns runs (oldest first) and their results into series: per
// configuration (environment, branch, system hash), the run's score and
// metrics, and each test's score and metrics, a test's attempts in one run
// averaged. Results served from go test's cache are left out, as copies.
// Series are ordered by the run they start in, and within a run the run's
// own first, then by test ID and metric; the stream may yield the runs in
// any order.
func BuildSeries(runs []model.EvaluationRun, results samples.ResultStream) ([]Series, error) {
	type point struct {
		run int32 // position in runs
		n   int32
		sum float64
	}
	// A series' rank orders it among those starting in the same run: the
	// run's score, then its metrics, then tests' series.
	const (
		runScore = iota
		runMetric
		testSeries
	)
	type acc struct {
		Series
		rank   int
		points []point
	}
	var all []*acc
	// newAcc starts a series at runs[at]. Its points grow as runs add
	// them, rather than one a run of the window up front: a test seen in 3
	// runs of 33 holds 4, not 33 (evalrec changes on 30 runs of 50,000
	// tests and 3 of 50,000 others peaked at 160 MB and took 0.86 s; now
	// 140-144 MB and 0.6 s, the same output).
	newAcc := func(rank int, at int32, test, metric, dir string, known bool) *acc {
		r := &runs[at]
		a := &acc{Series: Series{Environment: r.Environment, Branch: r.GitBranch, SystemInfoHash: r.SystemInfoHash,
			TestID: test, Metric: metric, Direction: dir, DirectionKnown: known}, rank: rank}
		all = append(all, a)
		return a
	}
	add := func(a *acc, pos int32, v float64) {
		if n := len(a.points); n > 0 && a.points[n-1].run == pos {
			a.points[n-1].sum += v // another attempt in the same run
			a.points[n-1].n++
			return
		}
		a.points = append(a.points, point{run: pos, n: 1, sum: v})
	}
	type config struct{ env, branch, hash string }
	type runKey struct {
		config
		metric string
	}
	own := map[runKey]*acc{}
	pos := make(map[[12]byte]int32, len(runs))
	for i := range runs {
		r := &runs[i]
		pos[r.ID] = int32(i)
		c := config{r.Environment, deref(r.GitBranch), r.SystemInfoHash}
		if r.Score != nil {
			k := runKey{c, "\x00score"}
			if own[k] == nil {
				own[k] = newAcc(runScore, int32(i), "", "score", "higher", true)
			}
			add(own[k], int32(i), *r.Score)
		}
		for _, m := range slices.Sorted(maps.Keys(r.Metrics)) {
			k := runKey{c, m}
			if own[k] == nil {
				own[k] = newAcc(runMetric, int32(i), "", m, "", false)
			}
			add(own[k], int32(i), r.Metrics[m])
		}
	}

	// Tests' series, per configuration: scores by test, metrics by test
	// and metric. The same stored key is one metric, whatever its name or
	// direction said (the first seen says those).
	type ofTests struct {
		scores  []*acc
		metrics map[[2]int32]*acc
	}
	byConfig := map[config]*ofTests{}
	var canonical []int32
	first := map[string]int32{}
	err := results(func(rs *samples.Results) error {
		for i := len(canonical); i < len(rs.Metrics); i++ {
			c, ok := first[rs.Metrics[i].Key]
			if !ok {
				c = int32(i)
				first[rs.Metrics[i].Key] = c
			}
			canonical = append(canonical, c)
		}
		p, ok := pos[rs.Runs[rs.Current()]]
		if !ok {
			return nil
		}
		r := &runs[p]
		c := config{r.Environment, deref(r.GitBranch), r.SystemInfoHash}
		ts := byConfig[c]
		if ts == nil {
			ts = &ofTests{metrics: map[[2]int32]*acc{}}
			byConfig[c] = ts
		}
		if n := len(rs.Tests) - len(ts.scores); n > 0 {
			ts.scores = append(ts.scores, make([]*acc, n)...)
		}
		for i := range rs.Rows {
			t := &rs.Rows[i]
			if t.Cached {
				continue
			}
			if t.HasScore() {
				a := ts.scores[t.Test]
				if a == nil {
					a = newAcc(testSeries, p, rs.Tests[t.Test].TestID, "score", "higher", true)
					ts.scores[t.Test] = a
				}
				add(a, p, t.Score)
			}
			for _, v := range rs.ValuesOf(i) {
				if math.IsNaN(v.Value) || math.IsInf(v.Value, 0) {
					continue // not finite: stored as null
				}
				k := [2]int32{t.Test, canonical[v.Metric]}
				a := ts.metrics[k]
				if a == nil {
					m := rs.Metrics[v.Metric]
					a = newAcc(testSeries, p, rs.Tests[t.Test].TestID, rs.Metrics[k[1]].Key, m.Direction, !m.Assumed)
					ts.metrics[k] = a
				}
				add(a, p, v.Value)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, a := range all {
		slices.SortStableFunc(a.points, func(x, y point) int { return cmp.Compare(x.run, y.run) })
	}
	// A series starts where its first point is; within a run, by rank,
	// then by test ID and metric.
	slices.SortStableFunc(all, func(x, y *acc) int {
		return cmp.Or(cmp.Compare(x.points[0].run, y.points[0].run), cmp.Compare(x.rank, y.rank),
			cmp.Compare(x.TestID, y.TestID), cmp.Compare(x.Metric, y.Metric))
	})
	out := make([]Series, len(all))
	for i, a := range all {
		a.Runs = make([]*model.EvaluationRun, len(a.points))
		a.Values = make([]float64, len(a.points))
		for j, p := range a.points {
			a.Runs[j], a.Values[j] = &runs[p.run], p.sum/float64(p.n)
		}
		out[i] = a.Series
		all[i] = nil // what is built replaces it as the loop goes
	}
	return out, nil
}

// FindChanges finds the change points of every series. The direction of a
// run-level metric is taken from the test-level series of the same name.
func FindChanges(series []Series, opt ChangeOptions) []Change {
	opt = opt.WithDefaults()
	dirs := map[string]Series{}
	for _, s := range series {
		if s.TestID != "" && s.DirectionKnown {
			dirs[s.Metric] = s
		}
	}
	var out []Change
	for _, s := range series {
		if s.TestID == "" && s.Direction == "" {
			if d, ok := dirs[s.Metric]; ok {
				s.Direction, s.DirectionKnown = d.Direction, true
			} else {
				s.Direction = "higher"
			}
		}
		for _, cp := range ChangePoints(s.Values, opt) {
			r := s.Runs[cp.Index]
			c := Change{Series: s, ChangePoint: cp, Run: r.EvaluationRunID, Commit: r.GitCommit, At: r.StartedAt, Verdict: "improvement",
				Tentative: len(s.Values)-cp.Index < opt.Confirm}
			if (cp.After < cp.Before) == (s.Direction != "lower") {
				c.Verdict = "regression"
			}
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b Change) int { return b.At.Compare(a.At) })
	return out
}

// ChangesOfRuns finds the change points in runs as the store lists them
// (newest first) and their test runs: runs still running are left out,
// keep (when set) chooses the series, and changes before since (when set)
// are dropped; the history before since is still what tells them. It
// returns how many runs and series it looked at, and the changes, newest
// first, never nil.
func ChangesOfRuns(runs []model.EvaluationRun, results samples.ResultStream, keep func(Series) bool, since time.Time, opt ChangeOptions) (nRuns, nSeries int, changes []Change, err error) {
	finished := make([]model.EvaluationRun, 0, len(runs))
	for _, r := range slices.Backward(runs) {
		if r.Status != model.StatusRunning {
			finished = append(finished, r)
		}
	}
	series, err := BuildSeries(finished, results)
	if err != nil {
		return 0, 0, nil, err
	}
	if keep != nil {
		series = slices.DeleteFunc(series, func(s Series) bool { return !keep(s) })
	}
	changes = slices.DeleteFunc(FindChanges(series, opt), func(c Change) bool { return !since.IsZero() && c.At.Before(since) })
	if changes == nil {
		changes = []Change{}
	}
	return len(finished), len(series), changes, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
