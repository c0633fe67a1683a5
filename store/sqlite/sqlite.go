// Package sqlite keeps evalrec's documents in one SQLite file: the embedded
// store, which needs no server. Importing it registers sqlite: connection
// strings (sqlite:PATH, or sqlite:///ABSOLUTE/PATH) with [store.Connect].
//
// Many processes share the file at once (the wrapper, the converter, every
// test binary of a go test run, queries): the file is in WAL mode, so
// readers never wait for writers, and writers queue for each other with a
// busy timeout instead of failing. Each table keeps the columns that
// queries filter and sort on, every one of which is indexed, and the rest
// of the document as JSON beside them; a finished run's results are also
// kept in one value, its digest, which the statistics read instead of its
// rows (see [Store.Results]).
//
// It uses modernc.org/sqlite, SQLite translated to Go: no cgo, so a user's
// test binary builds as before. See the README for why over
// ncruces/go-sqlite3.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"

	json "github.com/goccy/go-json"
	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"

	"evalrec.dev/internal/dotdir"
	"evalrec.dev/internal/logline"
	"evalrec.dev/model"
	"evalrec.dev/store"
)

func init() {
	store.Register(func(ctx context.Context, uri, database string, timeout time.Duration) (store.Driver, error) {
		path, err := store.SQLitePath(uri)
		if err != nil {
			return nil, err
		}
		return Open(ctx, path)
	}, "sqlite")
}

// busyTimeout is how long a writer waits for another process's write
// before it gives up; each call's context bounds it too.
const busyTimeout = 30 * time.Second

// Store is an open SQLite file.
type Store struct {
	db   *sql.DB
	path string
}

// Open opens the file at path, creating it (and its directory) with
// evalrec's tables when missing.
func Open(ctx context.Context, path string) (*Store, error) {
	if err := dotdir.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("creating the directory of the embedded store: %w", err)
	}
	q := url.Values{}
	for _, p := range []string{
		fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()),
		"journal_mode(WAL)",
		// In WAL mode, NORMAL loses nothing when a process dies; only a
		// power cut may lose the last transactions.
		"synchronous(NORMAL)",
		// Pages are read with pread, not mapped: a mapped page counts in
		// the process's resident memory, and on 30 runs of 50,000 tests
		// mapping took evalrec tests from 77 MB to 126 MB and ingesting
		// a run from 110 MB to 136 MB, for no gain in time (measured
		// side by side; see README Performance).
		"mmap_size(0)",
	} {
		q.Add("_pragma", p)
	}
	// Write transactions take the write lock when they begin, so two
	// writers never both read and then deadlock upgrading.
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	s := &Store{db: db, path: path}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening %s: %w", path, describe(err))
	}
	return s, nil
}

// Path is the file.
func (s *Store) Path() string { return s.path }

// Close closes the file. It leaves the planner's statistics alone: on a
// store never analysed, PRAGMA optimize at close analysed the test runs,
// 2.4 s on 1.5 million of them (even with analysis_limit), and the
// second's deadline cut it short, so every command paid 1.1 s and 1 GB of
// mapped pages for nothing. The indexes serve the queries without
// statistics; evalrec indexes gathers them.
func (s *Store) Close() error { return s.db.Close() }

// DB exposes the database, for tests and tools.
func (s *Store) DB() *sql.DB { return s.db }

// schemaVersion is stored in PRAGMA user_version. Version 2 added
// run_digests: a run stored before gains its digest when a query first
// reads it (see [Store.Results]). Version 3 moved each test run's document
// into its row, without what the columns hold, and its output into
// test_outputs: 1.6 KB a test run became about 0.6 KB. Version 4 keeps the
// runs in a rowid table (see schema). Version 5 keys test runs by run and
// test, without the history index (see schema). A file of an earlier
// version is migrated when it is first opened (see migrate).
const schemaVersion = 5

