package ui_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"evalrec.dev/internal/histgen"
	"evalrec.dev/internal/storetest"
	"evalrec.dev/internal/ui"
)

// BenchmarkPages times each page, as the browser gets it (HTML), over an
// embedded store of -testruns test runs (default 100,000: 1,000 runs of
// 100 tests). bench/run.sh runs it (section ui).
func BenchmarkPages(b *testing.B) {
	size := *benchTestRuns
	st := storetest.New(b)
	if err := histgen.Bulk(context.Background(), st.DB, size/100, 100, time.Now()); err != nil {
		b.Fatal(err)
	}
	s := ui.New(st.DB, ui.Options{Project: "example.com/bulk"})
	for _, p := range []struct{ name, path string }{
		{"runs", "/runs"},
		{"run", "/runs/latest"},
		{"history", "/history?test=example.com/bulk.TestCase0001"},
		{"trend", "/trend?metric=score"},
		{"compare", "/compare?base=latest~1&cand=latest"},
		{"flaky", "/flaky"},
		{"configs", "/configs"},
		{"changes", "/changes"},
		{"metrics", "/metrics"},
	} {
		b.Run(p.name, func(b *testing.B) {
			for b.Loop() {
				w := httptest.NewRecorder()
				s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, p.path, nil))
				if w.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", p.path, w.Code, w.Body.String())
				}
			}
		})
	}
}
