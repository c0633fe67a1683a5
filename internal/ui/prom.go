package ui

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"evalrec.dev/analytics"
	"evalrec.dev/model"
	"evalrec.dev/samples"
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

	mu   sync.Mutex
	at   time.Time
	text []byte // the last reading, in the exposition format
}

// MaxTestSeries bounds the per-test series: the cardinality of
// evalrec_test_score is at most this many.
const MaxTestSeries = 5000

// family is a metric family: its name, help, and its series' labels.
type family struct {
	name, help string
	labels     []string
}

var (
	labels          = []string{"project", "branch", "environment"}
	famScore        = family{"evalrec_run_score", "Score (0-100) of the latest run.", labels}
	famMetric       = family{"evalrec_run_metric", "A metric of the latest run.", append(labels, "metric")}
	famTests        = family{"evalrec_run_tests", "Tests of the latest run, by status.", append(labels, "status")}
	famStarted      = family{"evalrec_run_started_timestamp_seconds", "When the latest run started.", labels}
	famFailed       = family{"evalrec_run_failed", "1 when the latest run failed, else 0.", labels}
	famFlaky        = family{"evalrec_flaky_tests", "Flaky tests over the newest runs.", labels}
	famBroken       = family{"evalrec_broken_tests", "Tests that started failing and kept failing.", labels}
	famTest         = family{"evalrec_test_score", "Score of each test in the latest run (with -metrics-tests).", append(labels, "test_id")}
	famUp           = family{"evalrec_store_up", "1 when the store answered the last reading.", nil}
	familiesInOrder = []family{famScore, famMetric, famTests, famStarted, famFailed, famFlaky, famBroken, famTest, famUp}
)

// reading collects the gauges of one reading, a set per family, so that
// each family is written under its own HELP and TYPE lines.
type reading map[string]*metrics.Set

// gauge sets the series of f with label values lv to v.
func (r reading) gauge(f family, v float64, lv ...string) {
	set := r[f.name]
	if set == nil {
		set = metrics.NewSet()
		r[f.name] = set
	}
	name := f.name
	if len(f.labels) > 0 {
		pairs := make([]string, len(f.labels))
		for i, l := range f.labels {
			pairs[i] = l + "=" + labelValue(lv[i])
		}
		slices.Sort(pairs) // by label name, as Prometheus's own client writes them
		name += "{" + strings.Join(pairs, ",") + "}"
	}
	set.GetOrCreateGauge(name, nil).Set(v)
}

// labelEscaper escapes a label value as the exposition format asks.
var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func labelValue(v string) string { return `"` + labelEscaper.Replace(v) + `"` }

// write writes the reading in the Prometheus text exposition format.
func (r reading) write(w io.Writer) {
	for _, f := range familiesInOrder {
		if set := r[f.name]; set != nil {
			fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n", f.name, f.help, f.name)
			set.WritePrometheus(w)
		}
	}
}

// WritePrometheus writes the metrics in the text exposition format,
// reading the store at most every CacheFor.
func (c *Collector) WritePrometheus(w io.Writer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cache := c.CacheFor
	if cache == 0 {
		cache = 15 * time.Second
	}
	if c.text == nil || time.Since(c.at) > cache {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		r := reading{}
		err := c.read(ctx, r)
		cancel()
		up := 1.0
		if err != nil {
			up, r = 0, reading{}
		}
		r.gauge(famUp, up)
		var b bytes.Buffer
		r.write(&b)
		c.text, c.at = b.Bytes(), time.Now()
	}
	_, _ = w.Write(c.text)
}

type configKey struct{ project, branch, env string }

func (c *Collector) read(ctx context.Context, out reading) error {
	n := c.Runs
	if n == 0 {
		n = 500
	}
	runs, err := c.DB.Runs(ctx, store.RunFilter{Project: c.Project, Limit: n})
	if err != nil {
		return err
	}
	latest := map[configKey]model.EvaluationRun{}
	byKey := map[configKey][]model.EvaluationRun{}
	var order []configKey
	for _, r := range runs { // newest first
		if r.Status == model.StatusRunning {
			continue
		}
		k := configKey{r.Project, deref(r.GitBranch), r.Environment}
		if _, ok := latest[k]; !ok {
			latest[k] = r
			order = append(order, k)
		}
		byKey[k] = append(byKey[k], r)
	}
	gauge := out.gauge
	testSeries := 0
	for _, k := range order {
		r := latest[k]
		lv := []string{k.project, k.branch, k.env}
		if r.Score != nil {
			gauge(famScore, *r.Score, lv...)
		}
		for name, v := range r.Metrics {
			gauge(famMetric, v, append(lv, name)...)
		}
		for status, v := range map[string]int{"passed": r.NumPassed, "failed": r.NumFailed, "skipped": r.NumSkipped, "incomplete": r.NumIncomplete} {
			gauge(famTests, float64(v), append(lv, status)...)
		}
		gauge(famStarted, float64(r.StartedAt.Unix()), lv...)
		failed := 0.0
		if r.Status == model.StatusFailed {
			failed = 1
		}
		gauge(famFailed, failed, lv...)
		results := c.DB.Results(ctx, store.IDs(byKey[k]))
		health, err := analytics.FindFlaky(byKey[k], results, analytics.FlakyOptions{})
		if err != nil {
			return err
		}
		flaky, broken := 0, 0
		for _, h := range health {
			if h.Verdict == "broken" {
				broken++
			} else {
				flaky++
			}
		}
		gauge(famFlaky, float64(flaky), lv...)
		gauge(famBroken, float64(broken), lv...)
		if c.TestSeries {
			// A test run more than once in the run (-count, reruns): its
			// last result, in finishing order.
			last := map[string]samples.Result{}
			err := c.DB.Results(ctx, store.IDs([]model.EvaluationRun{r}))(func(rs *samples.Results) error {
				for _, t := range rs.Rows {
					id := rs.Tests[t.Test].TestID
					if l, ok := last[id]; t.HasScore() && (!ok || t.Finished >= l.Finished) {
						last[id] = t
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			ids := slices.Collect(maps.Keys(last))
			slices.SortFunc(ids, func(a, b string) int {
				return cmp.Or(cmp.Compare(last[a].Finished, last[b].Finished), cmp.Compare(a, b))
			})
			for _, id := range ids {
				if testSeries == MaxTestSeries {
					break
				}
				testSeries++
				gauge(famTest, last[id].Score, append(lv, id)...)
			}
		}
	}
	return nil
}

func (s *Server) metricsHandler() http.Handler {
	c := &Collector{DB: s.db, Project: s.opt.Project, TestSeries: s.opt.TestSeries}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		c.WritePrometheus(w)
	})
}
