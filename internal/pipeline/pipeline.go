// Package pipeline stores a go test -json stream as one evaluation run: it
// connects package ingest to a store session. The converter and the
// wrapper both use it, so they store the same documents.
package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	"evalrec.dev/ingest"
	"evalrec.dev/internal/config"
	"evalrec.dev/internal/metricfile"
	"evalrec.dev/internal/storeloc"
	"evalrec.dev/journal"
	"evalrec.dev/model"
	"evalrec.dev/provenance"
	"evalrec.dev/result"
	"evalrec.dev/samples"
	"evalrec.dev/store"
)

// Options configure one ingestion.
type Options struct {
	Config *config.Config
	// Source is stored in the run: "converter" or "wrapper".
	Source string
	// TestsSelected says go test was told to run some tests only.
	TestsSelected bool
	// Invocation identifies the run. When nil, it is derived from the
	// stream's first event line, so ingesting the same stream again finds
	// the same run and stores nothing new, and no other stream finds it.
	Invocation *provenance.Invocation
	Git        provenance.Git
	Logger     *slog.Logger
	// DB is an open connection to use; when nil, the session opens the
	// store Config names (and spools if it cannot).
	DB *store.DB
	// Unavailable says the store could not be opened: results go straight
	// to the spool, meant for the store Config names.
	Unavailable error
	// DryRun, when set, receives the documents instead of the database.
	DryRun io.Writer
	// Live says the stream comes from tests running now (a pipe, or the
	// wrapper's go test): finished tests are handed on within
	// ingest.MaxHold, so a killed reader loses at most that much. A saved
	// file is read without that, and its journal is buffered (reading the
	// file again is its recovery).
	Live bool
	// Stopped, when set, says why the stream was cut short on purpose
	// (interrupted by a signal), or "" when it was not.
	Stopped func() string
	// OnPackage, when set, is called as each package ends.
	OnPackage func(p *ingest.Package, tests PackageCounts)
	// OnFailure, when set, is called for each failed or incomplete test,
	// with its output tail.
	OnFailure func(pkg, name, output string)
	// OnTest, when set, is called as each test is handed on to be stored,
	// complete (its output masked, its score computed).
	OnTest func(t *result.Test)
	// OnEvent, when set, is called with each event as it is read, before
	// the ingester sees it.
	OnEvent func(ev *ingest.Event)
	// Tee, when set, receives every byte of the stream as read.
	Tee io.Writer
}

// PackageCounts counts one package's tests by status.
type PackageCounts struct{ Passed, Failed, Skipped, Incomplete int }

// Result says what was ingested.
type Result struct {
	Run        *model.EvaluationRun // nil when the stream held no package
	Stats      ingest.Stats
	Broken     []*ingest.Package // build failures, panics, timeouts, cut streams
	StorageErr error             // results were spooled, or lost
	SpoolPath  string
	// Notes are what the session said about the run itself: a run joined
	// with other settings, a run ID that was taken.
	Notes []string
	// NotStarted says why go test started no test when it did not (a usage
	// error, a wrong package, not a module): nothing was stored.
	NotStarted string
	// Results are the results of every test run of Run, as it was
	// totalled, or nil (see [store.Session.Results]).
	Results *samples.Results
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
	s := &sink{opts: opts, counts: map[string]*PackageCounts{}, current: map[string]string{},
		heldEnded: map[*ingest.Package]bool{}, reported: map[*ingest.Package]bool{}}
	in := ingest.New(s)
	s.in = in
	s.defs = &metricfile.File{}
	if root, _ := provenance.ModuleRoot("."); root != "" {
		f, err := metricfile.Load(root)
		if err != nil {
			// Said once, and kept with every package's part, so the
			// stored run says it too.
			s.warning = fmt.Sprintf("%v; its definitions are not used", err)
			opts.Logger.Warn(s.warning)
		}
		s.defs = f
	}
	rd := ingest.NewReader(r)
	sc := scanAhead(rd)

	// The ingester is not safe for concurrent use: the release ticker and
	// the reading loop take turns under mu.
	var mu sync.Mutex
	stopTicker := func() {}
	if opts.Live {
		done := make(chan struct{})
		ticked := make(chan struct{})
		go func() {
			defer close(ticked)
			t := time.NewTicker(ingest.MaxHold / 4)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					mu.Lock()
					in.Release()
					s.flushJournal()
					mu.Unlock()
				}
			}
		}()
		stopTicker = func() { close(done); <-ticked }
	}
	for batch := range sc.batches {
		mu.Lock()
		for i := range batch.lines {
			l := &batch.lines[i]
			if l.err != nil {
				in.BadLine(l.err)
				continue
			}
			if s.firstLine == nil {
				s.firstLine = batch.first
			}
			if opts.OnEvent != nil {
				opts.OnEvent(&l.ev)
			}
			in.Event(&l.ev)
		}
		if opts.Live {
			// A live stream's batch ends where the stream paused (or
			// after batchLines): what it finished is journaled now.
			s.flushJournal()
		}
		mu.Unlock()
		sc.done(batch)
	}
	stopTicker()
	in.Close()
	res := &Result{Stats: in.Stats, Broken: s.broken}
	if s.session == nil && len(s.held) > 0 {
		res.NotStarted = s.notStarted
	}
	if s.session != nil {
		run, err := s.session.Close()
		res.Run, res.StorageErr, res.SpoolPath = run, err, s.session.SpoolPath()
		res.Notes = s.session.Notes()
		res.Results = s.session.Results()
		if run == nil && err != nil {
			// Spooled: report the run as it was going to be stored.
			r := s.session.Run()
			res.Run = &model.EvaluationRun{ID: r.ID, EvaluationRunID: r.EvaluationRunID}
		}
	}
	return res, rd.Err()
}

