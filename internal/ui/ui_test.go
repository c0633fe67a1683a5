package ui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"evalrec.dev/internal/histgen"
	"evalrec.dev/internal/storetest"
	"evalrec.dev/internal/ui"
	"evalrec.dev/store"
)

// seeded serves the UI over histgen's standard history: 24 runs, a flaky
// test, a test that broke, a WER regression between tagged runs.
func seeded(t *testing.T, opt ui.Options) (*httptest.Server, *store.DB) {
	t.Helper()
	st := storetest.New(t)
	if _, err := histgen.Standard(context.Background(), st.DB, time.Now()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ui.New(st.DB, opt))
	t.Cleanup(srv.Close)
	return srv, st.DB
}

func get(t *testing.T, url string, header ...string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

var chartData = regexp.MustCompile(`class="chart" data-spec="\{&#34;title&#34;:&#34;[^"]*&#34;x&#34;:\[\d+`)

// TestEveryPageAndItsJSONTwin loads each page as HTML and as JSON, and
// checks what it must show.
func TestEveryPageAndItsJSONTwin(t *testing.T) {
	srv, _ := seeded(t, ui.Options{})
	for _, p := range []struct {
		path   string
		html   []string // in the page
		json   string   // in the JSON twin
		charts bool
	}{
		{"/runs", []string{"completed", "<form class=\"filters\""}, `"runs": [`, true},
		{"/runs?limit=10", []string{"older runs"}, `"next": "/runs?before=`, true},
		{"/runs?tag=candidate&limit=5", []string{"candidate"}, `"experiment_tags": [`, true},
		{"/runs/latest", []string{"broken-c", "Against the previous run", "Metrics"}, `"tests": [`, false},
		{"/history?test=broken-c", []string{"broken-c", "failed"}, `"test_id": "broken-c"`, true},
		{"/trend?metric=wer&by=day", []string{"wer per day"}, `"points": [`, true},
		{"/compare?base=tag:baseline&cand=tag:candidate&n=6", []string{"regress-d", "regression"}, `"verdict": "regression"`, false},
		{"/flaky", []string{"flaky-b", `class="strip"`}, `"strip": "`, false},
		{"/configs", []string{"model=v1", "model=v2"}, `"configs": [`, false},
		{"/changes", []string{"regress-d", "regression"}, `"changes": [`, false},
	} {
		code, body, _ := get(t, srv.URL+p.path)
		if code != http.StatusOK {
			t.Errorf("%s: %d\n%s", p.path, code, body)
			continue
		}
		checkText(t, p.path, body)
		for _, want := range p.html {
			if !strings.Contains(body, want) {
				t.Errorf("%s: no %q in the page", p.path, want)
			}
		}
		if p.charts && !chartData.MatchString(body) {
			t.Errorf("%s: no chart with data", p.path)
		}
		if strings.Contains(body, "http://") || strings.Contains(body, "https://") {
			t.Errorf("%s: the page refers to another site", p.path)
		}
		code, body, h := get(t, srv.URL+"/api"+p.path)
		if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "application/json") || !json.Valid([]byte(body)) {
			t.Errorf("/api%s: %d %s", p.path, code, h.Get("Content-Type"))
			continue
		}
		if !strings.Contains(body, p.json) {
			t.Errorf("/api%s: no %q in\n%.600s", p.path, p.json, body)
		}
	}
}

func TestMistakesAnswerWithTheirCode(t *testing.T) {
	srv, _ := seeded(t, ui.Options{})
	for path, want := range map[string]int{
		"/runs/no-such-run":         http.StatusNotFound,
		"/api/runs/no-such-run":     http.StatusNotFound,
		"/history":                  http.StatusBadRequest,
		"/history?test=nope":        http.StatusNotFound,
		"/runs?since=yesterdayish":  http.StatusBadRequest,
		"/trend?by=month":           http.StatusBadRequest,
		"/assets/uPlot.iife.min.js": http.StatusOK,
	} {
		if code, body, _ := get(t, srv.URL+path); code != want {
			t.Errorf("%s: %d, want %d\n%.300s", path, code, want, body)
		}
	}
}

