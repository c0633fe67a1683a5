package analytics

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/aclements/go-moremath/stats"
	"gonum.org/v1/gonum/stat"

	"evalrec.dev/store"
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

func (o ChangeOptions) withDefaults() ChangeOptions {
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
	opt = opt.withDefaults()
	n := len(xs)
	if n < 2*opt.MinSegment {
		return nil
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
		out[i] = ChangePoint{Index: c, Before: meanOf(xs[lo:c]), After: meanOf(xs[c:hi]), P: pooled(xs[lo:c], xs[c:hi])}
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
				d := meanOf(a) - meanOf(b)
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
		if meanOf(a) == meanOf(b) {
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

func meanOf(xs []float64) float64 { return stat.Mean(xs, nil) }

func varianceOf(xs []float64) float64 {
	m := meanOf(xs)
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
	Environment    string                `json:"environment"`
	Branch         *string               `json:"git_branch"`
	SystemInfoHash string                `json:"system_info_hash"`
	TestID         string                `json:"test_id"`
	Metric         string                `json:"metric"`
	Direction      string                `json:"direction"`
	DirectionKnown bool                  `json:"direction_known"`
	Runs           []store.EvaluationRun `json:"-"`
	Values         []float64             `json:"-"`
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

// BuildSeries turns runs (oldest first) and their test runs into series:
// per configuration (environment, branch, system hash), the run's score and
// metrics, and each test's score and metrics, a test's attempts in one run
// averaged. Results served from go test's cache are left out, as copies.
func BuildSeries(runs []store.EvaluationRun, tests []store.TestRun) []Series {
	type key struct {
		env, branch, hash, test, metric string
	}
	byKey := map[key]*Series{}
	var order []key
	add := func(r store.EvaluationRun, test, metric, dir string, known bool, v float64) {
		k := key{r.Environment, deref(r.GitBranch), r.SystemInfoHash, test, metric}
		s := byKey[k]
		if s == nil {
			s = &Series{Environment: r.Environment, Branch: r.GitBranch, SystemInfoHash: r.SystemInfoHash,
				TestID: test, Metric: metric, Direction: dir, DirectionKnown: known}
			byKey[k] = s
			order = append(order, k)
		}
		if n := len(s.Runs); n > 0 && s.Runs[n-1].ID == r.ID {
			return // averaged below
		}
		s.Runs = append(s.Runs, r)
		s.Values = append(s.Values, v)
	}
	byRun := map[[12]byte][]store.TestRun{}
	for _, t := range tests {
		if !t.Cached {
			byRun[t.EvaluationRunID] = append(byRun[t.EvaluationRunID], t)
		}
	}
	for _, r := range runs {
		if r.Score != nil {
			add(r, "", "score", "higher", true, *r.Score)
		}
		for _, m := range slices.Sorted(maps.Keys(r.Metrics)) {
			add(r, "", m, "", false, r.Metrics[m])
		}
		type point struct {
			values    []float64
			direction string
			known     bool
		}
		points := map[[2]string]*point{}
		collect := func(test, metric, dir string, known bool, v float64) {
			k := [2]string{test, metric}
			if points[k] == nil {
				points[k] = &point{direction: dir, known: known}
			}
			points[k].values = append(points[k].values, v)
		}
		for _, t := range byRun[r.ID] {
			if t.Score != nil {
				collect(t.TestID, "score", "higher", true, *t.Score)
			}
			for name, m := range t.Metrics {
				if m.Value != nil {
					collect(t.TestID, name, m.Direction, !m.Assumed, *m.Value)
				}
			}
		}
		keys := slices.SortedFunc(maps.Keys(points), func(a, b [2]string) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) })
		for _, k := range keys {
			p := points[k]
			add(r, k[0], k[1], p.direction, p.known, meanOf(p.values))
		}
	}
	out := make([]Series, len(order))
	for i, k := range order {
		out[i] = *byKey[k]
	}
	return out
}

// FindChanges finds the change points of every series. The direction of a
// run-level metric is taken from the test-level series of the same name.
func FindChanges(series []Series, opt ChangeOptions) []Change {
	opt = opt.withDefaults()
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
func ChangesOfRuns(runs []store.EvaluationRun, tests []store.TestRun, keep func(Series) bool, since time.Time, opt ChangeOptions) (nRuns, nSeries int, changes []Change) {
	finished := make([]store.EvaluationRun, 0, len(runs))
	for _, r := range slices.Backward(runs) {
		if r.Status != store.StatusRunning {
			finished = append(finished, r)
		}
	}
	series := BuildSeries(finished, tests)
	if keep != nil {
		series = slices.DeleteFunc(series, func(s Series) bool { return !keep(s) })
	}
	changes = slices.DeleteFunc(FindChanges(series, opt), func(c Change) bool { return !since.IsZero() && c.At.Before(since) })
	if changes == nil {
		changes = []Change{}
	}
	return len(finished), len(series), changes
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