// A scanned line is an event, or err says why the line is not one. lo and
// hi are its bytes in its batch's arena, until it is decoded.
type scanned struct {
	ev     ingest.Event
	err    *ingest.LineError
	line   int
	lo, hi int
}

// A batch of lines, in stream order. first is the stream's first event
// line, in the batch that holds it.
type batch struct {
	lines   []scanned
	arena   []byte        // the lines' bytes
	first   []byte        // a copy
	decoded chan struct{} // closed once every line is decoded
}

// batchLines bounds a batch. A batch is also sent whenever the next line
// is not in memory yet, so that a live stream's events never wait for more.
const batchLines = 256

// A scanner reads a stream's lines on a goroutine of its own and decodes
// them on as many goroutines as there are cores (up to 4), so that
// decoding (the converter's longest step: 0.30 of its 0.56 s on a 100 MB
// stream) is spread over the cores and overlaps ingesting and storing.
// Batches come out in stream order.
type scanner struct {
	batches chan batch // closed at the end of the stream; rd.Err is then set
	free    chan batch // batches' arrays, given back for the next batches
}

func scanAhead(rd *ingest.Reader) *scanner {
	decoders := min(runtime.GOMAXPROCS(0), 4)
	sc := &scanner{batches: make(chan batch, 4), free: make(chan batch, 2*decoders+8)}
	work := make(chan *batch, decoders)
	order := make(chan *batch, 2*decoders)
	for range decoders {
		go func() {
			for b := range work {
				for i := range b.lines {
					l := &b.lines[i]
					if l.err == nil {
						l.err = ingest.Decode(l.line, b.arena[l.lo:l.hi], &l.ev)
					}
				}
				close(b.decoded)
			}
		}()
	}
	go func() {
		defer close(order)
		defer close(work)
		b := sc.next()
		for rd.ScanLine() {
			l := scanned{err: rd.LineError(), line: rd.Line()}
			if l.err == nil {
				l.lo = len(b.arena)
				b.arena = append(b.arena, rd.Raw()...)
				l.hi = len(b.arena)
			}
			b.lines = append(b.lines, l)
			if len(b.lines) >= batchLines || !rd.Buffered() {
				order <- b
				work <- b
				b = sc.next()
			}
		}
		if len(b.lines) > 0 {
			order <- b
			work <- b
		}
	}()
	go func() {
		defer close(sc.batches)
		seen := false
		for b := range order {
			<-b.decoded
			if !seen {
				for _, l := range b.lines {
					if l.err == nil {
						b.first, seen = bytes.Clone(b.arena[l.lo:l.hi]), true
						break
					}
				}
			}
			sc.batches <- *b
		}
	}()
	return sc
}

// next returns an empty batch: one given back when there is one (a live
// stream sends a batch a line), else a new one.
func (sc *scanner) next() *batch {
	select {
	case b := <-sc.free:
		b.decoded = make(chan struct{})
		return &b
	default:
		return &batch{lines: make([]scanned, 0, batchLines), decoded: make(chan struct{})}
	}
}

