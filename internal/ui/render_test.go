package ui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"evalrec.dev/compare"
	"evalrec.dev/internal/storetest"
	"evalrec.dev/internal/ui"
	"evalrec.dev/model"
	"evalrec.dev/store"
)

func strp(s string) *string { return &s }
func fp(f float64) *float64 { return &f }
func boolp(b bool) *bool    { return &b }
func at(minutes int) time.Time {
	return time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC).Add(time.Duration(minutes) * time.Minute)
}

// awkward stores what real histories hold and views must survive: runs
// without a score, a run with nothing to compare with, a run that broke
// before any test, tests that only skip, a test that newly fails, metric
// values that were NaN (stored as null) and a branch and environment that
// are HTML.
func awkward(t *testing.T) *store.DB {
	t.Helper()
	db := storetest.New(t).DB
	ctx := context.Background()
	run := func(n int, branch, env, status string, score *float64, tests ...model.TestRun) model.EvaluationRun {
		finished := at(n).Add(time.Minute)
		r := model.EvaluationRun{ID: model.NewIDAt(at(n)), EvaluationRunID: fmt.Sprintf("run-%d", n), StartedAt: at(n),
			FinishedAt: &finished, GitCommit: strp(fmt.Sprintf("%040d", n)), GitBranch: strp(branch), GitDirty: boolp(false),
			Environment: env, ExperimentTags: []string{"t"}, SystemInfoHash: "h", Status: status, Score: score, Source: "wrapper",
			Project: "example.com/p", Packages: []string{"example.com/p"}, Metrics: map[string]float64{}, MetricStats: map[string]model.MetricStats{}}
		for i := range tests {
			tr := &tests[i]
			tr.EvaluationRunID, tr.FinishedAt, tr.Project, tr.Environment, tr.GitBranch, tr.GitCommit = r.ID, finished, r.Project, env, r.GitBranch, r.GitCommit
			tr.ID = fmt.Sprintf("%s/%s", r.EvaluationRunID, tr.TestID)
			tr.TestRunID, tr.TestName, tr.Package = tr.ID, tr.TestID, "example.com/p"
			r.NumTests++
			switch tr.Status {
			case "passed":
				r.NumPassed++
				tr.Passed = true
			case "failed":
				r.NumFailed++
			case "skipped":
				r.NumSkipped++
			}
			if m, ok := tr.Metrics["wer"]; ok && m.Value != nil {
				r.Metrics["wer"] = *m.Value
				r.MetricStats["wer"] = model.MetricStats{N: 1, Mean: *m.Value, Min: *m.Value, Max: *m.Value, P50: *m.Value, P90: *m.Value}
			}
		}
		require(t, db.InsertRun(ctx, &r))
		if len(tests) > 0 {
			_, err := db.InsertTestRuns(ctx, tests)
			require(t, err)
		}
		return r
	}
	wer := func(v *float64) map[string]model.MetricDoc {
		d := model.MetricDoc{Value: v, Direction: "lower", Score: 50}
		if v == nil {
			d.NonFinite = "NaN"
		}
		return map[string]model.MetricDoc{"wer": d}
	}
	const evil = `<svg/onload=alert(5)>`
	run(0, "main", "dev", model.StatusCompleted, fp(90),
		model.TestRun{TestID: "TestA", Status: "passed", Score: fp(90), Metrics: wer(fp(0.1)), DurationMS: 3},
		model.TestRun{TestID: "TestB", Status: "passed", Score: fp(90), Metrics: wer(nil)},
		model.TestRun{TestID: "TestSkip", Status: "skipped"})
	run(5, "main", "dev", model.StatusCompleted, nil,
		model.TestRun{TestID: "TestA", Status: "passed", Score: fp(91), Metrics: wer(fp(0.12))},
		model.TestRun{TestID: "TestB", Status: "failed", Output: "--- FAIL: TestB\n    b_test.go:9: wrong\n"},
		model.TestRun{TestID: "TestSkip", Status: "skipped"})
	broken := run(9, evil, evil, model.StatusFailed, nil)
	broken.Error = "build failed"
	return db
}

