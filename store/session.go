package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"evalrec.dev/internal/logline"
	"evalrec.dev/internal/redact"
	"evalrec.dev/journal"
	"evalrec.dev/model"
	"evalrec.dev/provenance"
	"evalrec.dev/result"
	"evalrec.dev/samples"
)

// SessionConfig configures a [Session].
type SessionConfig struct {
	URI, Database  string
	ConnectTimeout time.Duration // reaching the server at start
	WriteTimeout   time.Duration // each batch
	FlushInterval  time.Duration // how often running parts beat their heartbeat
	// SpoolDir holds the session's journal, which becomes the spool when
	// the store fails. Empty: no journal.
	SpoolDir string
	// Run is the evaluation run to create, or to join when another writer
	// of the same invocation created it first. ID and EvaluationRunID must
	// be set.
	Run    model.EvaluationRun
	Logger *slog.Logger
	// DB, when set, is used instead of connecting to URI; the session then
	// leaves it open on Close.
	DB *DB
	// Unavailable, when set, says the server was already found unreachable:
	// the session keeps everything in its journal without trying again.
	Unavailable error
	// DryRun, when set, receives every document the session would store, as
	// JSON lines (relaxed Extended JSON), and nothing is stored or spooled.
	// The run document comes last, with its final totals.
	DryRun io.Writer
	// BufferJournal buffers the journal's writes: for a source that can
	// simply be read again (a saved file), where a crash loses the
	// journal's tail, which reading the source again restores; or for a
	// live one that calls FlushJournal whenever it has handed on what it
	// read. Either way each result costs no system call of its own.
	BufferJournal bool

	// replay is set when the session replays a journal: it writes none of
	// its own, takes parts as recorded, and leaves other runs alone.
	replay bool
}

// A Session is the single writer of one process to one evaluation run. It
// never blocks the caller on the network: a background goroutine connects,
// creates or joins the run, and writes batches (within flushDelay of a
// result, or at once when a batch fills), while Add buffers.
//
// Everything a session is given goes first to its journal (package journal),
// synchronously, so a process that dies loses nothing it recorded. When the
// store cannot be reached at start, or fails mid-run, the session says so
// once, stops writing to it, and keeps the journal as the spool. No caller
// sees an error before Close.
type Session struct {
	cfg SessionConfig
	log *slog.Logger
	// rc is what each test run repeats. The session's goroutine may change
	// its EvaluationRunID while opening (a lengthened or joined run), so
	// callers' goroutines read the fixed runID instead.
	rc    RunContext
	runID model.ID
	// opened holds rc once it is final (the run is created or joined, or
	// storing failed): from then on Add builds each test run's document
	// itself, off the goroutine that writes them, whose inserts are the
	// longest serial step of storing a run.
	opened atomic.Pointer[RunContext]

	db     *DB
	ownsDB bool
	jn     *journal.Writer // nil: no journal (turned off, or it could not be created)
	jnErr  error           // why there is no journal

	mu      sync.Mutex
	drained *sync.Cond // signalled when a flush takes the queue
	queue   []op
	spare   []op // an emptied queue, whose array the next queue reuses
	waiting bool // the loop was told (on soon) that results wait in queue
	parts   map[string]*Part
	failure error  // first storage failure; from then on nothing is sent
	lost    int    // results neither stored nor in the journal
	added   int    // results given to Add
	spooled string // the sealed journal, once Close made it the spool
	notes   []string

	// runDeps are the dependencies the stored run document lists, once it
	// is known (created or joined); a part repeats only different ones.
	runDeps []provenance.Module
	// created says this session inserted the run document (rather than
	// joining it), and so is the one to settle earlier runs left running.
	created bool

	// stored holds the results of the test runs this session stored (the
	// flushing goroutine's, under flushMu), so that finalizing need not
	// read them back (see [Finalizing.Stored]); nil once a write was
	// refused, failed or found its test run stored already.
	stored       *samples.Results
	storedBroken bool
	// totalled holds the results Close totalled the run from.
	totalled *samples.Results

	flushMu sync.Mutex
	kick    chan struct{} // flush now
	soon    chan struct{} // results wait in the buffer: flush within flushDelay
	stop    chan struct{}
	done    chan struct{}
	reapCtx context.Context
	endReap context.CancelFunc
	closed  bool
	dry     *dryRun // DryRun's printer
}

