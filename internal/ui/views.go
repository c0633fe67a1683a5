package ui

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"evalrec.dev/analytics"
	"evalrec.dev/compare"
	"evalrec.dev/internal/config"
	"evalrec.dev/internal/timespec"
	"evalrec.dev/model"
	"evalrec.dev/result"
	"evalrec.dev/samples"
	"evalrec.dev/store"
)

// Chart is what app.js draws: x in Unix seconds, a series per line (or
// per set of points), bands between two series, and marks (change points).
type Chart struct {
	Title  string   `json:"title"`
	YLabel string   `json:"y_label"`
	X      []int64  `json:"x"`
	Series []Series `json:"series"`
	Bands  [][2]int `json:"bands,omitempty"` // uPlot series indexes (1-based), upper then lower
	Marks  []Mark   `json:"marks,omitempty"`
}

// filled is c with empty lists where it has none, so that app.js (and a
// JSON reader) always meets arrays, never null.
func (c Chart) filled() Chart {
	if c.X == nil {
		c.X = []int64{}
	}
	if c.Series == nil {
		c.Series = []Series{}
	}
	c.Series = slices.Clone(c.Series)
	for i := range c.Series {
		if c.Series[i].Values == nil {
			c.Series[i].Values = []*float64{}
		}
	}
	return c
}

// Series is one line of a chart; nil values are gaps.
type Series struct {
	Label      string     `json:"label"`
	Values     []*float64 `json:"values"`
	Color      string     `json:"color,omitempty"`
	PointsOnly bool       `json:"points_only,omitempty"`
	Band       bool       `json:"band,omitempty"`
}

// Mark is a vertical line at X, labelled.
type Mark struct {
	X     int64  `json:"x"`
	Label string `json:"label"`
}

func ptr(f float64) *float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}

// markChanges marks the change points of values (oldest first) on c.
func markChanges(c *Chart, values []float64, xs []int64, label string) {
	for _, cp := range analytics.ChangePoints(values, analytics.ChangeOptions{}) {
		c.Marks = append(c.Marks, Mark{X: xs[cp.Index], Label: fmt.Sprintf("%s %s → %s", label, trim(cp.Before), trim(cp.After))})
	}
}

func trim(f float64) string { return strconv.FormatFloat(f, 'g', 4, 64) }

// runFilter reads the filters every list page takes.
func (s *Server) runFilter(r *http.Request, limit int64) (store.RunFilter, error) {
	q := r.URL.Query()
	f := store.RunFilter{Project: s.scope(r), Branch: q.Get("branch"), Environment: q.Get("env"),
		Status: q.Get("status"), Tags: config.ParseTags(q.Get("tag")), Limit: limit}
	if v := q.Get("since"); v != "" {
		t, err := timespec.Since(v, time.Now())
		if err != nil {
			return f, errBadRequest{fmt.Errorf("since=%q: %w", v, err)}
		}
		f.Since = t
	}
	if v := q.Get("before"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return f, errBadRequest{fmt.Errorf("before=%q: want an RFC 3339 time", v)}
		}
		f.Until = t
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return f, errBadRequest{fmt.Errorf("limit=%q: want 1 to 1000", v)}
		}
		f.Limit = int64(n)
	}
	return f, nil
}

// RunRow is a run in a list.
type RunRow struct {
	ID              string    `json:"id"`
	EvaluationRunID string    `json:"evaluation_run_id"`
	StartedAt       time.Time `json:"started_at"`
	Status          string    `json:"status"`
	Outcome         Outcome   `json:"outcome"`
	Score           *float64  `json:"score"`
	Passed          int       `json:"passed"`
	Failed          int       `json:"failed"`
	Skipped         int       `json:"skipped"`
	Branch          string    `json:"git_branch"`
	Commit          string    `json:"git_commit"`
	Environment     string    `json:"environment"`
	Tags            []string  `json:"experiment_tags"`
	Project         string    `json:"project"`
}

// Outcome is what a run's tests came to, beside its lifecycle status: a
// completed run whose tests failed is "3 failed", not a green "completed".
type Outcome struct {
	Label string `json:"label"`
	Class string `json:"class"` // passed, failed, skipped or running
}