func require(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// badText is what a view must never show: Go's formatting errors, and
// values a template or a script could not handle.
var badText = []string{"%!", "NaN", "undefined", "<nil>", "+Inf", "-Inf", "map[", "0x"}

var (
	scripts = regexp.MustCompile(`(?s)<script>.*?</script>`)
	// The JSON twin keeps a non-finite value's note beside its null.
	nonFiniteNote = regexp.MustCompile(`"nonfinite": "(NaN|\+Inf|-Inf)"`)
)

func checkText(t *testing.T, where, body string) {
	t.Helper()
	body = nonFiniteNote.ReplaceAllString(scripts.ReplaceAllString(body, "<script>…</script>"), "")
	for _, bad := range badText {
		if i := strings.Index(body, bad); i >= 0 {
			t.Errorf("%s shows %q: …%s…", where, bad, body[max(0, i-80):min(len(body), i+80)])
		}
	}
}

// TestEveryViewShowsCleanTextOnAwkwardHistories renders every page, its
// JSON twin and both reports over runs with missing scores, nulls, no
// baseline and failures, and fails on any Go formatting error or NaN.
func TestEveryViewShowsCleanTextOnAwkwardHistories(t *testing.T) {
	db := awkward(t)
	s := ui.New(db, ui.Options{Project: "example.com/p"})
	srv := httptest.NewServer(s)
	defer srv.Close()
	for _, path := range []string{
		"/runs", "/runs/latest", "/runs/run-0", "/runs/run-5", "/history?test=TestA", "/history?test=TestB", "/history?test=TestSkip",
		"/trend", "/trend?metric=wer", "/trend?by=week", "/compare", "/compare?base=run-0&cand=run-5", "/compare?base=run-9&cand=run-5",
		"/compare?base=branch:main&cand=run-5&n=3", "/flaky", "/configs", "/changes",
	} {
		for _, p := range []string{path, "/api" + path} {
			code, body, _ := get(t, srv.URL+p)
			if code != http.StatusOK {
				t.Errorf("%s: %d\n%.300s", p, code, body)
				continue
			}
			checkText(t, p, body)
		}
	}
	code, body, _ := get(t, srv.URL+"/runs/run-5")
	if code == http.StatusOK && !strings.Contains(body, "1 failed") {
		t.Errorf("/runs/run-5: a run with a failing test does not say so:\n%s", body)
	}
	if _, body, _ := get(t, srv.URL+"/runs"); strings.Contains(body, "<svg/onload") {
		t.Error("/runs writes a branch as HTML")
	}
	if _, body, _ := get(t, srv.URL+"/flaky"); !strings.Contains(body, "no flaky or broken tests: a verdict needs 5 results of a test, which 3 runs give only with -count") {
		t.Errorf("/flaky over 3 runs does not say a verdict needs more:\n%s", body)
	}
	if _, body, _ := get(t, srv.URL+"/changes"); !strings.Contains(body, "no change points: a change point needs 6 runs of a configuration") {
		t.Errorf("/changes over 3 runs does not say a change point needs more:\n%s", body)
	}

	for _, ref := range []string{"run-5", "run-9", "run-0"} {
		v, err := s.Report(context.Background(), ref, ui.ReportOptions{Last: 30})
		require(t, err)
		var html, md bytes.Buffer
		require(t, s.WriteHTML(&html, v))
		require(t, ui.WriteMarkdown(&md, v))
		checkText(t, ref+" report (HTML)", html.String())
		checkText(t, ref+" report (Markdown)", md.String())
		if strings.Contains(md.String(), "<svg") || strings.Contains(html.String(), "<svg/") {
			t.Errorf("%s report writes text from users as HTML:\n%s", ref, md.String())
		}
	}
}

// TestTheReportChartsTheRunsOfItsBranch is the report of the newest run on
// a branch: it charts that run and the ones before it, and compares with
// the previous one even when only failures changed.
func TestTheReportChartsTheRunsOfItsBranch(t *testing.T) {
	db := awkward(t)
	s := ui.New(db, ui.Options{Project: "example.com/p"})
	v, err := s.Report(context.Background(), "run-5", ui.ReportOptions{Last: 30})
	require(t, err)
	if len(v.Last) != 2 {
		t.Errorf("the report charts %d runs of branch main, want 2 (run-0 and run-5 itself)", len(v.Last))
	}
	var html, md bytes.Buffer
	require(t, s.WriteHTML(&html, v))
	require(t, ui.WriteMarkdown(&md, v))
	for _, want := range []string{"The last 2 runs", "newly failing", "TestB"} {
		if !strings.Contains(html.String(), want) {
			t.Errorf("HTML report: no %q", want)
		}
	}
	if !strings.Contains(html.String(), `class="chart" data-spec`) {
		t.Error("HTML report: no chart")
	}
	for _, want := range []string{"```mermaid", "xychart-beta", "| TestB |  | – | – | – | newly failing |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("Markdown report: no %q in\n%s", want, md.String())
		}
	}
}