// done gives a batch's arrays back once its events are ingested (the
// ingester copies what it keeps of an event). An arena that held a huge
// line is let go.
func (sc *scanner) done(b batch) {
	clear(b.lines)
	if cap(b.arena) > maxArena {
		b.arena = nil
	}
	select {
	case sc.free <- batch{lines: b.lines[:0], arena: b.arena[:0]}:
	default:
	}
}

// maxArena is the largest arena a scanner keeps for its next batches.
const maxArena = 1 << 20

// sink turns ingest's callbacks into session calls. The session opens on
// the first package, when the stream's start time is known.
type sink struct {
	opts      Options
	in        *ingest.Ingester
	session   *store.Session
	firstLine []byte
	// warning is a one-line problem every part of the run carries, such
	// as an evalrec.yaml that could not be read.
	warning string
	// current is the part of each package's lifetime in progress: a
	// package that the stream runs again gets a part per lifetime.
	current map[string]string
	counts  map[string]*PackageCounts // by part
	broken  []*ingest.Package
	// held are the packages begun before the run was opened, heldEnded
	// those of them that ended before any test could start (see
	// BeginPackage).
	held      []*ingest.Package
	heldEnded map[*ingest.Package]bool
	reported  map[*ingest.Package]bool // told to OnPackage
	// notStarted says why the first package that never started did not.
	notStarted string
	// defs are the module's evalrec.yaml, for metrics that came as bare
	// numbers.
	defs *metricfile.File
}

func (s *sink) open(at time.Time) {
	cfg := s.opts.Config
	inv := s.opts.Invocation
	if inv == nil {
		first := s.in.FirstTime()
		if first.IsZero() {
			first = at
		}
		if first.IsZero() {
			first = time.Now() // a stream without times: go tool test2json without -t
		}
		x := provenance.StreamInvocation(s.firstLine, first, cfg.RunID)
		inv = &x
	}
	// The module in the working directory, as the go command builds it: the
	// same snapshot a test binary of it announces on the stream (see
	// evalrec.Main), which finalization merges in with the declared system
	// under test. It is read here, once go test has begun, and not earlier:
	// go test -mod=mod may have just added requirements to go.mod.
	sys := provenance.SnapshotOf(".")
	_, project := provenance.ModuleRoot(".")
	run := store.NewRun(store.RunStart{Invocation: *inv, Git: s.opts.Git, Environment: cfg.Environment,
		ExperimentTags: cfg.ExperimentTags, System: sys, Source: s.opts.Source, Project: project, TestsSelected: s.opts.TestsSelected})
	s.session = store.Open(context.Background(), store.SessionConfig{
		URI: storeloc.URI(cfg), Database: cfg.Database,
		ConnectTimeout: cfg.ConnectTimeout, WriteTimeout: cfg.WriteTimeout, FlushInterval: cfg.FlushInterval,
		SpoolDir: cfg.SpoolDir, Run: run, Logger: s.opts.Logger, DB: s.opts.DB, DryRun: s.opts.DryRun,
		Unavailable: s.opts.Unavailable, BufferJournal: true,
	})
}

// flushJournal writes the journal's buffer once the session is open.
func (s *sink) flushJournal() {
	if s.session != nil {
		s.session.FlushJournal()
	}
}

// partID names a package lifetime's part: the first lifetime's is
// RUN/PACKAGE, later ones add #N.
func (s *sink) partID(pkg string, occurrence int) string {
	id := s.session.Run().ID.Hex() + "/" + pkg
	if occurrence > 1 {
		id += fmt.Sprintf("#%d", occurrence)
	}
	return id
}

// BeginPackage holds a package until the run has something to store: a
// test, or a package that ended other than before its tests could start
// (see ingest.Package.NeverStarted). A go test that never started a test (a
// mistyped flag, a wrong package, a directory that is not a module) so
// stores nothing.
func (s *sink) BeginPackage(p *ingest.Package) {
	if s.session == nil {
		s.held = append(s.held, p)
		return
	}
	s.begin(p)
}

// release opens the run and stores the packages held until now.
func (s *sink) release() {
	held := s.held
	s.held = nil
	for _, p := range held {
		s.begin(p)
		if s.heldEnded[p] {
			s.end(p)
		}
	}
}

func (s *sink) begin(p *ingest.Package) {
	if s.session == nil {
		s.open(p.Started)
	}
	id := s.partID(p.Name, p.Occurrence)
	s.current[p.Name] = id
	s.counts[id] = &PackageCounts{}
	s.session.BeginPartAt(id, p.Name, nil, p.Started)
}