// flushAt is how many buffered ops start a flush before the timer does.
const flushAt = 100

// flushDelay is the longest a result waits in the buffer while fewer than
// flushAt are buffered. It keeps what is left to write when a test binary
// ends small: on FerretDB each test document costs about 0.15 ms to insert,
// and each InsertMany about 0.8 ms more, so writing every 50 ms rather than
// every 100 results costs little and takes most of the writing off the end
// of the binary.
const flushDelay = 50 * time.Millisecond

// maxQueue bounds the buffered ops. A writer that produces faster than the
// server stores (the converter on a large stream) waits in Add until a flush
// takes the queue, so memory stays bounded: at most about two queues are
// held, one being written and one filling.
const maxQueue = 10000

// Open starts a session and returns at once: the session's goroutine
// connects (bounded by ConnectTimeout) and creates or joins the run document
// while the caller goes on, so a test binary does not wait for the server
// before its first test. Open never fails: when storage is unavailable the
// session keeps its journal as the spool, and [Session.Err] reports why.
func Open(ctx context.Context, cfg SessionConfig) *Session {
	s := &Session{
		cfg:   cfg,
		log:   cfg.Logger,
		parts: map[string]*Part{},
		kick:  make(chan struct{}, 1),
		soon:  make(chan struct{}, 1),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.drained = sync.NewCond(&s.mu)
	s.reapCtx, s.endReap = context.WithCancel(context.Background())
	if s.cfg.Run.ExperimentTags == nil {
		s.cfg.Run.ExperimentTags = []string{} // stored as [], never null, as the seed's queries expect
	}
	if s.cfg.Run.Packages == nil {
		s.cfg.Run.Packages = []string{}
	}
	s.setRunContext()
	s.runID = s.cfg.Run.ID
	switch {
	case cfg.DryRun != nil:
		s.dry = newDryRun(cfg.DryRun, s.log)
	case cfg.replay:
	case cfg.SpoolDir == "":
		s.jnErr = errors.New("no spool directory")
	default:
		s.jn, s.jnErr = journal.Create(cfg.SpoolDir, journal.Header{Target: s.target(), Run: s.cfg.Run},
			journal.Options{Buffered: cfg.BufferJournal})
	}
	go s.loop(context.WithoutCancel(ctx))
	return s
}

// target names the store for the journal.
func (s *Session) target() journal.Target {
	switch {
	case s.cfg.DB != nil:
		return journal.Target{Store: s.cfg.DB.Label(), Database: s.cfg.DB.name}
	}
	return journal.Target{Store: redact.URI(s.cfg.URI), Database: s.cfg.Database}
}

// open connects and creates or joins the run. It runs first on the
// session's goroutine, before any flush, so the run and the run's ID are
// settled before the first document that repeats them is built (see
// resolve).
func (s *Session) open(ctx context.Context) {
	if s.dry != nil {
		return
	}
	db := s.cfg.DB
	switch {
	case s.cfg.Unavailable != nil:
		s.fail(s.cfg.Unavailable, "")
		return
	case db == nil:
		var err error
		if db, err = Connect(ctx, s.cfg.URI, s.cfg.Database, s.cfg.ConnectTimeout); err != nil {
			s.fail(err, "")
			return
		}
		s.ownsDB = true
	}
	s.db = db
	if err := s.createRun(ctx); err != nil {
		s.fail(err, "")
	}
}

// setRunContext derives the run context from the run. The session's
// goroutine calls it when it joins or renames the run while callers read
// it through Run, so it holds s.mu.
func (s *Session) setRunContext() {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.cfg.Run
	s.rc = RunContext{
		ID: r.ID, EvaluationRunID: r.EvaluationRunID, Environment: r.Environment, Project: r.Project,
		GitCommit: r.GitCommit, GitBranch: r.GitBranch,
	}
}

// createRun inserts the run document, or joins the run another writer of the
// same invocation created. Writers of one invocation compute the same _id;
// when a run of another invocation already has this evaluation_run_id (an
// explicit run ID used twice), this run is stored under the ID lengthened
// with part of its _id, and the session says so.
//
// The unique index that detects such a run is in place from the store's
// first run on: the writer that creates a run ensures the indexes next, in
// the background (see loop), so that no test binary waits for them.
func (s *Session) createRun(ctx context.Context) error {
	asked := s.cfg.Run.EvaluationRunID
	for attempt := 0; attempt < 2; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, s.cfg.WriteTimeout)
		err := s.db.InsertRun(cctx, &s.cfg.Run)
		cancel()
		switch {
		case err == nil:
			s.created = true
			s.runDeps = s.cfg.Run.System.Dependencies
			if s.cfg.Run.EvaluationRunID != asked && !s.cfg.replay {
				s.note(fmt.Sprintf("run ID %s is taken by an earlier run of another invocation; this run is stored as %s", asked, s.cfg.Run.EvaluationRunID))
			}
			return nil
		case errors.Is(err, ErrDuplicateID):
			// Joined: take the creator's ID (it may have been lengthened).
			cctx, cancel := context.WithTimeout(ctx, s.cfg.WriteTimeout)
			existing, err := s.db.drv.Run(cctx, RunKey{ID: s.cfg.Run.ID})
			cancel()
			if err != nil {
				return err
			}
			s.joined(*existing)
			return nil
		case errors.Is(err, ErrDuplicateName):
			// Another run has this evaluation_run_id: lengthen ours.
			s.cfg.Run.EvaluationRunID += "-" + s.cfg.Run.ID.Hex()[8:16]
			s.setRunContext()
		default:
			return err
		}
	}
	return fmt.Errorf("evaluation_run_id %s is taken by another run", s.cfg.Run.EvaluationRunID)
}