func TestATokenGuardsEveryPage(t *testing.T) {
	srv, _ := seeded(t, ui.Options{Token: "s3cret"})
	if code, _, _ := get(t, srv.URL+"/runs"); code != http.StatusUnauthorized {
		t.Errorf("without the token: %d", code)
	}
	if code, _, _ := get(t, srv.URL+"/metrics?token=wrong"); code != http.StatusUnauthorized {
		t.Errorf("with a wrong token: %d", code)
	}
	// ?token= sets the cookie and shows the page again without it, so the
	// token stays out of the browser's history and of copied links.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(srv.URL + "/runs?branch=main&token=s3cret")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Set-Cookie"), "evalrec_token=s3cret") || resp.Header.Get("Location") != "/runs?branch=main" {
		t.Errorf("?token=: %d, cookie %q, location %q", resp.StatusCode, resp.Header.Get("Set-Cookie"), resp.Header.Get("Location"))
	}
	code, body, _ := get(t, srv.URL+"/runs/latest?x=1", "Cookie", "evalrec_token=s3cret")
	if code != http.StatusOK || strings.Contains(body, "s3cret") {
		t.Errorf("a page with the cookie: %d; the token in the page: %v", code, strings.Contains(body, "s3cret"))
	}
	if !strings.Contains(body, `href="/api/runs/latest?x=1"`) {
		t.Error("the page's JSON link is missing")
	}
	if code, _, _ := get(t, srv.URL+"/api/runs?token=s3cret"); code != http.StatusOK {
		t.Errorf("a JSON twin with ?token=: %d", code)
	}
	if code, _, _ := get(t, srv.URL+"/runs", "Cookie", "evalrec_token=s3cret"); code != http.StatusOK {
		t.Errorf("the cookie: %d", code)
	}
	if code, _, _ := get(t, srv.URL+"/metrics", "Authorization", "Bearer s3cret"); code != http.StatusOK {
		t.Errorf("a bearer token: %d", code)
	}
}

// TestALoopbackUIAnswersOnlyToLoopbackNames: a page of evil.example whose
// name was rebound to 127.0.0.1 reaches the UI with Host: evil.example,
// and is refused.
func TestALoopbackUIAnswersOnlyToLoopbackNames(t *testing.T) {
	srv, _ := seeded(t, ui.Options{Loopback: true, Addr: "127.0.0.1:8080"})
	for host, want := range map[string]int{
		"evil.example": http.StatusForbidden, "evil.example:8080": http.StatusForbidden, "127.0.0.1.nip.io": http.StatusForbidden,
		"localhost:8080": http.StatusOK, "127.0.0.1:8080": http.StatusOK, "[::1]:8080": http.StatusOK, "LOCALHOST": http.StatusOK,
		"app.localhost:8080": http.StatusOK, "127.0.0.2": http.StatusOK,
	} {
		code, body, _ := get(t, srv.URL+"/api/runs?project=*", "Host", host)
		if code != want {
			t.Errorf("Host %s: %d, want %d", host, code, want)
		}
		if want == http.StatusForbidden && strings.Contains(body, "evaluation_run_id") {
			t.Errorf("Host %s: runs were served", host)
		}
	}
}

func TestMetricsExportTheLatestRuns(t *testing.T) {
	srv, _ := seeded(t, ui.Options{TestSeries: true})
	code, body, _ := get(t, srv.URL+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("%d\n%s", code, body)
	}
	for _, want := range []string{
		`evalrec_run_score{branch="main",environment=`,
		`evalrec_run_tests{`,
		`status="failed"`,
		`evalrec_run_metric{`,
		`metric="wer"`,
		`evalrec_flaky_tests{`,
		`evalrec_test_score{`,
		`test_id="broken-c"`,
		"evalrec_store_up 1",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("no %q in\n%s", want, body)
		}
	}
}

