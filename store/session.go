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
	FlushInterval  time.Duration // how often running parts beat their heartbeat (MongoDB)
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
	// What the store would mask is masked before it is journaled, printed
	// or compared with the run stored (see mask.go).
	maskRun(&s.cfg.Run)
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
