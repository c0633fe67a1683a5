// Package ui serves evalrec's web UI: runs, a run, a test's history,
// trends, comparisons, flaky tests, configurations and change points, each
// page at a stable URL with a JSON twin under /api, and Prometheus metrics
// at /metrics. Its assets are embedded (uPlot draws the charts in the
// browser), so it needs no network.
package ui

import (
	"context"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"evalrec.dev/compare"
	"evalrec.dev/internal/jsonout"
	"evalrec.dev/store"
)

//go:embed assets templates
var files embed.FS

// Options configure the UI.
type Options struct {
	// Project is the project pages show unless ?project= says otherwise
	// ("*" for every project).
	Project string
	// Token, when set, is required on every request: as ?token= (which
	// also sets a cookie), a cookie, or "Authorization: Bearer".
	Token string
	// TestSeries adds per-test series to /metrics.
	TestSeries bool
	// QueryTimeout bounds each page's queries (default 30 s).
	QueryTimeout time.Duration
	// Loopback says the UI listens on loopback only. It then answers only
	// requests whose Host is a loopback name or address (or Addr), as
	// Jupyter does: a web page that rebinds its own DNS name to 127.0.0.1
	// must not read the UI with the user's browser.
	Loopback bool
	// Addr is the host:port the UI listens on.
	Addr string
}

// Server is the UI's http.Handler.
type Server struct {
	db   *store.DB
	opt  Options
	tpl  *template.Template
	mux  *http.ServeMux
	prom http.Handler
	// views keeps the flaky and changes views (see viewCache).
	views viewCache
	// heavy holds the one view being computed that reads a whole run or
	// window (see oneAtATime).
	heavy chan struct{}
}

// New returns the UI for db.
func New(db *store.DB, opt Options) *Server {
	if opt.QueryTimeout == 0 {
		opt.QueryTimeout = 30 * time.Second
	}
	s := &Server{db: db, opt: opt, mux: http.NewServeMux(), heavy: make(chan struct{}, 1)}
	s.tpl = template.Must(template.New("").Funcs(funcs).ParseFS(files, "templates/*.html"))
	assets, _ := fs.Sub(files, "assets")
	s.mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(assets)))
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/runs", http.StatusFound)
	})
	for _, p := range []struct {
		path, tpl string
		view      func(*http.Request) (any, error)
	}{
		{"/runs", "runs", s.runs},
		{"/runs/{ref}", "run", s.run},
		{"/history", "history", s.history},
		{"/trend", "trend", s.trend},
		{"/compare", "compare", s.compare},
		{"/flaky", "flaky", s.flaky},
		{"/configs", "configs", s.configs},
		{"/changes", "changes", s.changes},
	} {
		s.mux.Handle("GET "+p.path, s.page(p.tpl, p.view, false))
		s.mux.Handle("GET /api"+p.path, s.page(p.tpl, p.view, true))
	}
	s.prom = s.metricsHandler()
	s.mux.Handle("GET /metrics", s.prom)
	return s
}

// ServeHTTP checks the token, when there is one, and serves the request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.opt.Loopback && !s.hostAllowed(r.Host) {
		http.Error(w, "evalrec ui: this UI answers only to loopback host names (localhost, 127.0.0.1, [::1]); open it at one of them", http.StatusForbidden)
		return
	}
	if s.opt.Token != "" && !s.authorized(w, r) {
		http.Error(w, "evalrec ui: a token is needed (?token=…, or Authorization: Bearer …)", http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:")
	w.Header().Set("Referrer-Policy", "no-referrer")
	// A token in a page's address would stay in the browser's history and
	// in every link copied from it: the cookie now holds it, so the page
	// is shown again without it.
	if q := r.URL.Query(); q.Has("token") && r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/api/") && r.URL.Path != "/metrics" {
		q.Del("token")
		u := *r.URL
		u.RawQuery = q.Encode()
		http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// hostAllowed reports whether a request's Host names this machine's
// loopback: localhost (and names under .localhost), a loopback address,
// or the address the UI listens on.
func (s *Server) hostAllowed(host string) bool {
	if host == "" {
		return false
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return true
	}
	if bound, _, err := net.SplitHostPort(s.opt.Addr); err == nil && strings.EqualFold(bound, host) {
		return true
	}
	return false
}

const tokenCookie = "evalrec_token"

func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	ok := func(t string) bool { return subtle.ConstantTimeCompare([]byte(t), []byte(s.opt.Token)) == 1 }
	if t := r.URL.Query().Get("token"); t != "" && ok(t) {
		http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: t, HttpOnly: true, SameSite: http.SameSiteStrictMode, Path: "/"})
		return true
	}
	if c, err := r.Cookie(tokenCookie); err == nil && ok(c.Value) {
		return true
	}
	if b, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); found && ok(b) {
		return true
	}
	return false
}

// errNotFound makes a page answer 404.
var errNotFound = errors.New("not found")

// errBadRequest wraps a mistake in the URL.
type errBadRequest struct{ error }

