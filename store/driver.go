package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"evalrec.dev/internal/redact"
	"evalrec.dev/model"
	"evalrec.dev/samples"
)

// A Driver keeps evalrec's documents in one kind of store: MongoDB (package
// store/mongo) or an SQLite file (package store/sqlite). Everything above
// it (sessions, journals, replay, finalization, run references) is written
// once, here, against this contract, and store/drivertest checks that
// every driver keeps it.
//
// The rules every driver follows:
//
//   - Inserts of test runs and parts are idempotent: a document whose _id
//     is stored already is counted as a duplicate, never an error, and
//     never overwritten. A run is stored once: a second is an error. The
//     MongoDB-compatible servers evalrec supports have no transactions
//     across documents, so every write must be safe to repeat; SQLite
//     writes each batch in one.
//   - Only a part's own writer replaces it; other writers change a part
//     only by finalizing, which reaps only a part that still runs.
//   - Every method honours ctx's deadline.
//   - A failure of the store itself (unreachable, timed out, disk full) is
//     returned as an error; a document the store refused is reported in
//     [WriteStats.Rejected], so the rest of a batch is still stored.
type Driver interface {
	Close() error
	// Indexes creates what queries need and is missing, idempotently; with
	// recreate, it drops evalrec's indexes and creates them again.
	Indexes(ctx context.Context, recreate bool) error

	// Write applies ws in order: a new run, or what a writer's session
	// has queued. It returns how many of ws it stored when the store
	// fails, or when a run cannot be stored (ErrDuplicateID when a run
	// with its _id is stored, ErrDuplicateName when another run has its
	// evaluation_run_id; both are ErrExists): a driver that writes a
	// batch in one transaction stores none of one that fails (SQLite);
	// another, those before the first it could not write.
	Write(ctx context.Context, ws []Write) (done int, st WriteStats, err error)
	// Finalize reads run, its parts and its test runs' results, and
	// writes what f computes from them: the parts f.Reap returns, over
	// those stored only while they still run, and the run's totals (the
	// fields of model.EvaluationRun that f.Totals sets); it returns the
	// run as written. What it writes must be computed from one state of
	// the run: a driver whose store changes several documents atomically
	// does it once, in one transaction; another repeats it until the
	// parts it reads (their [Fingerprint]) stay the same. Once the run
	// has ended, a driver that keeps digests stores the run's.
	Finalize(ctx context.Context, run model.ID, f Finalizing) (*model.EvaluationRun, error)

	// Runs returns the runs f selects, newest first (by started_at, then
	// _id), with their dependency lists only when f.Whole.
	Runs(ctx context.Context, f RunFilter) ([]model.EvaluationRun, error)
	// Results reads the results of each run's test runs in turn into rs
	// (emptying its rows first, see [samples.Results]) and calls yield with it;
	// it stops at yield's first error and returns it.
	Results(ctx context.Context, runs []model.ID, rs *samples.Results, yield func(*samples.Results) error) error
	// TestHistory returns the runs of one test, newest first, without
	// output: by finished_at, or, in a store that keeps test runs by run,
	// by its run's start and then finished_at; ties by _id.
	TestHistory(ctx context.Context, testID string, f HistoryFilter) ([]model.TestRun, error)
	// TestOutput returns the output of one test run, or ErrNotFound.
	TestOutput(ctx context.Context, testRunID string) (string, error)
	// DeleteRuns deletes the runs with their test runs and parts, children
	// first, and returns how many children it deleted.
	DeleteRuns(ctx context.Context, runs []model.ID) (tests, parts int64, err error)
	// Each calls the callback sc sets with every document of its
	// collection, in _id order, output included, and stops at its first
	// error, which it returns.
	Each(ctx context.Context, sc Scan) error
	// Count counts the documents of a collection (RunsCollection,
	// PartsCollection or TestsCollection); with runs, only the test runs or
	// parts of those runs.
	Count(ctx context.Context, collection string, runs []model.ID) (int64, error)
}

// A Scan says which documents [Driver.Each] reads: the one callback set
// takes those of its collection, with Runs only the parts or test runs of
// those runs.
type Scan struct {
	Runs    []model.ID
	Run     func(*model.EvaluationRun) error
	Part    func(*Part) error
	TestRun func(*model.TestRun) error
}

// Comparable selects the runs another run is compared with by default:
// those of the same project, environment, system and branch (none for
// none) that have ended, started no later than Before, and ran at least one
// of Packages (when there are any).
type Comparable struct {
	Project        string
	Environment    string
	SystemInfoHash string
	Branch         *string
	Before         time.Time // started_at ≤ Before
	Packages       []string
}

