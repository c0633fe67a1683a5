// Package logline prints evalrec's log records as short single lines,
// "evalrec: message", which is what a person reading test output wants.
package logline

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// New returns a logger that writes "evalrec: msg key=value…" lines to w.
// Debug records are dropped.
func New(w io.Writer) *slog.Logger {
	return slog.New(&handler{w: w, alerts: w, mu: &sync.Mutex{}})
}

// WithAlerts is New, with warnings and errors going to alerts instead of w:
// a test binary's notes go to its own output, which go test shows only with
// -v, and its warnings to where they are always seen.
func WithAlerts(w, alerts io.Writer) *slog.Logger {
	return slog.New(&handler{w: w, alerts: alerts, mu: &sync.Mutex{}})
}

type handler struct {
	w      io.Writer
	alerts io.Writer
	mu     *sync.Mutex
	attrs  []slog.Attr
}

func (h *handler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h *handler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString("evalrec: ")
	if r.Level >= slog.LevelError {
		b.WriteString("error: ")
	}
	b.WriteString(r.Message)
	write := func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	b.WriteByte('\n')
	w := h.w
	if r.Level >= slog.LevelWarn {
		w = h.alerts
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(w, b.String())
	return err
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	return &handler{w: h.w, alerts: h.alerts, mu: h.mu, attrs: append(h.attrs[:len(h.attrs):len(h.attrs)], as...)}
}

func (h *handler) WithGroup(string) slog.Handler { return h }

// RelPath shortens p relative to the working directory when that is shorter
// and stays below it, for messages people read. A test binary runs in its
// package's directory, which is not where its user stands: a path that
// climbs out ("../.evalrec/spool") would mislead them, so it stays absolute.
func RelPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if r, err := filepath.Rel(wd, p); err == nil && len(r) < len(p) && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}