// page serves one view as HTML through its template, or as JSON.
func (s *Server) page(name string, view func(*http.Request) (any, error), asJSON bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.opt.QueryTimeout)
		defer cancel()
		v, err := view(r.WithContext(ctx))
		if err != nil {
			code := http.StatusInternalServerError
			var bad errBadRequest
			switch {
			case errors.Is(err, errNotFound), errors.Is(err, store.ErrNotFound):
				code = http.StatusNotFound
			case errors.As(err, &bad):
				code = http.StatusBadRequest
			}
			if asJSON {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(code)
				_ = jsonout.Write(w, map[string]string{"error": err.Error()})
				return
			}
			w.WriteHeader(code)
			_ = s.tpl.ExecuteTemplate(w, "error", layout{Title: http.StatusText(code), Query: r.URL.Query(), Body: err.Error(), Project: s.scope(r)})
			return
		}
		if asJSON {
			w.Header().Set("Content-Type", "application/json")
			_ = jsonout.Write(w, v)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := s.tpl.ExecuteTemplate(w, name, layout{Title: name, Query: r.URL.Query(), Body: v, Project: s.scope(r), API: apiLink(r.URL)}); err != nil {
			fmt.Fprintf(w, "<pre>template: %s</pre>", template.HTMLEscapeString(err.Error()))
		}
	})
}

// apiLink is the address of a page's JSON twin, without any token.
func apiLink(u *url.URL) string {
	q := u.Query()
	q.Del("token")
	link := "/api" + u.EscapedPath()
	if len(q) > 0 {
		link += "?" + q.Encode()
	}
	return link
}

// layout is what every page template gets.
type layout struct {
	Title   string
	Project string
	Query   url.Values
	API     string // the page's JSON twin
	Body    any
}

// scope is the project a request is about: ?project=, else the UI's
// default; "*" and "" mean every project.
func (s *Server) scope(r *http.Request) string {
	p := r.URL.Query().Get("project")
	if p == "" {
		p = s.opt.Project
	}
	if p == "*" {
		return ""
	}
	return p
}

// said holds the lines every view words the same, by the name templates
// give them.
var said = map[string]string{"no metrics": compare.NoMetricsLine, "no status change": compare.NoStatusChangeLine}

var funcs = template.FuncMap{
	// score, num, signed and pval format a number, a *float64 or nil;
	// what is missing, NaN or infinite shows as "–", never as Go's
	// "%!f(*float64=…)" or "NaN".
	"score":     func(v any) string { return formatNumber(v, "%.2f") },
	"num":       func(v any) string { return formatNumber(v, "%.4g") },
	"signed":    func(v any) string { return formatNumber(v, "%+.4g") },
	"renamed":   compare.RenamedLine,
	"namedAnew": compare.NamedAnewLine,
	"said": func(name string) (string, error) {
		if line, ok := said[name]; ok {
			return line, nil
		}
		return "", fmt.Errorf("no line %q to say", name)
	},
	"pval":  func(v any) string { return formatNumber(v, "%.3g") },
	"fixed": func(v any) string { return formatNumber(v, "%.2f") },
	"ms":    func(v any) string { return formatNumber(v, "%.1f") },
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return t.UTC().Format("2006-01-02 15:04")
	},
	"short": short,
	"deref": deref,
	"chart": func(c Chart) (string, error) {
		b, err := json.Marshal(c.filled())
		return string(b), err
	},
	"list": func(s ...string) []string { return s },
	// css and js inline an embedded asset, for the self-contained report.
	"css": func(name string) (template.CSS, error) {
		b, err := files.ReadFile("assets/" + name)
		return template.CSS(b), err
	},
	"js": func(name string) (template.JS, error) {
		b, err := files.ReadFile("assets/" + name)
		return template.JS(b), err
	},
	"pct": func(v any) string {
		f, ok := number(v)
		if !ok {
			return "–"
		}
		return fmt.Sprintf("%.0f%%", 100*f)
	},
	"strip": func(s string) template.HTML {
		var b strings.Builder
		for _, c := range s {
			fmt.Fprintf(&b, `<span class="%c">%s</span>`, c, map[rune]string{'P': "●", 'F': "✕"}[c])
		}
		return template.HTML(b.String())
	},
}

// number reads a float64 or *float64; ok is false for nil, NaN and ±Inf.
func number(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case *float64:
		if x == nil {
			return 0, false
		}
		f = *x
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// formatNumber formats v with format, or "–" when v is not a finite number.
func formatNumber(v any, format string) string {
	f, ok := number(v)
	if !ok {
		return "–"
	}
	return fmt.Sprintf(format, f)
}

// oneAtATime runs f when no other view that reads a whole run or window
// (a run page, a comparison, flaky tests, change points) is computing:
// two at once, a visit while the warm-up computed, took the server's
// resident set from 130 to 195 MB on 30 runs of 50,000 tests. A view
// found in the cache waits for nothing.
func (s *Server) oneAtATime(ctx context.Context, f func() (any, error)) (any, error) {
	select {
	case s.heavy <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.heavy }()
	return f()
}
