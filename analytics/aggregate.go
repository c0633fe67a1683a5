package analytics

import (
	"cmp"
	"math"
	"slices"
	"time"

	"evalrec.dev/model"
	"evalrec.dev/result"
	"evalrec.dev/samples"
)

// Bucket widths for trends.
const (
	Day  = "day"
	Week = "week"
)

// TrendPoint is one bucket of a trend: the mean of a metric (or of the run
// score) over the runs that started in it.
type TrendPoint struct {
	Start time.Time `json:"start"` // UTC; weeks start on Monday
	Mean  float64   `json:"mean"`
	Min   float64   `json:"min"`
	Max   float64   `json:"max"`
	Runs  int       `json:"runs"`
}

// Trend buckets runs by day or week and averages metric, or the run score
// when metric is "" or "score". Runs without the metric are skipped. The
// points are oldest first. This is the seed's $dateToString/$avg pipeline,
// computed in Go because the embedded store has neither operator.
func Trend(runs []model.EvaluationRun, metric, by string) []TrendPoint {
	buckets := map[time.Time]*TrendPoint{}
	for _, r := range runs {
		v, ok := RunValue(r, metric)
		if !ok {
			continue
		}
		start := BucketStart(r.StartedAt, by)
		p := buckets[start]
		if p == nil {
			p = &TrendPoint{Start: start, Min: math.Inf(1), Max: math.Inf(-1)}
			buckets[start] = p
		}
		p.Runs++
		p.Mean += (v - p.Mean) / float64(p.Runs)
		p.Min, p.Max = min(p.Min, v), max(p.Max, v)
	}
	out := make([]TrendPoint, 0, len(buckets))
	for _, p := range buckets {
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b TrendPoint) int { return a.Start.Compare(b.Start) })
	return out
}

// RunValue is a run's value of metric, or its score when metric is "" or
// "score"; ok is false when the run has none.
func RunValue(r model.EvaluationRun, metric string) (float64, bool) {
	if metric == "" || metric == "score" {
		if r.Score == nil {
			return 0, false
		}
		return *r.Score, true
	}
	v, ok := r.Metrics[metric]
	return v, ok
}

// BucketStart is the start of the day or week (by) that holds t, in UTC.
func BucketStart(t time.Time, by string) time.Time {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	if by != Week {
		return day
	}
	offset := (int(day.Weekday()) + 6) % 7 // days since Monday
	return day.AddDate(0, 0, -offset)
}

// TestAggregate summarises one test over many runs: the seed's "average
// score per test across all runs".
type TestAggregate struct {
	TestID   string   `json:"test_id"`
	TestName string   `json:"test_name"`
	Runs     int      `json:"runs"`
	AvgScore *float64 `json:"avg_score"`
	MinScore *float64 `json:"min_score"`
	MaxScore *float64 `json:"max_score"`
	// PassRate is over the runs that passed or failed; nil when every run
	// was skipped, which is no 0% pass rate.
	PassRate   *float64  `json:"pass_rate"`
	Skipped    int       `json:"skipped"`
	LastStatus string    `json:"last_status"`
	LastRun    time.Time `json:"last_run"`
}