func (s *sink) Test(t *result.Test) {
	if s.session == nil {
		s.release()
	}
	t.ApplyDefinitions(s.defs.Lookup, s.defs.ScoreMethod)
	id := s.current[t.Package]
	c := s.counts[id]
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
	failed := t.Status == result.Failed || t.Status == result.Incomplete
	if failed && s.opts.OnFailure != nil || s.opts.OnTest != nil {
		t.Complete() // masks secrets in the output before anyone sees it
	}
	if failed && s.opts.OnFailure != nil {
		s.opts.OnFailure(t.Package, t.Name, t.Output)
	}
	if s.opts.OnTest != nil {
		s.opts.OnTest(t)
	}
	s.session.Add(id, t)
}

func (s *sink) EndPackage(p *ingest.Package) {
	if s.session == nil {
		if p.NeverStarted() {
			s.heldEnded[p] = true
			if s.notStarted == "" {
				// Now: the ingester lets go of the output after this call.
				s.notStarted = fmt.Sprintf("%s: %s", p.Name, notStartedReason(p.Output))
			}
			s.report(p, PackageCounts{})
			return
		}
		s.release()
	}
	s.end(p)
}

// report tells OnPackage that p ended, once.
func (s *sink) report(p *ingest.Package, n PackageCounts) {
	if s.opts.OnPackage != nil && !s.reported[p] {
		s.reported[p] = true
		s.opts.OnPackage(p, n)
	}
}

func (s *sink) end(p *ingest.Package) {
	id := s.current[p.Name]
	end := journal.PartEnd{Status: model.StatusCompleted, System: p.System, Cached: p.Cached, At: p.Ended}
	if p.Broken() || p.Interleaved {
		end.Status = model.StatusFailed
		end.Error = s.brokenReason(p)
		s.broken = append(s.broken, p)
	}
	if s.warning != "" {
		end.Error = strings.TrimPrefix(end.Error+"; warning: "+s.warning, "; ")
	}
	s.session.EndPart(id, end)
	s.report(p, *s.counts[id])
}

// brokenReason says in one line why a package broke, and first that the
// run was interrupted, when it was.
func (s *sink) brokenReason(p *ingest.Package) string {
	stopped := ""
	if s.opts.Stopped != nil {
		stopped = s.opts.Stopped()
	}
	why := s.why(p, stopped)
	if stopped != "" && p.Status != ingest.PackageIncomplete {
		why = stopped + ": " + why
	}
	return why
}

// Why says in one line why a package broke (see ingest.Package.Broken).
func Why(p *ingest.Package) string { return (&sink{}).why(p, "") }

func (s *sink) why(p *ingest.Package, stopped string) string {
	switch {
	case p.Interleaved:
		return fmt.Sprintf("%s: the stream mixes two go test runs of this package line by line (its times go backwards): every test result is stored, but which run each belongs to cannot be told; ingest each stream on its own", p.Name)
	case p.Status == ingest.PackageBuildFailed:
		return fmt.Sprintf("%s: build failed: %s", p.Name, firstLine(p.Output, "# "))
	case p.Status == ingest.PackageIncomplete && stopped != "":
		return fmt.Sprintf("%s: %s before the package ended", p.Name, stopped)
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

// notStartedReason picks the line of a package's output that says why its
// tests never started: the test binary's "flag provided but not defined",
// else the first line of the build output.
func notStartedReason(output string) string {
	for _, l := range strings.Split(output, "\n") {
		if strings.Contains(l, "flag provided but not defined") {
			return strings.TrimSpace(l)
		}
	}
	return firstLine(output, "# ")
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

// ReportStream says, in one line each, what in a stream was unusual: late
// attributes, packages run more than once, streams mixed together.
func ReportStream(w io.Writer, prefix string, st ingest.Stats) {
	if st.LateAttrs > 0 {
		fmt.Fprintf(w, "%s%d attributes arrived after their test had ended (Record called from a goroutine that outlived its test) and were ignored\n", prefix, st.LateAttrs)
	}
	if st.Rerun > 0 {
		fmt.Fprintf(w, "%sthe stream runs packages more than once (%d times more: reruns or concatenated streams); each execution is stored, as a further attempt of its test\n", prefix, st.Rerun)
	}
	if st.Interleaved > 0 {
		fmt.Fprintf(w, "%s%d packages mix two go test runs line by line (their times go backwards); every result is stored, the run is marked failed: ingest each stream on its own\n", prefix, st.Interleaved)
	}
}