// joined adopts the stored run, and says so when it was stored with other
// settings: ingesting a stream again with other tags changes nothing.
func (s *Session) joined(existing model.EvaluationRun) {
	mine := s.cfg.Run
	s.cfg.Run.EvaluationRunID = existing.EvaluationRunID
	s.setRunContext()
	s.runDeps = existing.System.Dependencies
	if s.cfg.replay {
		return
	}
	if mine.Environment != existing.Environment || !slices.Equal(result.MergeSet(nil, mine.ExperimentTags), result.MergeSet(nil, existing.ExperimentTags)) {
		s.note(fmt.Sprintf("run %s was stored before from the same invocation with environment %q and tags %v; it keeps those (this one asked for %q and %v), and results already stored are not changed",
			existing.EvaluationRunID, existing.Environment, existing.ExperimentTags, mine.Environment, mine.ExperimentTags))
	}
}

// note says something once, on the session's logger, and keeps it for
// [Session.Notes].
func (s *Session) note(msg string) {
	s.mu.Lock()
	s.notes = append(s.notes, msg)
	s.mu.Unlock()
	s.log.Warn(msg)
}

// Notes returns what the session said about the run itself (a lengthened
// run ID, a run joined with other settings).
func (s *Session) Notes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.notes)
}

// Run returns the context every test run of this session repeats. Its
// EvaluationRunID is final only once the run is created or joined in the
// background: read it after Close.
func (s *Session) Run() RunContext {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rc
}

// BeginPart registers a part of the run: a test binary or a package. deps
// are the part's dependencies; the part stores them only when the run does
// not already list the same, which keeps parts small for FerretDB's scans.
func (s *Session) BeginPart(id, pkg string, deps []provenance.Module) {
	s.BeginPartAt(id, pkg, deps, time.Time{})
}

