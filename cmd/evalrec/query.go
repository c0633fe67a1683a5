package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"

	"evalrec.dev/internal/columns"
	"evalrec.dev/internal/config"
	"evalrec.dev/internal/jsonout"
	"evalrec.dev/internal/logline"
	"evalrec.dev/internal/storeconn"
	"evalrec.dev/internal/storeloc"
	"evalrec.dev/internal/timespec"
	"evalrec.dev/model"
	"evalrec.dev/provenance"
	"evalrec.dev/samples"
	"evalrec.dev/store"
)

// queryFlags are the filters and output options every query command takes.
type queryFlags struct {
	limit       int
	since       string
	tags        string
	env         string
	branch      string
	project     string
	allProjects bool
	json        bool
}

func (q *queryFlags) register(fs *flag.FlagSet, defaultLimit int) {
	fs.IntVar(&q.limit, "limit", defaultLimit, "at most this many results")
	fs.StringVar(&q.since, "since", "", "only since then: a duration (90d, 2w, 12h) or a date (2026-01-31)")
	fs.StringVar(&q.tags, "tag", "", "only runs with these experiment tags (comma-separated; all must match)")
	fs.StringVar(&q.env, "env", "", "only this environment")
	fs.StringVar(&q.branch, "branch", "", "only this git branch")
	registerProject(fs, &q.project, &q.allProjects)
	fs.BoolVar(&q.json, "json", false, "print JSON instead of a table")
}

// registerProject adds -project and -all-projects to fs.
func registerProject(fs *flag.FlagSet, project *string, all *bool) {
	fs.StringVar(project, "project", "", "only this project, a module path (default: the module of the working directory)")
	fs.BoolVar(all, "all-projects", false, "every project on the store")
}

// projectScope is the project a command is scoped to: the one named, else
// the module of the working directory; "" (every project) with
// -all-projects, or outside a module.
func projectScope(project string, all bool) string {
	switch {
	case all:
		return ""
	case project != "":
		return project
	}
	_, path := provenance.ModuleRoot(".")
	return path
}

func (q *queryFlags) runFilter() (store.RunFilter, error) {
	f := store.RunFilter{Project: projectScope(q.project, q.allProjects),
		Tags: config.ParseTags(q.tags), Environment: q.env, Branch: q.branch, Limit: int64(q.limit)}
	if q.since != "" {
		t, err := timespec.Since(q.since, time.Now())
		if err != nil {
			return f, fmt.Errorf("--since %q: %w", q.since, err)
		}
		f.Since = t
	}
	return f, nil
}

// errNothingStored says a query found no embedded store to read.
var errNothingStored = errors.New("nothing stored yet")

// openStore opens the store for a query command. It also stores pending
// spool files and settles runs whose writers died, so what the command shows
// is current.
func openStore(ctx context.Context, env *environment) (*storeconn.Conn, error) {
	cfg, err := config.Load("")
	if err != nil {
		return nil, err
	}
	// A query never creates an SQLite store, the embedded one or one that
	// MONGODB_CONNECTION_STRING names: it has nothing to answer from until
	// a run (or a journal waiting to be stored) is there.
	file := storeloc.EmbeddedFile(cfg)
	if cfg.URISet {
		file = ""
		if store.Scheme(cfg.URI) == "sqlite" {
			if file, err = store.SQLitePath(cfg.URI); err != nil {
				return nil, err
			}
		}
	}
	if file != "" {
		if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
			if pending, _ := store.PendingSpool(cfg.SpoolDir); len(pending) == 0 || cfg.URISet {
				return nil, fmt.Errorf("%w: there is no store at %s (evalrec test stores a run there)", errNothingStored, logline.RelPath(file))
			}
		}
	}
	log := logline.New(env.stderr)
	conn, err := storeconn.Open(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	rep, err := replaySpool(ctx, conn.DB, cfg)
	reportReplay(log, rep, err)
	_, _ = conn.DB.ReapStale(ctx, time.Now(), 20)
	return conn, nil
}

// positional returns the positional arguments of a command whose flags may
// also come after them (evalrec compare A B -n 6): the flag package stops at
// the first positional argument, so parse again after each one.
func positional(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	return pos, nil
}

// runsWithResults returns the runs matching f and a stream of the results
// of their test runs.
func runsWithResults(ctx context.Context, db *store.DB, f store.RunFilter) ([]model.EvaluationRun, samples.ResultStream, error) {
	runs, err := db.Runs(ctx, f)
	if err != nil {
		return nil, nil, err
	}
	return runs, db.Results(ctx, store.IDs(runs)), nil
}

// table starts an aligned table on w.
// Columns are aligned by visible width, so coloured words do not push the
// next column out of line.
func table(w io.Writer) *columns.Writer { return columns.New(w) }

// printJSON prints v as every command's -json does (see jsonout): snake_case
// keys, RFC 3339 times, hex IDs, [] for nothing.
func printJSON(w io.Writer, v any) error { return jsonout.Write(w, v) }

// painter colours text only when stdout is a terminal.
type painter struct{ on bool }

func newPainter(w io.Writer) painter {
	return painter{on: isTerminal(w) && os.Getenv("NO_COLOR") == ""}
}

// isTerminal reports whether f is a terminal (an *os.File on one).
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && isatty.IsTerminal(file.Fd())
}

func (p painter) color(code, s string) string {
	if !p.on {
		return s
	}
	return "\033[" + code + "m" + s + "\033[0m"
}

// status colours a status word: green for good, red for bad.
// runStatus paints a run's lifecycle status by what its tests came to: a
// completed run with failing tests is not green.
func (p painter) runStatus(r model.EvaluationRun) string {
	if r.Status == model.StatusCompleted && r.NumFailed+r.NumIncomplete > 0 {
		return p.color("31", r.Status)
	}
	return p.status(r.Status)
}

func (p painter) status(s string) string {
	switch s {
	case "passed", "completed":
		return p.color("32", s)
	case "failed", "incomplete", "broken", "regression":
		return p.color("31", s)
	case "running", "flaky":
		return p.color("33", s)
	}
	return s
}

// sparkline draws values as a line of block characters, lowest to highest.
func sparkline(values []float64) string {
	if len(values) == 0 {
		return ""
	}
	const bars = "▁▂▃▄▅▆▇█"
	lo, hi := values[0], values[0]
	for _, v := range values {
		lo, hi = min(lo, v), max(hi, v)
	}
	runes := []rune(bars)
	var b strings.Builder
	for _, v := range values {
		i := len(runes) / 2
		if hi > lo {
			i = int((v - lo) / (hi - lo) * float64(len(runes)-1))
		}
		b.WriteRune(runes[i])
	}
	return b.String()
}

// fmtScore shows a score with two decimals, and never as 100.00 when it is
// less: a run with a failure among thousands of tests must not look
// perfect.
func fmtScore(s *float64) string {
	if s == nil {
		return "–"
	}
	out := fmt.Sprintf("%.2f", *s)
	if out == "100.00" && *s < 100 {
		out = "99.99"
	}
	return out
}

func fmtTime(t time.Time) string { return t.Local().Format("2006-01-02 15:04") }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func short(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
