package ui

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"evalrec.dev/analytics"
	"evalrec.dev/store"
)

// Collector exports, per project, branch and environment, the latest run's
// score, metrics and test counts, and the number of flaky tests; with
// TestSeries, each test's latest score too. It reads the store at each
// scrape, at most every CacheFor.
type Collector struct {
	DB *store.DB
	// Project limits the export to one project; "" exports every project.
	Project string
	// TestSeries adds evalrec_test_score, one series per test of each
	// latest run, at most MaxTestSeries in all.
	TestSeries bool
	// Runs is how many of the newest runs are read (default 500): a
	// configuration without a run among them is not exported.
	Runs int64
	// CacheFor is how long a reading is reused (default 15 s).
	CacheFor time.Duration

	mu      sync.Mutex
	at      time.Time
	metrics []prometheus.Metric
}

// MaxTestSeries bounds the per-test series: the cardinality of
// evalrec_test_score is at most this many.
const MaxTestSeries = 5000

var (
	labels      = []string{"project", "branch", "environment"}
	descScore   = prometheus.NewDesc("evalrec_run_score", "Score (0-100) of the latest run.", labels, nil)
	descMetric  = prometheus.NewDesc("evalrec_run_metric", "A metric of the latest run.", append(labels, "metric"), nil)
	descTests   = prometheus.NewDesc("evalrec_run_tests", "Tests of the latest run, by status.", append(labels, "status"), nil)
	descStarted = prometheus.NewDesc("evalrec_run_started_timestamp_seconds", "When the latest run started.", labels, nil)
	descFailed  = prometheus.NewDesc("evalrec_run_failed", "1 when the latest run failed, else 0.", labels, nil)
	descFlaky   = prometheus.NewDesc("evalrec_flaky_tests", "Flaky tests over the newest runs.", labels, nil)
	descBroken  = prometheus.NewDesc("evalrec_broken_tests", "Tests that started failing and kept failing.", labels, nil)
	descTest    = prometheus.NewDesc("evalrec_test_score", "Score of each test in the latest run (with -metrics-tests).", append(labels, "test_id"), nil)
	descUp      = prometheus.NewDesc("evalrec_store_up", "1 when the store answered the last reading.", nil, nil)
)

// Describe sends the descriptions.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descScore, descMetric, descTests, descStarted, descFailed, descFlaky, descBroken, descTest, descUp} {
		ch <- d
	}
}

// Collect reads the store (or the cached reading) and sends the metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cache := c.CacheFor
	if cache == 0 {
		cache = 15 * time.Second
	}
	if c.metrics == nil || time.Since(c.at) > cache {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		ms, err := c.read(ctx)
		cancel()
		up := 1.0
		if err != nil {
			up, ms = 0, nil
		}
		c.metrics = append(ms, prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up))
		c.at = time.Now()
	}
	for _, m := range c.metrics {
		ch <- m
	}
}

type configKey struct{ project, branch, env string }

func (c *Collector) read(ctx context.Context) ([]prometheus.Metric, error) {
	n := c.Runs
	if n == 0 {
		n = 500
	}
	runs, err := c.DB.Runs(ctx, store.RunFilter{Project: c.Project, Limit: n})
	if err != nil {
		return nil, err
	}
	latest := map[configKey]store.EvaluationRun{}
	byKey := map[configKey][]store.EvaluationRun{}
	var order []configKey
	for _, r := range runs { // newest first
		if r.Status == store.StatusRunning {
			continue
		}
		k := configKey{r.Project, deref(r.GitBranch), r.Environment}
		if _, ok := latest[k]; !ok {
			latest[k] = r
			order = append(order, k)
		}
		byKey[k] = append(byKey[k], r)
	}
	var out []prometheus.Metric
	gauge := func(d *prometheus.Desc, v float64, lv ...string) {
		out = append(out, prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, lv...))
	}
	testSeries := 0
	for _, k := range order {
		r := latest[k]
		lv := []string{k.project, k.branch, k.env}
		if r.Score != nil {
			gauge(descScore, *r.Score, lv...)
		}
		for name, v := range r.Metrics {
			gauge(descMetric, v, append(lv, name)...)
		}
		for status, v := range map[string]int{"passed": r.NumPassed, "failed": r.NumFailed, "skipped": r.NumSkipped, "incomplete": r.NumIncomplete} {
			gauge(descTests, float64(v), append(lv, status)...)
		}
		gauge(descStarted, float64(r.StartedAt.Unix()), lv...)
		failed := 0.0
		if r.Status == store.StatusFailed {
			failed = 1
		}
		gauge(descFailed, failed, lv...)
		trs, err := c.DB.TestRunsOfRuns(ctx, store.IDs(byKey[k]), store.Slim)
		if err != nil {
			return nil, err
		}
		flaky, broken := 0, 0
		for _, h := range analytics.FindFlaky(byKey[k], trs, analytics.FlakyOptions{}) {
			if h.Verdict == "broken" {
				broken++
			} else {
				flaky++
			}
		}
		gauge(descFlaky, float64(flaky), lv...)
		gauge(descBroken, float64(broken), lv...)
		if c.TestSeries {
			// A test run more than once in the run (-count, reruns): its
			// last result, in finishing order.
			last := map[string]float64{}
			var ids []string
			for _, t := range trs {
				if t.EvaluationRunID != r.ID || t.Score == nil {
					continue
				}
				if _, ok := last[t.TestID]; !ok {
					ids = append(ids, t.TestID)
				}
				last[t.TestID] = *t.Score
			}
			for _, id := range ids {
				if testSeries == MaxTestSeries {
					break
				}
				testSeries++
				gauge(descTest, last[id], append(lv, id)...)
			}
		}
	}
	return out, nil
}

// Registry returns a registry holding c.
func (c *Collector) Registry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	return reg
}

func (s *Server) metricsHandler() http.Handler {
	c := &Collector{DB: s.db, Project: s.opt.Project, TestSeries: s.opt.TestSeries}
	return promhttp.HandlerFor(c.Registry(), promhttp.HandlerOpts{})
}