// BeginPartAt is BeginPart for a part that started at a known time (the
// stream's own); zero means now.
func (s *Session) BeginPartAt(id, pkg string, deps []provenance.Module, at time.Time) {
	host, _ := os.Hostname()
	if at.IsZero() {
		at = time.Now()
	}
	s.beginPart(journal.Begin{Part: id, Package: pkg, Host: host, PID: os.Getpid(),
		StartedAt: at.UTC().Truncate(time.Millisecond), Dependencies: deps})
}

func (s *Session) beginPart(b journal.Begin) {
	s.jn.Write(journal.Record{Begin: &b})
	p := &Part{
		ID: b.Part, EvaluationRunID: s.runID, Package: b.Package, Host: b.Host, PID: b.PID, StartedAt: b.StartedAt,
		HeartbeatAt: time.Now().UTC().Truncate(time.Millisecond), Status: model.StatusRunning, Dependencies: b.Dependencies,
	}
	if s.jn != nil && b.PID == os.Getpid() {
		// This process's journal, locked while it runs; absolute, for
		// other processes, whatever their directory, to find.
		p.Journal, _ = filepath.Abs(s.jn.Path())
	}
	s.mu.Lock()
	s.parts[p.ID] = p
	s.queue = append(s.queue, op{kind: opInsertPart, part: new(*p)})
	s.mu.Unlock()
	s.wake()
}

// Add records one finished test in a part. It completes t, writes it to
// the journal, builds its document once the run is open (before, the
// session's goroutine does, see resolve) and returns; the document is
// stored in the background. The caller must not change t afterwards.
func (s *Session) Add(partID string, t *result.Test) {
	t.Complete()
	journaled := s.jn.Write(journal.Record{Test: journal.NewTest(partID, t, false)})
	o := op{kind: opInsertTest, test: t, journaled: journaled}
	if rc := s.opened.Load(); rc != nil {
		o.doc, o.test = NewTestRun(*rc, t), nil
	}
	s.mu.Lock()
	s.added++
	for len(s.queue) >= maxQueue && !s.closed {
		s.wake()
		s.drained.Wait()
	}
	if p := s.parts[partID]; p != nil {
		p.Summary.Add(t)
		if s.dry != nil {
			p.Values.Add(t)
		}
	}
	s.queue = append(s.queue, o)
	n := len(s.queue)
	tell := !s.waiting
	s.waiting = true
	s.mu.Unlock()
	switch {
	case n >= flushAt:
		s.wake()
	case tell:
		select {
		case s.soon <- struct{}{}:
		default:
		}
	}
}

// FlushJournal writes what a buffered journal holds (see
// SessionConfig.BufferJournal).
func (s *Session) FlushJournal() { s.jn.Flush() }

// Provisional writes a finished test to the journal only, before all of it
// is known: a failed test whose output testing has not printed yet. Should
// the process die before the test is added, replay stores this record; once
// it is added, the added one counts.
func (s *Session) Provisional(partID string, t *result.Test) {
	c := *t
	c.Complete()
	s.jn.Write(journal.Record{Test: journal.NewTest(partID, &c, true)})
}

// resolve builds the documents that depend on the run as stored: test runs
// repeat its ID (which joining may have lengthened), and a part omits
// dependencies the run lists. It runs on the session's goroutine, after
// open, so that Add and BeginPart need not wait for the server; the test
// runs Add was given once the run was open have their documents already.
func (s *Session) resolve(ops []op) {
	rc := s.Run()
	for i := range ops {
		o := &ops[i]
		switch {
		case o.test != nil:
			o.doc, o.test = NewTestRun(rc, o.test), nil
		case o.kind != opInsertTest && s.runDeps != nil && slices.Equal(o.part.Dependencies, s.runDeps):
			o.part.Dependencies = nil
		}
	}
}