// A Write is one document of a batch: a run, a test run or a part to
// insert, or (Replace) a part to write over the stored part with its _id.
// Exactly one of Run, TestRun and Part is set.
type Write struct {
	Run     *model.EvaluationRun
	TestRun *model.TestRun
	Part    *Part
	Replace bool
}

// WriteStats counts what a batch of inserts did.
type WriteStats struct {
	Inserted   int
	Duplicates int // stored already: the write was a no-op
	Rejected   []error
}

func (s *WriteStats) add(o WriteStats) {
	s.Inserted += o.Inserted
	s.Duplicates += o.Duplicates
	s.Rejected = append(s.Rejected, o.Rejected...)
}

// Errors drivers return.
var (
	// ErrNotFound is returned when a query matches nothing.
	ErrNotFound = errors.New("not found")
	// ErrExists is what every error that says a document is stored
	// already is, by errors.Is: ErrDuplicateID and ErrDuplicateName.
	ErrExists = errors.New("stored already")
	// ErrDuplicateID: a run with this _id is stored.
	ErrDuplicateID error = existsError("a run with this _id is stored")
	// ErrDuplicateName: another run has this evaluation_run_id.
	ErrDuplicateName error = existsError("another run has this evaluation_run_id")
	// ErrDamaged is what an error that says the embedded store's file
	// cannot be read as a database is, by errors.Is: nothing is stored
	// into it until it is moved aside.
	ErrDamaged = errors.New("the embedded store's file is damaged")
)

// ReplayAdvice says what stores results spooled because of cause: a
// replay, and for a damaged file, moving it aside first.
func ReplayAdvice(cause error) string {
	if errors.Is(cause, ErrDamaged) {
		return "move the file aside, then `evalrec replay` stores them in a new one"
	}
	return "the next evalrec command stores them, or run `evalrec replay`"
}

// existsError is an error that is ErrExists.
type existsError string

func (e existsError) Error() string        { return string(e) }
func (e existsError) Is(target error) bool { return target == ErrExists }

// An Opener opens a store from a connection string: database names the
// database within it (for SQLite, only a name the journal records).
type Opener func(ctx context.Context, uri, database string, timeout time.Duration) (Driver, error)

var (
	driversMu sync.RWMutex
	drivers   = map[string]Opener{}
)

// Register makes a driver available for connection strings with the given
// schemes ("mongodb", "sqlite"). Drivers register themselves when their
// package is imported, as database/sql drivers do.
func Register(open Opener, schemes ...string) {
	driversMu.Lock()
	defer driversMu.Unlock()
	for _, s := range schemes {
		drivers[s] = open
	}
}

// Scheme is the part of a connection string before "://" or ":".
func Scheme(uri string) string {
	s, _, ok := strings.Cut(uri, ":")
	if !ok {
		return ""
	}
	return strings.ToLower(s)
}

// SQLitePath is the file a sqlite: connection string names.
func SQLitePath(uri string) (string, error) {
	rest, ok := strings.CutPrefix(uri, "sqlite:")
	if !ok {
		return "", fmt.Errorf("%q is not a sqlite: connection string", uri)
	}
	if strings.HasPrefix(rest, "//") {
		u, err := url.Parse(uri)
		if err != nil {
			return "", fmt.Errorf("reading %q: %w", uri, err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return "", fmt.Errorf("%q: an SQLite file is local; write sqlite:PATH or sqlite:///ABSOLUTE/PATH", uri)
		}
		rest = u.Path
	}
	if rest == "" {
		return "", fmt.Errorf("%q names no file: write sqlite:PATH", uri)
	}
	return filepath.Clean(rest), nil
}

// SQLiteURI is the connection string for the SQLite file at path.
func SQLiteURI(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return "sqlite:" + path
}

// Connect opens the store uri names, within timeout, with the driver
// registered for its scheme. Errors never contain a password.
func Connect(ctx context.Context, uri, database string, timeout time.Duration) (*DB, error) {
	scheme := Scheme(uri)
	driversMu.RLock()
	open := drivers[scheme]
	known := make([]string, 0, len(drivers))
	for s := range drivers {
		known = append(known, s+":")
	}
	driversMu.RUnlock()
	if open == nil {
		slices.Sort(known)
		return nil, fmt.Errorf("cannot open %s: the connection string must start with one of %s", redact.URI(uri), strings.Join(known, ", "))
	}
	d, err := open(ctx, uri, database, timeout)
	if err != nil {
		return nil, err
	}
	return NewDB(d, redact.URI(uri), database), nil
}
