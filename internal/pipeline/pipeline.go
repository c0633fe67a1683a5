// Package pipeline stores a go test -json stream as one evaluation run: it
// connects package ingest to a store session. The converter and the
// wrapper both use it, so they store the same documents.
package pipeline

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"evalrec.dev/ingest"
	"evalrec.dev/internal/config"
	"evalrec.dev/provenance"
	"evalrec.dev/result"
	"evalrec.dev/store"
)

// Options configure one ingestion.
type Options struct {
	Config *config.Config
	// Source is stored in the run: "converter" or "wrapper".
	Source string
	// Invocation identifies the run. When nil, it is derived from the
	// stream (its first timestamp and package), so ingesting the same
	// stream twice finds the same run and stores nothing new.
	Invocation *provenance.Invocation
	Git        provenance.Git
	Logger     *slog.Logger
	// DB is an open connection to use; when nil, the session connects to
	// Config.URI (and spools if it cannot).
	DB *store.DB
	// Unavailable says the configured server did not answer: results go
	// straight to the spool.
	Unavailable error
	// DryRun, when set, receives the documents instead of the database.
	DryRun io.Writer
	// OnPackage, when set, is called as each package ends.
	OnPackage func(p *ingest.Package, tests PackageCounts)
	// OnFailure, when set, is called for each failed or incomplete test,
	// with its output tail.
	OnFailure func(pkg, name, output string)
	// Tee, when set, receives every byte of the stream as read.
	Tee io.Writer
}

// PackageCounts counts one package's tests by status.
type PackageCounts struct{ Passed, Failed, Skipped, Incomplete int }

// Result says what was ingested.
type Result struct {
	Run        *store.EvaluationRun // nil when the stream held no package
	Stats      ingest.Stats
	Broken     []*ingest.Package // build failures, panics, timeouts, cut streams
	StorageErr error             // results were spooled, or lost
	SpoolPath  string
}

// Ingest reads the stream to its end and stores it. It returns an error only
// when the stream cannot be read; storage problems are in Result.StorageErr.
func Ingest(ctx context.Context, r io.Reader, opts Options) (*Result, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Tee != nil {
		r = io.TeeReader(r, opts.Tee)
	}
	s := &sink{opts: opts, counts: map[string]*PackageCounts{}}
	in := ingest.New(s)
	s.in = in
	rd := ingest.NewReader(r)
	for rd.Scan() {
		if ev := rd.Event(); ev != nil {
			in.Event(ev)
		} else {
			in.BadLine(rd.LineError())
		}
	}
	in.Close()
	res := &Result{Stats: in.Stats, Broken: s.broken}
	if s.session != nil {
		run, err := s.session.Close()
		res.Run, res.StorageErr, res.SpoolPath = run, err, s.session.SpoolPath()
		if run == nil && err != nil {
			// Spooled: report the run as it was going to be stored.
			r := s.session.Run()
			res.Run = &store.EvaluationRun{ID: r.ID, EvaluationRunID: r.EvaluationRunID}
		}
	}
	return res, rd.Err()
}

// sink turns ingest's callbacks into session calls. The session opens on
// the first package, when the stream's start time is known.
type sink struct {
	opts    Options
	in      *ingest.Ingester
	session *store.Session
	counts  map[string]*PackageCounts
	broken  []*ingest.Package
}