// TestAggregates summarises each test, highest average score first.
func TestAggregates(results samples.ResultStream) ([]TestAggregate, error) {
	// One small value a test, with no pointers: 1.5 million rows update
	// 50,000 of them, in no particular order.
	type acc struct {
		runs, skipped, judged, passed, scored int32
		status                                result.Status
		sum, min, max                         float64
		last                                  int64
	}
	var accs []acc
	var tests []samples.TestKey
	err := results(func(rs *samples.Results) error {
		tests = rs.Tests
		if n := len(rs.Tests) - len(accs); n > 0 {
			accs = append(accs, make([]acc, n)...)
		}
		for i := range rs.Rows {
			t := &rs.Rows[i]
			a := &accs[t.Test]
			a.runs++
			status := t.Status()
			if a.runs == 1 || t.Finished >= a.last {
				a.last, a.status = t.Finished, status
			}
			switch status {
			case result.Skipped:
				a.skipped++
			case result.Passed:
				a.judged++
				a.passed++
			case result.Failed, result.Incomplete:
				a.judged++
			}
			if t.HasScore() {
				s := t.Score
				a.sum += s
				a.scored++
				if a.scored == 1 || s < a.min {
					a.min = s
				}
				if a.scored == 1 || s > a.max {
					a.max = s
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]TestAggregate, 0, len(accs))
	for i := range accs {
		a := &accs[i]
		if a.runs == 0 {
			continue
		}
		g := TestAggregate{TestID: tests[i].TestID, TestName: tests[i].TestName, Runs: int(a.runs), Skipped: int(a.skipped),
			LastStatus: string(a.status), LastRun: time.UnixMilli(a.last).UTC()}
		if a.scored > 0 {
			avg, lo, hi := a.sum/float64(a.scored), a.min, a.max
			g.AvgScore, g.MinScore, g.MaxScore = &avg, &lo, &hi
		}
		if a.judged > 0 {
			r := float64(a.passed) / float64(a.judged)
			g.PassRate = &r
		}
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b TestAggregate) int {
		as, bs := -1.0, -1.0
		if a.AvgScore != nil {
			as = *a.AvgScore
		}
		if b.AvgScore != nil {
			bs = *b.AvgScore
		}
		return cmp.Or(cmp.Compare(bs, as), cmp.Compare(a.TestID, b.TestID))
	})
	return out, nil
}

// ConfigGroup is one system configuration (system_info_hash) and how its
// runs did: the seed's "compare configurations".
type ConfigGroup struct {
	SystemInfoHash  string             `json:"system_info_hash"`
	Runs            int                `json:"runs"`
	FirstSeen       time.Time          `json:"first_seen"`
	LastSeen        time.Time          `json:"last_seen"`
	MeanScore       *float64           `json:"mean_score"`
	Metrics         map[string]float64 `json:"metrics"` // mean of each run metric
	Environments    []string           `json:"environments"`
	SystemUnderTest map[string]any     `json:"system_under_test"` // of the latest run
	LatestRun       string             `json:"latest_run"`
}

// Configs groups runs by system_info_hash, most recently seen first.
func Configs(runs []model.EvaluationRun) []ConfigGroup {
	type acc struct {
		ConfigGroup
		scoreSum float64
		scored   int
		sums     map[string]float64
		counts   map[string]int
	}
	by := map[string]*acc{}
	for _, r := range runs {
		a := by[r.SystemInfoHash]
		if a == nil {
			a = &acc{ConfigGroup: ConfigGroup{SystemInfoHash: r.SystemInfoHash, FirstSeen: r.StartedAt}, sums: map[string]float64{}, counts: map[string]int{}}
			by[r.SystemInfoHash] = a
		}
		a.Runs++
		if r.StartedAt.Before(a.FirstSeen) {
			a.FirstSeen = r.StartedAt
		}
		if !r.StartedAt.Before(a.LastSeen) {
			a.LastSeen, a.SystemUnderTest, a.LatestRun = r.StartedAt, r.System.SystemUnderTest, r.EvaluationRunID
		}
		if r.Score != nil {
			a.scoreSum += *r.Score
			a.scored++
		}
		for k, v := range r.Metrics {
			a.sums[k] += v
			a.counts[k]++
		}
		if !slices.Contains(a.Environments, r.Environment) {
			a.Environments = append(a.Environments, r.Environment)
		}
	}
	out := make([]ConfigGroup, 0, len(by))
	for _, a := range by {
		if a.scored > 0 {
			m := a.scoreSum / float64(a.scored)
			a.MeanScore = &m
		}
		a.Metrics = map[string]float64{}
		for k, s := range a.sums {
			a.Metrics[k] = s / float64(a.counts[k])
		}
		slices.Sort(a.Environments)
		out = append(out, a.ConfigGroup)
	}
	slices.SortFunc(out, func(a, b ConfigGroup) int { return b.LastSeen.Compare(a.LastSeen) })
	return out
}