func outcomeOf(r *model.EvaluationRun) Outcome {
	failed := r.NumFailed + r.NumIncomplete
	switch {
	case r.Status == model.StatusRunning:
		return Outcome{"running", "running"}
	case failed > 0:
		return Outcome{fmt.Sprintf("%d failed", failed), "failed"}
	case r.Status == model.StatusFailed:
		return Outcome{"run failed", "failed"}
	case r.NumPassed == 0 && r.NumSkipped > 0:
		return Outcome{"all skipped", "skipped"}
	case r.NumPassed == 0:
		return Outcome{"no tests", "skipped"}
	}
	return Outcome{"passed", "passed"}
}

func rowOf(r model.EvaluationRun) RunRow {
	return RunRow{ID: r.ID.Hex(), EvaluationRunID: r.EvaluationRunID, StartedAt: r.StartedAt, Status: r.Status, Outcome: outcomeOf(&r), Score: r.Score,
		Passed: r.NumPassed, Failed: r.NumFailed + r.NumIncomplete, Skipped: r.NumSkipped, Branch: deref(r.GitBranch),
		Commit: deref(r.GitCommit), Environment: r.Environment, Tags: r.ExperimentTags, Project: r.Project}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// RunsView is the runs page.
type RunsView struct {
	Runs  []RunRow `json:"runs"`
	Chart Chart    `json:"chart"`
	// Next is the URL of the next (older) page, "" on the last.
	Next string `json:"next"`
}

const pageSize = 50

func (s *Server) runs(r *http.Request) (any, error) {
	f, err := s.runFilter(r, pageSize)
	if err != nil {
		return nil, err
	}
	page := int(f.Limit)
	f.Limit++ // one more tells whether there is a next page
	runs, err := s.db.Runs(r.Context(), f)
	if err != nil {
		return nil, err
	}
	v := RunsView{Runs: []RunRow{}}
	if len(runs) > page {
		runs = runs[:page]
		q := r.URL.Query()
		q.Set("before", runs[len(runs)-1].StartedAt.Format(time.RFC3339Nano))
		v.Next = "/runs?" + q.Encode()
	}
	for _, run := range runs {
		v.Runs = append(v.Runs, rowOf(run))
	}
	v.Chart = Chart{Title: "score of these runs", YLabel: "score"}
	passed, failed := Series{Label: "score (completed)", PointsOnly: true, Color: "#16a34a"}, Series{Label: "score (failed)", PointsOnly: true, Color: "#dc2626"}
	line := Series{Label: "score", Color: "#2563eb"}
	for _, run := range slices.Backward(runs) {
		v.Chart.X = append(v.Chart.X, run.StartedAt.Unix())
		line.Values = append(line.Values, run.Score)
		if run.Status == model.StatusFailed {
			passed.Values, failed.Values = append(passed.Values, nil), append(failed.Values, run.Score)
		} else {
			passed.Values, failed.Values = append(passed.Values, run.Score), append(failed.Values, nil)
		}
	}
	v.Chart.Series = []Series{line, passed, failed}
	return v, nil
}

// RunView is one run.
type RunView struct {
	Run     model.EvaluationRun `json:"run"`
	Outcome Outcome             `json:"outcome"`
	Metrics []MetricRow         `json:"metrics"`
	Tests   []model.TestRun     `json:"tests"`
	// TestsTotal counts the run's tests; Tests lists at most maxTests
	// of them, failures first, unless all were asked for.
	TestsTotal int           `json:"tests_total"`
	Failures   []Failure     `json:"failures"`
	Previous   *compare.Diff `json:"-"`
	Changes    *DiffView     `json:"previous"`
}

// MetricRow is a run's metric with its statistics across the run's tests.
type MetricRow struct {
	Name  string             `json:"name"`
	Value float64            `json:"value"`
	Stats *model.MetricStats `json:"stats"`
}

// Failure is a failed test's output.
type Failure struct {
	TestID string `json:"test_id"`
	Output string `json:"output"`
}

// DiffView is a run's comparison with the previous comparable run.
type DiffView struct {
	Base         string   `json:"base"`
	ScoreDelta   *float64 `json:"score_delta"`
	NewTests     []string `json:"new_tests"`
	RemovedTests []string `json:"removed_tests"`
	NewlyFailing []string `json:"newly_failing"`
	Fixed        []string `json:"fixed"`
	// Renamed counts the tests compared across a change of name (see
	// compare.Renamed).
	Renamed int `json:"renamed_tests,omitempty"`
}

// maxFailures is how many failed tests' output a run page shows, and
// maxTests how many of its tests it lists, failures first (?tests=all
// lists them all): 50,000 rows made a page of 10 MB that took 5 s.
const (
	maxFailures = 20
	maxTests    = 1000
)

func (s *Server) run(r *http.Request) (any, error) {
	run, err := s.db.ResolveRun(r.Context(), r.PathValue("ref"), store.RunFilter{Project: s.scope(r)})
	if err != nil {
		return nil, err
	}
	return s.oneAtATime(r.Context(), func() (any, error) { return s.runView(r.Context(), run, r.URL.Query().Get("tests") == "all") })
}

// runView reads what a run's page shows.
func (s *Server) runView(ctx context.Context, run *model.EvaluationRun, allTests bool) (*RunView, error) {
	// The tests as the run's results hold them, in test run ID order: one
	// value read instead of a document a test, and a test run built only
	// for the rows the page lists. The previous comparable run's results
	// are read with them, for what changed since.
	ids := []model.ID{run.ID}
	prev, err := s.db.PreviousComparable(ctx, run)
	if err == nil {
		ids = append(ids, prev.ID)
	}
	rs := &samples.Results{KeepIDs: true, Accumulate: true}
	if err := s.db.ReadResults(ctx, ids, rs); err != nil {
		return nil, err
	}
	var rows []int
	for i := range rs.Rows {
		if rs.Runs[rs.Rows[i].Run] == run.ID {
			rows = append(rows, i)
		}
	}
	slices.SortFunc(rows, func(a, b int) int { return strings.Compare(rs.TestRunID(a), rs.TestRunID(b)) })
	failed := func(i int) bool { st := rs.Rows[i].Status(); return st == result.Failed || st == result.Incomplete }

	v := RunView{Run: *run, Outcome: outcomeOf(run), TestsTotal: len(rows), Metrics: []MetricRow{}, Failures: []Failure{}}
	for _, name := range slices.Sorted(maps.Keys(run.Metrics)) {
		row := MetricRow{Name: name, Value: run.Metrics[name]}
		if st, ok := run.MetricStats[name]; ok {
			row.Stats = &st
		}
		v.Metrics = append(v.Metrics, row)
	}
	for _, i := range rows {
		if failed(i) && len(v.Failures) < maxFailures {
			out, err := s.db.TestOutput(ctx, rs.TestRunID(i))
			if err != nil {
				return nil, err
			}
			v.Failures = append(v.Failures, Failure{TestID: rs.Tests[rs.Rows[i].Test].TestID, Output: out})
		}
	}
	if prev != nil {
		d := compare.RunsOf(prev, run, rs)
		dv := &DiffView{Base: prev.EvaluationRunID, NewTests: d.NewTests, RemovedTests: d.RemovedTests, NewlyFailing: d.NewlyFailing, Fixed: d.Fixed, Renamed: len(d.Renamed)}
		if sd, ok := d.ScoreDelta(); ok {
			dv.ScoreDelta = &sd
		}
		v.Changes = dv
	}
	if !allTests && len(rows) > maxTests {
		slices.SortStableFunc(rows, func(a, b int) int {
			switch fa, fb := failed(a), failed(b); {
			case fa && !fb:
				return -1
			case fb && !fa:
				return 1
			}
			return 0
		})
		rows = rows[:maxTests]
	}
	v.Tests = make([]model.TestRun, len(rows))
	for k, i := range rows {
		v.Tests[k] = rs.TestRun(i, true)
	}
	return &v, nil
}

// HistoryView is a test's history.
type HistoryView struct {
	TestID   string          `json:"test_id"`
	TestName string          `json:"test_name"`
	Runs     []model.TestRun `json:"history"`
	Charts   []Chart         `json:"charts"`
}

func (s *Server) history(r *http.Request) (any, error) {
	id := r.URL.Query().Get("test")
	if id == "" {
		return nil, errBadRequest{fmt.Errorf("history needs ?test=TEST_ID")}
	}
	f, err := s.runFilter(r, 200)
	if err != nil {
		return nil, err
	}
	trs, err := s.db.TestHistory(r.Context(), id, store.HistoryFilter{Project: f.Project, Environment: f.Environment, Branch: f.Branch, Since: f.Since, Limit: f.Limit})
	if err != nil {
		return nil, err
	}
	if len(trs) == 0 {
		return nil, fmt.Errorf("%w: no runs of test %q", errNotFound, id)
	}
	v := HistoryView{TestID: id, TestName: trs[0].TestName, Runs: trs}
	oldest := slices.Clone(trs)
	slices.Reverse(oldest)
	// One chart for the score, with passes and failures marked, and one per
	// metric, each with a line per environment.
	envs := map[string]bool{}
	metrics := map[string]bool{}
	for _, t := range oldest {
		envs[t.Environment] = true
		for k := range t.Metrics {
			metrics[k] = true
		}
	}
	xs := make([]int64, len(oldest))
	for i, t := range oldest {
		xs[i] = t.FinishedAt.Unix()
	}
	score := Chart{Title: "score", YLabel: "score", X: xs}
	var scores []float64
	for _, env := range slices.Sorted(maps.Keys(envs)) {
		line := Series{Label: "score " + env}
		for _, t := range oldest {
			if t.Environment == env {
				line.Values = append(line.Values, t.Score)
			} else {
				line.Values = append(line.Values, nil)
			}
		}
		score.Series = append(score.Series, line)
	}
	passed, failed := Series{Label: "passed", PointsOnly: true, Color: "#16a34a"}, Series{Label: "failed", PointsOnly: true, Color: "#dc2626"}
	for _, t := range oldest {
		if t.Score != nil {
			scores = append(scores, *t.Score)
		}
		if t.Status == "passed" {
			passed.Values, failed.Values = append(passed.Values, t.Score), append(failed.Values, nil)
		} else {
			failed.Values, passed.Values = append(failed.Values, cmp.Or(t.Score, ptr(0))), append(passed.Values, nil)
		}
	}
	score.Series = append(score.Series, passed, failed)
	if len(scores) == len(oldest) {
		markChanges(&score, scores, xs, "change")
	}
	v.Charts = append(v.Charts, score)
	for _, m := range slices.Sorted(maps.Keys(metrics)) {
		c := Chart{Title: m, YLabel: m, X: xs}
		var all []float64
		for _, env := range slices.Sorted(maps.Keys(envs)) {
			line := Series{Label: m + " " + env}
			for _, t := range oldest {
				md, ok := t.Metrics[m]
				if ok && t.Environment == env && md.Value != nil {
					line.Values = append(line.Values, md.Value)
				} else {
					line.Values = append(line.Values, nil)
				}
			}
			c.Series = append(c.Series, line)
		}
		for _, t := range oldest {
			if md, ok := t.Metrics[m]; ok && md.Value != nil {
				all = append(all, *md.Value)
			}
		}
		if len(all) == len(oldest) {
			markChanges(&c, all, xs, "change")
		}
		v.Charts = append(v.Charts, c)
	}
	return v, nil
}

// TrendView is a metric per day or week.
type TrendView struct {
	Metric  string                 `json:"metric"`
	By      string                 `json:"by"`
	Metrics []string               `json:"metrics"`
	Points  []analytics.TrendPoint `json:"points"`
	Chart   Chart                  `json:"chart"`
}

func (s *Server) trend(r *http.Request) (any, error) {
	q := r.URL.Query()
	metric, by := cmp.Or(q.Get("metric"), "score"), cmp.Or(q.Get("by"), "day")
	if by != "day" && by != "week" {
		return nil, errBadRequest{fmt.Errorf("by=%q: want day or week", by)}
	}
	f, err := s.runFilter(r, 0)
	if err != nil {
		return nil, err
	}
	if f.Since.IsZero() {
		f.Since = time.Now().AddDate(0, 0, -90)
	}
	runs, err := s.db.Runs(r.Context(), f)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{"score": true}
	for _, run := range runs {
		for k := range run.Metrics {
			names[k] = true
		}
	}
	points := analytics.Trend(runs, metric, by)
	v := TrendView{Metric: metric, By: by, Metrics: slices.Sorted(maps.Keys(names)), Points: points}
	v.Chart = trendChart(runs, points, metric, by)
	return v, nil
}

// trendChart draws points: a mean line with a band from min to max, per
// bucket. When some bucket holds more than one run (on day one, say), it
// draws every run as a point at its own time, over its bucket's mean and
// band, so a few runs are not one dot at the chart's edge.
func trendChart(runs []model.EvaluationRun, points []analytics.TrendPoint, metric, by string) Chart {
	c := Chart{Title: fmt.Sprintf("%s per %s: mean, and the band from min to max", metric, by), YLabel: metric}
	mean, hi, lo := Series{Label: "mean"}, Series{Label: "max", Band: true}, Series{Label: "min", Band: true}
	c.Bands = [][2]int{{2, 3}}
	var values []float64
	for _, p := range points {
		values = append(values, p.Mean)
	}
	xs := make([]int64, 0, len(points))
	perRun := 0
	for _, p := range points {
		perRun += p.Runs
	}
	if perRun == len(points) {
		for _, p := range points {
			xs = append(xs, p.Start.Unix())
			mean.Values, hi.Values, lo.Values = append(mean.Values, ptr(p.Mean)), append(hi.Values, ptr(p.Max)), append(lo.Values, ptr(p.Min))
		}
		c.X, c.Series = xs, []Series{mean, hi, lo}
		markChanges(&c, values, xs, "change")
		return c
	}
	bucket := make(map[time.Time]analytics.TrendPoint, len(points))
	for _, p := range points {
		bucket[p.Start] = p
	}
	run := Series{Label: "run", PointsOnly: true, Color: "#111827"}
	for _, r := range slices.Backward(runs) { // oldest first
		v, ok := analytics.RunValue(r, metric)
		if !ok {
			continue
		}
		p := bucket[analytics.BucketStart(r.StartedAt, by)]
		xs = append(xs, r.StartedAt.Unix())
		run.Values = append(run.Values, ptr(v))
		mean.Values, hi.Values, lo.Values = append(mean.Values, ptr(p.Mean)), append(hi.Values, ptr(p.Max)), append(lo.Values, ptr(p.Min))
	}
	c.X, c.Series = xs, []Series{mean, hi, lo, run}
	// Change points are a property of the buckets: mark each at the first
	// run of its bucket.
	for _, cp := range analytics.ChangePoints(values, analytics.ChangeOptions{}) {
		start := points[cp.Index].Start
		for i, x := range xs {
			if !time.Unix(x, 0).Before(start) {
				c.Marks = append(c.Marks, Mark{X: xs[i], Label: fmt.Sprintf("change %s → %s", trim(cp.Before), trim(cp.After))})
				break
			}
		}
	}
	return c
}

// CompareView compares two runs or two sets of runs.
type CompareView struct {
	Base   string          `json:"base"`
	Cand   string          `json:"candidate"`
	N      int             `json:"n"`
	Report *compare.Report `json:"report"`
}

func (s *Server) compare(r *http.Request) (any, error) {
	q := r.URL.Query()
	v := CompareView{Base: q.Get("base"), Cand: q.Get("cand")} // N 0: tag: and branch: are their newest 10 runs
	if v.Base == "" || v.Cand == "" {
		return v, nil // the form, to fill in
	}
	if n := q.Get("n"); n != "" {
		var err error
		if v.N, err = strconv.Atoi(n); err != nil || v.N < 1 {
			return nil, errBadRequest{fmt.Errorf("n=%q: want a number of runs, 1 or more", n)}
		}
	}
	scope := store.RunFilter{Project: s.scope(r)}
	br, err := s.db.ResolveRuns(r.Context(), v.Base, v.N, scope)
	if err != nil {
		return nil, err
	}
	cr, err := s.db.ResolveRuns(r.Context(), v.Cand, v.N, scope)
	if err != nil {
		return nil, err
	}
	rep, err := s.oneAtATime(r.Context(), func() (any, error) { return compare.Load(r.Context(), s.db, br, cr, compare.Options{}) })
	if err != nil {
		return nil, err
	}
	report := rep.(compare.Report)
	v.Report = &report
	return v, nil
}

// FlakyView lists flaky and broken tests.
type FlakyView struct {
	Runs  int                    `json:"runs"`
	Tests []analytics.TestHealth `json:"tests"`
	// Blips are runs where several tests failed together, once: their
	// failures are not counted as flakiness.
	Blips []analytics.Blip `json:"blips"`
	// MinSamples is how many results of a test a verdict needs.
	MinSamples int `json:"min_samples"`
	// NamedAnew counts the tests read whose name changes each run, which
	// no verdict can follow.
	NamedAnew int `json:"named_anew"`
}

func (s *Server) flaky(r *http.Request) (any, error) {
	f, err := s.runFilter(r, 200)
	if err != nil {
		return nil, err
	}
	runs, err := s.db.Runs(r.Context(), f)
	if err != nil {
		return nil, err
	}
	return s.views.get(s.views.key("flaky", r.URL.RawQuery, runs), func() (any, error) {
		return s.oneAtATime(r.Context(), func() (any, error) { return s.flakyView(r.Context(), runs) })
	})
}

// flakyView computes the flaky view of runs.
func (s *Server) flakyView(ctx context.Context, runs []model.EvaluationRun) (any, error) {
	results := s.db.Results(ctx, store.IDs(runs))
	var read *samples.Results // the tables of every test read
	found, blips, err := analytics.Health(runs, func(yield func(*samples.Results) error) error {
		return results(func(rs *samples.Results) error { read = rs; return yield(rs) })
	}, analytics.FlakyOptions{})
	if err != nil {
		return nil, err
	}
	anew := 0
	if read != nil {
		anew = compare.NamedAnewIn(read)
	}
	if found == nil {
		found = []analytics.TestHealth{}
	}
	if blips == nil {
		blips = []analytics.Blip{}
	}
	return FlakyView{Runs: len(runs), Tests: found, Blips: blips, MinSamples: analytics.FlakyOptions{}.WithDefaults().MinSamples, NamedAnew: anew}, nil
}

// ConfigsView lists configurations.
type ConfigsView struct {
	Configs []analytics.ConfigGroup `json:"configs"`
}

func (s *Server) configs(r *http.Request) (any, error) {
	f, err := s.runFilter(r, 500)
	if err != nil {
		return nil, err
	}
	runs, err := s.db.Runs(r.Context(), f)
	if err != nil {
		return nil, err
	}
	return ConfigsView{Configs: analytics.Configs(runs)}, nil
}

// ChangesView lists change points.
type ChangesView struct {
	Runs    int                `json:"runs"`
	Series  int                `json:"series"`
	Changes []analytics.Change `json:"changes"`
	// RunsNeeded is how many runs of a configuration a change point needs.
	RunsNeeded int `json:"runs_needed"`
}

func (s *Server) changes(r *http.Request) (any, error) {
	f, err := s.runFilter(r, 200)
	if err != nil {
		return nil, err
	}
	since := f.Since
	f.Since = time.Time{}
	runs, err := s.db.Runs(r.Context(), f)
	if err != nil {
		return nil, err
	}
	// A relative -since moves with the clock: the minute it stands for is
	// part of the key.
	key := s.views.key(fmt.Sprintf("changes since %d", since.Unix()/60), r.URL.RawQuery, runs)
	return s.views.get(key, func() (any, error) {
		return s.oneAtATime(r.Context(), func() (any, error) {
			v := ChangesView{RunsNeeded: analytics.ChangeOptions{}.RunsNeeded()}
			var err error
			v.Runs, v.Series, v.Changes, err = analytics.ChangesOfRuns(runs, s.db.Results(r.Context(), store.IDs(runs)), nil, since, analytics.ChangeOptions{})
			if err != nil {
				return nil, err
			}
			return v, nil
		})
	})
}