// TestTheTrendOfOneDayDrawsEachRun: two runs on day one are two points at
// their own times over the day's band, not one point at the chart's edge.
func TestTheTrendOfOneDayDrawsEachRun(t *testing.T) {
	srv := httptest.NewServer(ui.New(awkward(t), ui.Options{Project: "example.com/p"}))
	defer srv.Close()
	_, body, _ := get(t, srv.URL+"/api/trend?metric=wer&since=3650d")
	var v ui.TrendView
	require(t, json.Unmarshal([]byte(body), &v))
	c := v.Chart
	if len(v.Points) != 1 || len(c.X) != 2 || c.X[0] == c.X[1] {
		t.Fatalf("one day, two runs: %d buckets, x %v; want 1 bucket drawn at 2 times", len(v.Points), c.X)
	}
	labels := []string{}
	for _, s := range c.Series {
		labels = append(labels, s.Label)
		if len(s.Values) != len(c.X) {
			t.Errorf("series %s has %d values for %d times", s.Label, len(s.Values), len(c.X))
		}
	}
	if strings.Join(labels, ",") != "mean,max,min,run" || len(c.Bands) != 1 {
		t.Errorf("series %v, bands %v: want the mean, the band from min to max, and each run", labels, c.Bands)
	}
}

// TestEveryLinkLeadsToItsPage follows every link of the pages of a store
// whose test IDs hold a package path, a subtest, a "#" and non-ASCII text,
// and whose project is a module path: each must find its page. The
// templates once query-escaped a value html/template escapes again, so
// every history link asked for a test named "example.com%2Fp…", and every
// link of the header for a project of that name.
func TestEveryLinkLeadsToItsPage(t *testing.T) {
	db := storetest.New(t).DB
	ctx := context.Background()
	ids := []string{"example.com/p/sub.TestA", "example.com/p/sub.TestA/case_#1", "example.com/p/sub.TestA/日本語"}
	for n := range 2 {
		finished := at(n).Add(time.Minute)
		wer := 0.1 + 0.1*float64(n)
		r := model.EvaluationRun{ID: model.NewIDAt(at(n)), EvaluationRunID: fmt.Sprintf("run-%d", n), StartedAt: at(n), FinishedAt: &finished,
			Environment: "dev", SystemInfoHash: "h", Status: model.StatusCompleted, Score: fp(90), Source: "wrapper",
			Project: "example.com/p", Packages: []string{"example.com/p/sub"}, Metrics: map[string]float64{"lat/p99": wer}}
		require(t, db.InsertRun(ctx, &r))
		var trs []model.TestRun
		for _, id := range ids {
			trs = append(trs, model.TestRun{ID: r.EvaluationRunID + "/" + id, TestRunID: r.EvaluationRunID + "/" + id, EvaluationRunID: r.ID,
				TestID: id, TestName: id, Package: "example.com/p/sub", FinishedAt: finished, Status: "passed", Passed: true, Score: fp(90),
				Environment: "dev", Project: r.Project,
				Metrics: map[string]model.MetricDoc{"lat/p99": {Value: &wer, Direction: "lower", Score: 90}}})
		}
		_, err := db.InsertTestRuns(ctx, trs)
		require(t, err)
	}
	srv := httptest.NewServer(ui.New(db, ui.Options{}))
	defer srv.Close()
	href := regexp.MustCompile(`href="(/[^"]*)"`)
	followed := 0
	for _, page := range []string{"/runs?project=example.com/p", "/runs/latest", "/compare?base=latest~1&cand=latest"} {
		code, body, _ := get(t, srv.URL+page)
		if code != http.StatusOK {
			t.Fatalf("%s: %d", page, code)
		}
		for _, m := range href.FindAllStringSubmatch(body, -1) {
			link := html.UnescapeString(m[1])
			if strings.HasPrefix(link, "/assets/") {
				continue
			}
			code, body, _ := get(t, srv.URL+link)
			if code != http.StatusOK {
				t.Errorf("%s links to %s: %d", page, link, code)
				continue
			}
			followed++
			if strings.HasPrefix(link, "/history?test=") {
				u, _ := url.Parse(link)
				if test := u.Query().Get("test"); !slices.Contains(ids, test) || !strings.Contains(html.UnescapeString(body), test) {
					t.Errorf("%s links to the history of %q, which is none of the tests", page, test)
				}
			}
			if strings.Contains(link, "project=") && !strings.Contains(link, "project=example.com%2fp") && !strings.Contains(link, "project=example.com%2Fp") {
				t.Errorf("%s links to %s: not the project example.com/p", page, link)
			}
		}
	}
	if followed < 10 {
		t.Errorf("followed %d links", followed)
	}
}