func TestTheReportStandsAlone(t *testing.T) {
	st := storetest.New(t)
	if _, err := histgen.Standard(context.Background(), st.DB, time.Now()); err != nil {
		t.Fatal(err)
	}
	s := ui.New(st.DB, ui.Options{})
	v, err := s.Report(context.Background(), "tag:candidate", ui.ReportOptions{Baseline: "tag:baseline", BaselineRuns: 6, Last: 10})
	if err != nil {
		t.Fatal(err)
	}
	var html, md bytes.Buffer
	if err := s.WriteHTML(&html, v); err != nil {
		t.Fatal(err)
	}
	if err := ui.WriteMarkdown(&md, v); err != nil {
		t.Fatal(err)
	}
	h := html.String()
	for _, want := range []string{"uPlot", "regress-d", "regression", "The last 10 runs"} {
		if !strings.Contains(h, want) {
			t.Errorf("HTML report: no %q", want)
		}
	}
	if strings.Contains(h, " src=") || strings.Contains(h, " href=\"/") {
		t.Error("the HTML report fetches something")
	}
	if !chartData.MatchString(h) {
		t.Error("the HTML report has no chart with data")
	}
	m := md.String()
	for _, want := range []string{"## evalrec: run ", "| regress-d | wer |", "regression", "```mermaid"} {
		if !strings.Contains(m, want) {
			t.Errorf("Markdown report: no %q in\n%s", want, m)
		}
	}
}

// TestAWideRunsPageListsItsFailuresFirst is the page of a run of 3,000
// tests: it lists 1,000 of them, failures first, says so, and lists them
// all when asked.
func TestAWideRunsPageListsItsFailuresFirst(t *testing.T) {
	st := storetest.New(t)
	truth, err := histgen.Wide(context.Background(), st.DB, histgen.WideSpec{Project: "example.com/wide", Runs: 2, Tests: 3000, Packages: 3}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ui.New(st.DB, ui.Options{Project: "example.com/wide"}))
	t.Cleanup(srv.Close)
	var v struct {
		Tests []struct {
			TestID string `json:"test_id"`
			Status string `json:"status"`
		} `json:"tests"`
		TestsTotal int `json:"tests_total"`
	}
	_, body, _ := get(t, srv.URL+"/api/runs/latest")
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	if v.TestsTotal != 3000 || len(v.Tests) != 1000 {
		t.Fatalf("the page lists %d of %d tests, want 1,000 of 3,000", len(v.Tests), v.TestsTotal)
	}
	if v.Tests[0].Status != "failed" || !strings.Contains(body, truth.NewlyFailing) {
		t.Errorf("the failures come first: the first listed is %+v, and %s should be listed", v.Tests[0], truth.NewlyFailing)
	}
	if _, page, _ := get(t, srv.URL+"/runs/latest"); !strings.Contains(page, "1000 of 3000 tests, failures first") {
		t.Error("the page does not say it lists some tests only")
	}
	_, body, _ = get(t, srv.URL+"/api/runs/latest?tests=all")
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Tests) != 3000 {
		t.Errorf("?tests=all lists %d tests, want 3,000", len(v.Tests))
	}
}

// TestTheFlakyAndChangesPagesFollowNewRuns reads the two cached views,
// stores a run, and reads them again: they count it.
func TestTheFlakyAndChangesPagesFollowNewRuns(t *testing.T) {
	srv, db := seeded(t, ui.Options{})
	count := func(path string) int {
		t.Helper()
		var v struct {
			Runs int `json:"runs"`
		}
		_, body, _ := get(t, srv.URL+path)
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return v.Runs
	}
	flaky, changes := count("/api/flaky"), count("/api/changes")
	if count("/api/flaky") != flaky || count("/api/changes") != changes {
		t.Fatal("the same store gave two answers")
	}
	if _, err := histgen.Wide(context.Background(), db, histgen.WideSpec{Project: "example.com/evals", Runs: 1, Tests: 10}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := count("/api/flaky"); got != flaky+1 {
		t.Errorf("flaky counts %d runs after one more was stored, want %d", got, flaky+1)
	}
	if got := count("/api/changes"); got != changes+1 {
		t.Errorf("changes counts %d runs after one more was stored, want %d", got, changes+1)
	}
}
