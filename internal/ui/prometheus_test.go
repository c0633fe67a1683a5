package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"evalrec.dev/internal/ui"
)

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestPrometheusScrapesTheUI starts a real Prometheus (from Debian: apt-get
// install prometheus) on loopback, has it scrape /metrics with a bearer
// token, and reads the series back through its HTTP API. promtool checks
// the exposition too.
func TestPrometheusScrapesTheUI(t *testing.T) {
	prom, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed (apt-get install prometheus): the scrape test did not run")
	}
	srv, _ := seeded(t, ui.Options{Token: "scrape-token"})

	if promtool, err := exec.LookPath("promtool"); err == nil {
		_, body, _ := get(t, srv.URL+"/metrics", "Authorization", "Bearer scrape-token")
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	}

	dir := t.TempDir()
	target := strings.TrimPrefix(srv.URL, "http://")
	cfg := fmt.Sprintf(`global: {scrape_interval: 1s}
scrape_configs:
  - job_name: evalrec
    authorization: {credentials: scrape-token}
    static_configs: [{targets: [%q]}]
`, target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, prom, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr)
	log, _ := os.Create(filepath.Join(dir, "prometheus.log"))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()

	query := func(q string) []map[string]any {
		resp, err := http.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		var r struct {
			Data struct {
				Result []map[string]any `json:"result"`
			} `json:"data"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&r)
		return r.Data.Result
	}
	deadline := time.Now().Add(60 * time.Second)
	var scores []map[string]any
	for time.Now().Before(deadline) {
		if scores = query(`evalrec_run_score`); len(scores) > 0 {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if len(scores) == 0 {
		b, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
		t.Fatalf("Prometheus has no evalrec_run_score after a minute; its log:\n%s", b)
	}
	labels, _ := scores[0]["metric"].(map[string]any)
	if labels["branch"] != "main" || labels["environment"] == nil || labels["job"] != "evalrec" {
		t.Errorf("labels of evalrec_run_score: %v", labels)
	}
	for _, q := range []string{`evalrec_run_tests{status="failed"}`, `evalrec_run_metric{metric="wer"}`, `evalrec_flaky_tests`, `up{job="evalrec"} == 1`} {
		if len(query(q)) == 0 {
			t.Errorf("Prometheus has no %s", q)
		}
	}
}