func (s *sink) open(at time.Time) {
	cfg := s.opts.Config
	inv := s.opts.Invocation
	if inv == nil {
		first := s.in.FirstTime()
		if first.IsZero() {
			first = at
		}
		inv = &provenance.Invocation{
			Key:     "stream/" + first.UTC().Format(time.RFC3339Nano),
			Started: first.UTC().Truncate(time.Second),
		}
		if cfg.RunID != "" {
			x := provenance.CurrentInvocation(cfg.RunID)
			inv = &x
		}
	}
	sys := provenance.Snapshot(nil)
	// This binary's build information says nothing about the suite; the
	// test binaries announce theirs on the stream (see evalrec.Main), and
	// finalization merges it in.
	sys.Module, sys.Version, sys.GoVersion, sys.Dependencies = "", "", "", nil
	run := store.EvaluationRun{
		ID:              bson.ObjectID(inv.ObjectID()),
		EvaluationRunID: inv.RunID(s.opts.Git),
		StartedAt:       inv.Started,
		GitCommit:       s.opts.Git.Commit,
		GitBranch:       s.opts.Git.Branch,
		GitDirty:        s.opts.Git.Dirty,
		Environment:     cfg.Environment,
		ExperimentTags:  cfg.ExperimentTags,
		System:          sys,
		SystemInfoHash:  sys.Hash(),
		Metrics:         map[string]float64{},
		Status:          store.StatusRunning,
		Source:          s.opts.Source,
	}
	s.session = store.Open(context.Background(), store.SessionConfig{
		URI: cfg.URI, Database: cfg.Database,
		ConnectTimeout: cfg.ConnectTimeout, WriteTimeout: cfg.WriteTimeout, FlushInterval: cfg.FlushInterval,
		SpoolDir: cfg.SpoolDir, Run: run, Logger: s.opts.Logger, DB: s.opts.DB, DryRun: s.opts.DryRun, Unavailable: s.opts.Unavailable,
	})
}

func (s *sink) partID(pkg string) string { return s.session.Run().ID.Hex() + "/" + pkg }

func (s *sink) BeginPackage(name string, at time.Time) {
	if s.session == nil {
		s.open(at)
	}
	s.counts[name] = &PackageCounts{}
	s.session.BeginPart(s.partID(name), name, nil)
}

func (s *sink) Test(t *result.Test) {
	c := s.counts[t.Package]
	if c == nil {
		c = &PackageCounts{}
		s.counts[t.Package] = c
	}
	switch t.Status {
	case result.Passed:
		c.Passed++
	case result.Failed:
		c.Failed++
	case result.Skipped:
		c.Skipped++
	case result.Incomplete:
		c.Incomplete++
	}
	if (t.Status == result.Failed || t.Status == result.Incomplete) && s.opts.OnFailure != nil {
		s.opts.OnFailure(t.Package, t.Name, t.Output)
	}
	s.session.Add(s.partID(t.Package), t)
}

func (s *sink) EndPackage(p *ingest.Package) {
	end := store.PartEnd{Status: store.StatusCompleted, System: p.System, Cached: p.Cached}
	if p.Broken() {
		end.Status = store.StatusFailed
		end.Error = brokenReason(p)
		s.broken = append(s.broken, p)
	}
	s.session.EndPart(s.partID(p.Name), end)
	if s.opts.OnPackage != nil {
		s.opts.OnPackage(p, *s.counts[p.Name])
	}
}

// brokenReason says in one line why a package broke.
func brokenReason(p *ingest.Package) string {
	switch {
	case p.Status == ingest.PackageBuildFailed:
		return fmt.Sprintf("%s: build failed: %s", p.Name, firstLine(p.Output, "# "))
	case p.Status == ingest.PackageIncomplete:
		return fmt.Sprintf("%s: the stream ended before the package did", p.Name)
	case p.Panic != "":
		return fmt.Sprintf("%s: test binary panicked in %s", p.Name, p.Panic)
	case p.FailedWithoutTest():
		return fmt.Sprintf("%s: failed with no failing test (TestMain, init or the binary failed): %s", p.Name, lastLine(p.Output))
	default:
		return fmt.Sprintf("%s: %d tests never finished (killed, -timeout or os.Exit)", p.Name, p.Incomplete)
	}
}

// firstLine returns the first line of s that does not start with skip.
func firstLine(s, skip string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && (skip == "" || !strings.HasPrefix(l, skip)) {
			return l
		}
	}
	return ""
}

// lastLine returns the last non-empty line of s that is not go test's
// closing FAIL line.
func lastLine(s string) string {
	lines := strings.Split(s, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l != "" && l != "FAIL" && !strings.HasPrefix(l, "FAIL\t") {
			return l
		}
	}
	return ""
}