// EndPart closes a part.
func (s *Session) EndPart(partID string, end journal.PartEnd) {
	end.Error = redact.Text(end.Error) // quotes the package's output
	s.jn.Write(journal.Record{End: &journal.End{Part: partID, PartEnd: end}})
	now := time.Now().UTC().Truncate(time.Millisecond)
	finished := now
	if !end.At.IsZero() {
		finished = end.At.UTC().Truncate(time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.parts[partID]
	if p == nil {
		return
	}
	p.Status, p.ExitCode, p.Error, p.FinishedAt, p.HeartbeatAt = end.Status, end.ExitCode, end.Error, &finished, now
	p.Cached, p.System = end.Cached, end.System
	s.queue = append(s.queue, op{kind: opReplacePart, part: new(*p)})
}

// Close writes everything buffered, finalizes the run and disconnects. It
// returns the first storage failure, if any (the results are then in the
// spool, or counted as lost), so strict mode can fail the suite.
func (s *Session) Close() (*model.EvaluationRun, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, s.Err()
	}
	s.closed = true
	s.drained.Broadcast()
	s.mu.Unlock()
	s.endReap()
	close(s.stop)
	<-s.done
	s.flush()

	if s.dry != nil {
		return s.closeDry(), nil
	}
	var run *model.EvaluationRun
	if s.Err() == nil {
		if !s.cfg.replay && s.cfg.SpoolDir != "" {
			// A binary of this run that died left its journal: store what
			// it recorded before the run's totals are computed.
			s.replayRun()
		}
		var err error
		if run, err = s.finalize(); err != nil {
			s.fail(err, "finalizing the run")
		}
	}
	s.closeJournal()
	if s.db != nil && s.ownsDB {
		_ = s.db.drv.Close()
	}
	return run, s.Err()
}

// replayRun replays the journals of this run whose writers died.
func (s *Session) replayRun() {
	rep, err := s.db.replay(context.Background(), s.cfg.SpoolDir, s.cfg.WriteTimeout, s.rc.ID.Hex()+".")
	if err != nil {
		s.log.Warn(fmt.Sprintf("recovering results of this run from %s: %v", logline.RelPath(s.cfg.SpoolDir), err))
	}
	if rep.Files > 0 {
		s.log.Info(fmt.Sprintf("recovered %d results of %d test binaries of this run that died (%s)", rep.Tests, rep.Files, strings.Join(rep.Recovered, "; ")))
	}
}

// closeJournal removes the journal when everything is stored, and otherwise
// keeps it as the spool and says, in one line, what was lost, why, and
// what the next command recovers.
func (s *Session) closeJournal() {
	s.mu.Lock()
	failure := s.failure
	s.mu.Unlock()
	if failure == nil {
		if s.jn != nil {
			s.jn.Remove()
		}
		return
	}
	if s.jn == nil {
		if n := s.Lost(); n > 0 {
			s.log.Error(fmt.Sprintf("%d results of this run are lost: storing failed (%v), and no journal could be written to %s (%v)",
				n, failure, logline.RelPath(s.cfg.SpoolDir), s.jnErr))
		}
		return
	}
	path, err := s.jn.Seal(true)
	unwritten, dropped := s.jn.Lost()
	s.mu.Lock()
	s.lost += unwritten
	lost, total := s.lost, s.added
	s.spooled = path
	s.mu.Unlock()
	if err == nil && lost == 0 {
		return
	}
	if lost == 0 {
		// Every result is in the journal; sealing it failed.
		s.log.Warn(fmt.Sprintf("closing %s failed (%v); its results are kept, and the next evalrec command (or `evalrec replay`) stores them", logline.RelPath(path), err))
		return
	}
	s.log.Error(fmt.Sprintf("%d of %d results of this run are lost: storing failed (%v), and %s; the other %d were stored or are in the journal, and the next evalrec command (or `evalrec replay`) stores them",
		lost, total, failure, journal.LossCause(path, err, dropped), total-lost))
}

// finalize finalizes the run unless another part of it is still alive, in
// which case that part will. This is safe: every part writes its end before
// it reads the others, so the last part to write its end sees every other
// end and finalizes. Parts whose process is gone (same host) or whose
// heartbeat is stale do not count as alive, so a killed binary never stops
// the others from finalizing. The run returned is then as created.
func (s *Session) finalize() (*model.EvaluationRun, error) {
	ctx := context.Background()
	parts, err := s.db.readParts(ctx, s.rc.ID)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	s.mu.Lock()
	mine := make(map[string]bool, len(s.parts))
	for id := range s.parts {
		mine[id] = true
	}
	s.mu.Unlock()
	for _, p := range parts {
		if !mine[p.ID] && p.Status == model.StatusRunning && !dead(p, now, s.db.onOneMachine()) {
			run := s.cfg.Run
			return &run, nil
		}
	}
	s.flushMu.Lock()
	stored := s.stored
	s.flushMu.Unlock()
	run, totalled, err := s.db.finalize(ctx, s.rc.ID, now, stored)
	s.totalled = totalled
	return run, err
}

// Results returns the results of every test run of the run, as Close
// totalled it from them, or nil when Close did not (the store failed, or
// another writer of the run will): a caller that compares the run with
// another need not read them back.
func (s *Session) Results() *samples.Results { return s.totalled }

// Err returns the first storage failure, or nil.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.lost > 0 && s.failure != nil:
		return fmt.Errorf("%w; %d results could not be spooled either and are lost", s.failure, s.lost)
	case s.lost > 0:
		return fmt.Errorf("%d results could not be written to the journal and are lost", s.lost)
	}
	return s.failure
}