// TestARenamedTestIsSaidOnEveryView: a test whose name holds a pointer's
// address is named anew each run; the run page, the compare page, the
// report and the JSON twins say it was compared as one test, in words.
// Two runs of a plain test, with no metric and nothing changed: the
// comparison says both rather than showing empty lists.
func TestAComparisonWithNothingToListSaysSo(t *testing.T) {
	db := twoRunsOf(t, "example.com/p.TestPlain", "example.com/p.TestPlain")
	srv := httptest.NewServer(ui.New(db, ui.Options{}))
	defer srv.Close()
	_, body, _ := get(t, srv.URL+"/compare?base=latest~1&cand=latest")
	for _, line := range []string{compare.NoMetricsLine, compare.NoStatusChangeLine} {
		if !strings.Contains(body, line) {
			t.Errorf("/compare does not say %q:\n%s", line, body)
		}
	}
	s := ui.New(db, ui.Options{})
	v, err := s.Report(context.Background(), "latest", ui.ReportOptions{Last: 30})
	require(t, err)
	var md, page bytes.Buffer
	require(t, ui.WriteMarkdown(&md, v))
	require(t, s.WriteHTML(&page, v))
	for name, text := range map[string]string{"markdown": md.String(), "HTML": page.String()} {
		if !strings.Contains(text, compare.NoMetricsLine) {
			t.Errorf("the %s report does not say there was no metric to compare:\n%s", name, text)
		}
	}
}

// twoRunsOf stores two runs of one passing test each, with these IDs.
func twoRunsOf(t *testing.T, ids ...string) *store.DB {
	db := storetest.New(t).DB
	ctx := context.Background()
	for n, id := range ids {
		finished := at(n).Add(time.Minute)
		r := model.EvaluationRun{ID: model.NewIDAt(at(n)), EvaluationRunID: fmt.Sprintf("run-%d", n), StartedAt: at(n), FinishedAt: &finished,
			Environment: "dev", SystemInfoHash: "h", Status: model.StatusCompleted, Score: fp(100), Source: "wrapper",
			Project: "example.com/p", Packages: []string{"example.com/p"}, Metrics: map[string]float64{}}
		require(t, db.InsertRun(ctx, &r))
		_, err := db.InsertTestRuns(ctx, []model.TestRun{{ID: r.EvaluationRunID + "/" + id, TestRunID: r.EvaluationRunID + "/" + id,
			EvaluationRunID: r.ID, TestID: id, TestName: id, Package: "example.com/p", FinishedAt: finished, Status: "passed", Passed: true,
			Score: fp(100), Environment: "dev", Project: r.Project}})
		require(t, err)
	}
	return db
}

func TestARenamedTestIsSaidOnEveryView(t *testing.T) {
	db := twoRunsOf(t, "example.com/p.TestContains/Contains((*A)(0xc000123456))", "example.com/p.TestContains/Contains((*A)(0xc000abcdef))")
	ctx := context.Background()
	s := ui.New(db, ui.Options{})
	srv := httptest.NewServer(s)
	defer srv.Close()
	const said = "1 test is named anew each run (a pointer&#39;s address or a time in its name): compared as the same test"
	for _, page := range []string{"/runs/latest", "/compare?base=latest~1&cand=latest"} {
		_, body, _ := get(t, srv.URL+page)
		if !strings.Contains(body, said) || strings.Contains(body, "<dt>new</dt><dd>example.com") {
			t.Errorf("%s does not say the test was renamed:\n%s", page, body)
		}
	}
	if _, body, _ := get(t, srv.URL+"/api/runs/latest"); !strings.Contains(body, `"renamed_tests": 1`) {
		t.Errorf("/api/runs/latest: %s", body)
	}
	if _, body, _ := get(t, srv.URL+"/flaky"); !strings.Contains(body, html.EscapeString(compare.NamedAnewLine(2))) {
		t.Errorf("/flaky does not say 2 tests are named anew each run:\n%s", body)
	}
	v, err := s.Report(ctx, "latest", ui.ReportOptions{Last: 30})
	require(t, err)
	var md bytes.Buffer
	require(t, ui.WriteMarkdown(&md, v))
	if !strings.Contains(md.String(), "1 test is named anew each run") {
		t.Errorf("the report does not say the test was renamed:\n%s", md.String())
	}
	checkText(t, "report", md.String())
}