// schema creates the tables. Times are Unix milliseconds; ObjectIDs are
// hex. doc holds a document as JSON, without what has a column of its own
// (for a test run, see testRunColumns).
//
// evaluation_runs is a rowid table: a WITHOUT ROWID table keeps at most
// about 1,000 bytes of a row in its b-tree page, a run's row is larger,
// and SQLite reads each row's overflow page with a system call of its
// own, past its page cache (trend, reading 1,000 runs, spent 43% of its
// time there).
var schema = []string{
	`CREATE TABLE IF NOT EXISTS evaluation_runs (
		id TEXT PRIMARY KEY,
		evaluation_run_id TEXT NOT NULL UNIQUE,
		started_at INTEGER NOT NULL,
		project TEXT,
		environment TEXT NOT NULL,
		git_branch TEXT,
		status TEXT NOT NULL,
		system_info_hash TEXT NOT NULL,
		score REAL,
		hostname TEXT,
		dependencies BLOB,
		doc BLOB NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS run_tags (
		tag TEXT NOT NULL,
		run TEXT NOT NULL,
		PRIMARY KEY (tag, run)
	) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS run_packages (
		run TEXT NOT NULL,
		package TEXT NOT NULL,
		PRIMARY KEY (run, package)
	) WITHOUT ROWID`,
	// test_runs holds a run's test runs together, by test (the key begins
	// with the run, then the test), each with the columns queries filter,
	// sort and count on and the rest of its document (see testRunColumns).
	// A test's history is a lookup in each run (see TestHistory): an
	// index by test would take an entry of each new test run in a page of
	// its own, which on a store of 20 runs of 50,000 tests cost storing a
	// run 4 s of its 8.
	`CREATE TABLE IF NOT EXISTS test_runs (
		run TEXT NOT NULL,
		id TEXT NOT NULL,
		test_id TEXT NOT NULL,
		test_name TEXT NOT NULL,
		package TEXT NOT NULL,
		attempt INTEGER NOT NULL,
		finished_at INTEGER NOT NULL,
		status TEXT NOT NULL,
		score REAL,
		cached INTEGER NOT NULL,
		project TEXT,
		environment TEXT NOT NULL,
		git_branch TEXT,
		doc BLOB NOT NULL,
		PRIMARY KEY (run, test_id, id)
	) WITHOUT ROWID`,
	// test_outputs holds the output of failed test runs, by test run id:
	// large text, kept out of the rows that queries read.
	`CREATE TABLE IF NOT EXISTS test_outputs (
		id TEXT PRIMARY KEY,
		output TEXT NOT NULL
	)`,
	// run_digests holds each finished run's results, encoded by
	// samples.EncodeDigest: what the statistics read, in one value a run.
	`CREATE TABLE IF NOT EXISTS run_digests (
		run TEXT PRIMARY KEY,
		digest BLOB NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS evaluation_run_parts (
		id TEXT PRIMARY KEY,
		run TEXT NOT NULL,
		status TEXT NOT NULL,
		doc BLOB NOT NULL
	) WITHOUT ROWID`,
}

// indexes serve every filter and sort the CLI uses. A run's test runs are
// stored together (the table's key begins with the run), so reading them
// is one range, and a test's run in a run is one lookup. The runs'
// indexes end in id for the order the commands show (newest first, then
// by _id), which their rowid table does not give.
var indexes = []string{
	`CREATE INDEX IF NOT EXISTS runs_started_at ON evaluation_runs (started_at, id)`,
	`CREATE INDEX IF NOT EXISTS runs_project_started_at ON evaluation_runs (project, started_at, id)`,
	`CREATE INDEX IF NOT EXISTS runs_status_started_at ON evaluation_runs (status, started_at, id)`,
	`CREATE INDEX IF NOT EXISTS parts_run ON evaluation_run_parts (run)`,
}

var indexNames = []string{"runs_started_at", "runs_project_started_at", "runs_status_started_at", "parts_run"}

// Progress is where a migration says how far it got: migrating the test
// runs of a large store takes minutes.
var Progress io.Writer = os.Stderr