// Spooled reports whether the store failed, so that results are kept for
// replay (or lost, when the journal failed too).
func (s *Session) Spooled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failure != nil
}

// JournalPath is the journal this session writes, or "" without one.
func (s *Session) JournalPath() string {
	if s.jn == nil {
		return ""
	}
	return s.jn.Path()
}

// SpoolPath is the spool file that holds this session's results for
// replay, once Close has sealed it, or "" when there is none: everything
// was stored, or the spool could not be written.
func (s *Session) SpoolPath() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spooled
}

// Lost counts the results that were neither stored nor spooled.
func (s *Session) Lost() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lost
}

func (s *Session) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *Session) loop(ctx context.Context) {
	defer close(s.done)
	s.open(ctx)
	rc := s.Run()
	s.opened.Store(&rc)
	if s.created && !s.cfg.replay && !s.Spooled() {
		if err := s.db.drv.Indexes(context.Background(), false); err != nil {
			s.log.Warn(fmt.Sprintf("%v; results are stored, but queries may be slow: run `evalrec indexes`", err))
		}
	}
	t := time.NewTicker(s.cfg.FlushInterval)
	defer t.Stop()
	delay := time.NewTimer(flushDelay)
	delay.Stop()
	delayed := false
	reaped := false
	for {
		select {
		case <-s.stop:
			return
		case <-s.kick:
		case <-s.soon:
			if !delayed {
				delay.Reset(flushDelay)
				delayed = true
			}
			continue
		case <-delay.C:
			delayed = false
		case <-t.C:
			s.heartbeat()
		}
		s.flush()
		if !reaped && s.created && !s.cfg.replay && !s.Spooled() {
			// Runs left "running" by killed binaries of earlier invocations
			// are settled here, off the test goroutine, by the one writer
			// that created this run rather than by every package's.
			reaped = true
			_, _ = s.db.ReapStale(s.reapCtx, time.Now(), 20, s.rc.ID)
		}
	}
}

func (s *Session) heartbeat() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failure != nil || s.dry != nil {
		return
	}
	// On one machine, the journal's lock says a part's writer lives.
	byLock := s.db.onOneMachine()
	now := time.Now().UTC().Truncate(time.Millisecond)
	for _, p := range s.parts {
		if p.Status == model.StatusRunning && !(byLock && p.Journal != "") {
			// The summary rides along, so a binary killed later still
			// counts what it flushed: it covers exactly the tests queued
			// before this op, which are written before it.
			p.HeartbeatAt = now
			s.queue = append(s.queue, op{kind: opReplacePart, part: new(*p)})
		}
	}
}

