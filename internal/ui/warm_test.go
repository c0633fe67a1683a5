package ui

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"evalrec.dev/internal/histgen"
	"evalrec.dev/internal/storetest"
)

// TestWarmComputesTheFirstViewsWhenRunsLand: Warm computes the flaky and
// changes views once for the runs stored, again when a run lands, and the
// pages (HTML and JSON) then serve what it computed without computing.
func TestWarmComputesTheFirstViewsWhenRunsLand(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	if _, err := histgen.Standard(ctx, st.DB, time.Now()); err != nil {
		t.Fatal(err)
	}
	s := New(st.DB, Options{})
	if n := s.Warm(ctx); n != 2 {
		t.Fatalf("the first warm-up computed %d views, want flaky and changes", n)
	}
	if n := s.Warm(ctx); n != 0 {
		t.Errorf("nothing landed, yet a warm-up computed %d views", n)
	}
	if _, err := histgen.Wide(ctx, st.DB, histgen.WideSpec{Project: "example.com/evals", Runs: 1, Tests: 10}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if n := s.Warm(ctx); n != 2 {
		t.Errorf("a run landed and the warm-up computed %d views, want 2", n)
	}
	before := s.views.computed.Load()
	for _, path := range []string{"/api/flaky", "/flaky", "/api/changes", "/changes"} {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != http.StatusOK {
			t.Errorf("%s: %d", path, w.Code)
		}
	}
	if n := s.views.computed.Load() - before; n != 0 {
		t.Errorf("the pages computed %d views the warm-up had computed", n)
	}
}

// TestAViewBeingComputedIsComputedOnce: who asks for a view while it is
// computed waits for it.
func TestAViewBeingComputedIsComputedOnce(t *testing.T) {
	var c viewCache
	release := make(chan struct{})
	started := make(chan struct{})
	go func() {
		_, _ = c.get(1, func() (any, error) { close(started); <-release; return "v", nil })
	}()
	<-started
	got := make(chan any)
	go func() {
		v, _ := c.get(1, func() (any, error) { return "again", nil })
		got <- v
	}()
	time.Sleep(10 * time.Millisecond) // the second asker is waiting, or about to
	close(release)
	if v := <-got; v != "v" {
		t.Errorf("the second asker got %v, want the view computed once", v)
	}
	if n := c.computed.Load(); n != 1 {
		t.Errorf("computed %d times, want once", n)
	}
}