// migrate creates the tables and indexes of a new file, once, and brings
// the file of an earlier version to this one: the first process to take
// the write lock does it, and the others, waiting for the lock, find it
// done.
func (s *Store) migrate(ctx context.Context) error {
	var v int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	switch {
	case v == schemaVersion:
		return nil
	case v > schemaVersion:
		return fmt.Errorf("the file was written by a newer evalrec (schema %d; this one knows %d): upgrade evalrec", v, schemaVersion)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil || v == schemaVersion {
		return err // another process migrated it meanwhile
	}
	if v > 0 && v < 3 {
		// Test runs before version 3: rows in test_runs, documents and
		// output in test_run_docs. The old table steps aside for the new.
		for _, stmt := range []string{`DROP INDEX IF EXISTS test_runs_history`, `ALTER TABLE test_runs RENAME TO test_runs_v2`} {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
	}
	if v > 0 && v < 4 {
		// Runs before version 4: a WITHOUT ROWID table, which steps aside
		// for the rowid table, with its indexes.
		for _, stmt := range []string{`DROP INDEX IF EXISTS runs_started_at`, `DROP INDEX IF EXISTS runs_project_started_at`,
			`DROP INDEX IF EXISTS runs_status_started_at`, `ALTER TABLE evaluation_runs RENAME TO evaluation_runs_v3`} {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
	}
	rekey := false
	if v >= 3 && v < 5 {
		// Test runs before version 5: keyed by run and _id, with an index
		// by test. The old table steps aside for the new.
		if err := tx.QueryRowContext(ctx, `SELECT count(*) > 0 FROM sqlite_master WHERE name = 'test_runs'`).Scan(&rekey); err != nil {
			return err
		}
	}
	if rekey {
		for _, stmt := range []string{`DROP INDEX IF EXISTS test_runs_history`, `ALTER TABLE test_runs RENAME TO test_runs_v4`} {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
	}
	// Every statement is idempotent: an older file gains what it lacks.
	for _, stmt := range append(schema, indexes...) {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	if v > 0 && v < 4 {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM evaluation_runs_v3`).Scan(&n); err != nil {
			return err
		}
		say("migrating the embedded store %s to schema %d: %d runs", logline.RelPath(s.path), schemaVersion, n)
		for _, stmt := range []string{`INSERT INTO evaluation_runs SELECT * FROM evaluation_runs_v3`, `DROP TABLE evaluation_runs_v3`} {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("migrating the runs to schema 4: %w", err)
			}
		}
	}
	if v > 0 && v < 3 {
		if err := migrateTestRuns(ctx, tx, s.path); err != nil {
			return fmt.Errorf("migrating the test runs to schema 3: %w", err)
		}
	}
	if rekey {
		if err := rekeyTestRuns(ctx, tx, s.path); err != nil {
			return fmt.Errorf("migrating the test runs to schema 5: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil || v == 0 {
		return err
	}
	// The old layout's pages are free, but the file keeps them: rewrite
	// it, once. A failure costs disk space only.
	start := time.Now()
	if _, err := s.db.ExecContext(ctx, `VACUUM`); err == nil {
		say("the embedded store's file was rewritten without the old layout in %s", time.Since(start).Round(time.Second))
	}
	return nil
}

func say(format string, args ...any) {
	if Progress != nil {
		fmt.Fprintf(Progress, "evalrec: "+format+"\n", args...)
	}
}

// migrateTestRuns moves the test runs of a file before version 3 into
// test_runs and test_outputs, run by run, saying how far it got.
func migrateTestRuns(ctx context.Context, tx *sql.Tx, path string) error {
	runs, err := distinctRuns(ctx, tx, `SELECT DISTINCT run FROM test_runs_v2`)
	if err != nil {
		return err
	}
	insert, err := tx.PrepareContext(ctx, testRunInsert)
	if err != nil {
		return err
	}
	defer insert.Close()
	output, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO test_outputs (id, output) VALUES (?, ?)`)
	if err != nil {
		return err
	}
	defer output.Close()
	prog := startProgress(path, len(runs))
	for i, run := range runs {
		rows, err := tx.QueryContext(ctx, `SELECT d.doc, d.output FROM test_runs_v2 t JOIN test_run_docs d ON d.id = t.id WHERE t.run = ?`, run)
		if err != nil {
			return err
		}
		for rows.Next() {
			var doc []byte
			var out sql.NullString
			var t model.TestRun
			err := rows.Scan(&doc, &out)
			if err == nil {
				err = json.Unmarshal(doc, &t)
			}
			var args []any
			if err == nil {
				args, err = testRunArgs(&t)
			}
			if err == nil {
				_, err = insert.ExecContext(ctx, args...)
			}
			if err == nil && out.String != "" {
				_, err = output.ExecContext(ctx, t.ID, out.String)
			}
			if err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		prog.ran(i + 1)
	}
	for _, stmt := range []string{`DROP TABLE test_runs_v2`, `DROP TABLE test_run_docs`} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	prog.done()
	return nil
}

// rekeyTestRuns copies the test runs of a file before version 5 from
// test_runs_v4 into test_runs, run by run, saying how far it got.
func rekeyTestRuns(ctx context.Context, tx *sql.Tx, path string) error {
	runs, err := distinctRuns(ctx, tx, `SELECT DISTINCT run FROM test_runs_v4`)
	if err != nil {
		return err
	}
	copyRun, err := tx.PrepareContext(ctx, `INSERT INTO test_runs SELECT * FROM test_runs_v4 WHERE run = ? ORDER BY test_id, id`)
	if err != nil {
		return err
	}
	defer copyRun.Close()
	prog := startProgress(path, len(runs))
	for i, run := range runs {
		if _, err := copyRun.ExecContext(ctx, run); err != nil {
			return err
		}
		prog.ran(i + 1)
	}
	if _, err := tx.ExecContext(ctx, `DROP TABLE test_runs_v4`); err != nil {
		return err
	}
	prog.done()
	return nil
}

// progress says how far moving the test runs of n runs got, every few
// seconds: on a large store it takes minutes.
type progress struct {
	start, next time.Time
	n           int
}

func startProgress(path string, n int) *progress {
	say("migrating the embedded store %s to schema %d: the test runs of %d runs", logline.RelPath(path), schemaVersion, n)
	now := time.Now()
	return &progress{start: now, next: now.Add(5 * time.Second), n: n}
}

// ran says that i runs are done, when the last line is 5 s old.
func (p *progress) ran(i int) {
	if now := time.Now(); now.After(p.next) {
		say("migrating the embedded store: %d of %d runs (%s)", i, p.n, now.Sub(p.start).Round(time.Second))
		p.next = now.Add(5 * time.Second)
	}
}

func (p *progress) done() {
	say("migrated the test runs of %d runs in %s", p.n, time.Since(p.start).Round(time.Second))
}

// distinctRuns returns the runs query selects, one column of them.
func distinctRuns(ctx context.Context, tx *sql.Tx, query string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var runs []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	return runs, rows.Err()
}

// Indexes implements [store.Driver]; recreating them refreshes the
// planner's statistics too.
func (s *Store) Indexes(ctx context.Context, recreate bool) error {
	if recreate {
		return s.recreateIndexes(ctx)
	}
	return s.ensureIndexes(ctx)
}

func (s *Store) ensureIndexes(ctx context.Context) error {
	for _, stmt := range indexes {
		if _, err := s.db.ExecContext(ctx, stmt); err != nil {
			return describe(err)
		}
	}
	return nil
}

func (s *Store) recreateIndexes(ctx context.Context) error {
	for _, n := range indexNames {
		if _, err := s.db.ExecContext(ctx, "DROP INDEX IF EXISTS "+n); err != nil {
			return describe(err)
		}
	}
	if err := s.ensureIndexes(ctx); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, "ANALYZE")
	return describe(err)
}

// describe says in words what SQLite's code means, where the code says more
// than its message.
func describe(err error) error {
	var se *sqlite3.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() & 0xff {
	case sqlite3lib.SQLITE_BUSY, sqlite3lib.SQLITE_LOCKED:
		return fmt.Errorf("the embedded store stayed locked by another process for %s: %w", busyTimeout, err)
	case sqlite3lib.SQLITE_FULL:
		return fmt.Errorf("the disk is full: %w", err)
	case sqlite3lib.SQLITE_READONLY, sqlite3lib.SQLITE_CANTOPEN, sqlite3lib.SQLITE_PERM:
		return fmt.Errorf("cannot write the embedded store (permissions?): %w", err)
	case sqlite3lib.SQLITE_CORRUPT, sqlite3lib.SQLITE_NOTADB:
		return fmt.Errorf("%w: %w", store.ErrDamaged, err)
	}
	return err
}

// Check opens the file at path read-only and reads its schema: it tells a
// damaged or foreign file ("file is not a database") from a store that
// can be written, without changing either. A missing file is no error:
// the first writer creates it.
func Check(ctx context.Context, path string) error {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(2000)")
	if err != nil {
		return err
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master`).Scan(&n); err != nil {
		return describe(err)
	}
	return nil
}

// Compact gives the space of deleted documents back to the file system:
// SQLite keeps freed pages for reuse, so a pruned store's file would not
// shrink. It checkpoints the write-ahead log and rewrites the file
// (VACUUM), which needs as much free disk as the store holds and holds the
// write lock meanwhile; evalrec prune calls it after it deleted runs.
// It returns the sizes of the file and its log before and after.
func (s *Store) Compact(ctx context.Context) (before, after int64, err error) {
	size := func() int64 {
		var n int64
		for _, p := range []string{s.path, s.path + "-wal"} {
			if fi, err := os.Stat(p); err == nil {
				n += fi.Size()
			}
		}
		return n
	}
	before = size()
	for _, q := range []string{`VACUUM`, `PRAGMA wal_checkpoint(TRUNCATE)`} {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return before, size(), describe(err)
		}
	}
	return before, size(), nil
}