// flush writes the queue to the store. Once the store has failed it writes
// nothing: the journal holds every result, and results that are not in it
// are counted as lost.
func (s *Session) flush() {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	ops := s.queue
	s.queue, s.spare = s.spare, nil
	s.waiting = false
	failed := s.failure != nil
	s.drained.Broadcast()
	s.mu.Unlock()
	if len(ops) == 0 {
		return
	}
	defer func() {
		clear(ops)
		s.mu.Lock()
		s.spare = ops[:0]
		s.mu.Unlock()
	}()
	if s.dry != nil {
		s.resolve(ops)
		s.dry.testRuns(ops)
		return
	}
	if failed {
		s.drop(ops)
		return
	}
	s.resolve(ops)
	kept := func() {}
	var st WriteStats
	done, err := s.db.apply(context.Background(), s.cfg.WriteTimeout, ops, &st, func() { kept = s.keepStored(ops) })
	kept()
	if err != nil || len(st.Rejected) > 0 || st.Duplicates > 0 {
		s.stored, s.storedBroken = nil, true
	}
	if len(st.Rejected) > 0 {
		s.log.Warn(fmt.Sprintf("the store rejected %d writes: %v", len(st.Rejected), st.Rejected[0]))
		s.mu.Lock()
		s.recordFailure(errors.Join(st.Rejected...))
		s.mu.Unlock()
	}
	if err != nil {
		s.fail(err, "mid-run")
		s.drop(ops[done:])
	}
}

// keepStored adds the results of the test runs ops store to s.stored, on
// a goroutine of its own while the store writes them (apply has masked
// them: their documents no longer change), and returns a function that
// waits for it. The caller drops them all when a write was
// refused, failed or stored already (so that they hold each test run
// once, see [Finalizing.Stored]). Only the embedded store's finalizing
// takes them (MongoDB's reads its runs' rows on the server), so a test
// binary writing to MongoDB holds none.
func (s *Session) keepStored(ops []op) (wait func()) {
	if !s.db.onOneMachine() || s.storedBroken {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.addStored(ops)
	}()
	return func() { <-done }
}

func (s *Session) addStored(ops []op) {
	for i := range ops {
		if ops[i].kind != opInsertTest {
			continue
		}
		if s.stored == nil {
			s.stored = &samples.Results{KeepIDs: true}
			s.stored.Reset(ops[i].doc.EvaluationRunID)
		}
		s.stored.Add(&ops[i].doc)
	}
}

// drop gives up sending ops to the store: those not in the journal are
// lost.
func (s *Session) drop(ops []op) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range ops {
		if o.kind == opInsertTest && !o.journaled {
			s.lost++
		}
	}
}

// fail records a storage failure and switches the session to its journal,
// saying so once. Without a journal, Close says what was lost.
func (s *Session) fail(cause error, when string) {
	s.mu.Lock()
	if s.failure != nil {
		s.mu.Unlock()
		return
	}
	s.recordFailure(cause)
	s.mu.Unlock()
	if s.jn == nil || s.jn.Failed() != nil {
		return
	}
	what := cause.Error()
	if when != "" {
		what = fmt.Sprintf("storing failed %s: %v", when, cause)
	}
	s.log.Warn(fmt.Sprintf("%s: results spooled to %s; run `evalrec replay`", what, logline.RelPath(s.cfg.SpoolDir)))
}

func (s *Session) recordFailure(err error) {
	if s.failure == nil {
		s.failure = err
	}
}

// closeDry prints the parts and the run, with the totals Finalize would
// compute from them were they stored.
func (s *Session) closeDry() *model.EvaluationRun {
	s.mu.Lock()
	parts := make([]Part, 0, len(s.parts))
	for _, p := range s.parts {
		parts = append(parts, *p)
	}
	s.mu.Unlock()
	return s.dry.end(s.cfg.Run, parts)
}
