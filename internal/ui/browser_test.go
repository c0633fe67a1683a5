package ui_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"evalrec.dev/internal/ui"
)

// recordingProxy is the browser's proxy: it passes requests for loopback
// on, refuses the rest, and remembers every host the pages asked for (the
// requests whose Referer is a page of the UI). Chromium's own background
// requests (to Google, with no Referer) are counted apart: they are the
// browser's, not the UI's.
type recordingProxy struct {
	mu      sync.Mutex
	page    string // the UI's URL
	hosts   []string
	browser int
}

func (p *recordingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := r.URL.Hostname()
	if r.Method == http.MethodConnect {
		host, _, _ = net.SplitHostPort(r.Host)
	}
	p.mu.Lock()
	if ref := r.Header.Get("Referer"); strings.HasPrefix(ref, p.page) || r.URL.String() == p.page || strings.HasPrefix(r.URL.String(), p.page) {
		p.hosts = append(p.hosts, host)
	} else {
		p.browser++
	}
	p.mu.Unlock()
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() || r.Method == http.MethodConnect {
		http.Error(w, "evalrec browser test: no request leaves localhost", http.StatusBadGateway)
		return
	}
	r.RequestURI = ""
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

var (
	chartDiv = regexp.MustCompile(`<div class="chart"[^>]*>`)
	points   = regexp.MustCompile(`data-points="(\d+)"`)
)

// TestPagesRenderInABrowser loads every page in headless Chromium (from
// Debian: apt-get install chromium; .ci/run installs it where it can),
// checks that each chart was drawn on a canvas with data points, that no
// request left localhost, and saves a screenshot of each page (into
// -screenshots when given, as the README's were made).
func TestPagesRenderInABrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install chromium): the browser test did not run")
	}
	srv, db := seeded(t, ui.Options{})
	proxy := &recordingProxy{page: srv.URL}
	psrv := httptest.NewServer(proxy)
	defer psrv.Close()
	shots := *screenshots
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	profile := t.TempDir()
	browse := func(args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
			"--user-data-dir=" + profile, "--no-first-run", "--disable-background-networking", "--disable-component-update",
			"--disable-sync", "--disable-default-apps", "--disable-extensions", "--metrics-recording-only",
			"--proxy-server=" + psrv.URL, "--proxy-bypass-list=<-loopback>", "--virtual-time-budget=5000", "--window-size=1300,1100"}
		// Headless Chromium now and then dies of a signal on its own
		// (a segmentation fault in the renderer, more often under -race's
		// load): that is tried again, twice; any other failure is one.
		for attempt := 1; ; attempt++ {
			out, err := exec.CommandContext(ctx, chromium, append(base, args...)...).Output()
			var ee *exec.ExitError
			if err == nil {
				return string(out)
			}
			if !errors.As(err, &ee) || ee.ProcessState.Exited() || attempt == 3 {
				t.Fatalf("chromium %v: %v", args, err)
			}
			t.Logf("chromium %v: %v; trying again", args, err)
		}
	}
	// The report is a file of its own, opened as a user opens it.
	s := ui.New(db, ui.Options{})
	rv, err := s.Report(context.Background(), "latest", ui.ReportOptions{Last: 30})
	if err != nil {
		t.Fatal(err)
	}
	var report bytes.Buffer
	if err := s.WriteHTML(&report, rv); err != nil {
		t.Fatal(err)
	}
	reportFile := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(reportFile, report.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{
		"runs": "/runs", "run": "/runs/latest", "history": "/history?test=broken-c", "trend": "/trend?metric=wer",
		"compare": "/compare?base=tag:baseline&cand=tag:candidate&n=6", "flaky": "/flaky", "configs": "/configs", "changes": "/changes",
		"report": "file://" + reportFile,
	} {
		url := srv.URL + path
		if strings.HasPrefix(path, "file://") {
			url = path
		}
		// One browser a page: it prints the DOM and takes the screenshot
		// once the page has loaded (a launch costs about 2 s).
		shot := filepath.Join(shots, name+".png")
		dom := browse("--dump-dom", "--screenshot="+shot, url)
		if fi, err := os.Stat(shot); err != nil || fi.Size() == 0 {
			t.Errorf("%s: no screenshot: %v", path, err)
		}
		if !strings.Contains(dom, "evalrec") || !strings.Contains(dom, "</main>") {
			t.Errorf("%s: the page did not load:\n%.500s", path, dom)
			continue
		}
		// What the browser shows: no Go formatting error, NaN or
		// undefined, and no chart whose script threw.
		checkText(t, name+" in the browser", dom)
		if i := strings.Index(dom, "data-error="); i >= 0 {
			t.Errorf("%s: a chart failed: %.300s", path, dom[i:])
		}
		for _, div := range chartDiv.FindAllString(dom, -1) {
			m := points.FindStringSubmatch(div)
			if !strings.Contains(div, `data-rendered="true"`) || m == nil {
				t.Errorf("%s: a chart was not drawn: %.300s", path, div)
				continue
			}
			if n, _ := strconv.Atoi(m[1]); n == 0 {
				t.Errorf("%s: a chart holds no data points", path)
			}
		}
		if strings.Contains(dom, `class="chart"`) && !strings.Contains(dom, "<canvas") {
			t.Errorf("%s: charts but no canvas", path)
		}
	}
	proxy.mu.Lock()
	defer proxy.mu.Unlock()
	if len(proxy.hosts) == 0 {
		t.Fatal("the proxy saw no request of the UI's: the browser did not use it, so what left localhost cannot be told")
	}
	for _, h := range proxy.hosts {
		if ip := net.ParseIP(h); ip == nil || !ip.IsLoopback() {
			t.Errorf("a request left localhost: %s", h)
		}
	}
	t.Logf("%d requests of the UI's pages, all to loopback (and %d of Chromium's own, refused); screenshots in %s", len(proxy.hosts), proxy.browser, shots)
}
