package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	json "github.com/goccy/go-json"

	"evalrec.dev/internal/logline"
	"evalrec.dev/model"
	"evalrec.dev/samples"
	"evalrec.dev/store"
)

// insertRun stores a new run, its tags and its packages.
func insertRun(ctx context.Context, tx *sql.Tx, r *model.EvaluationRun) error {
	var taken string
	err := tx.QueryRowContext(ctx, `SELECT id FROM evaluation_runs WHERE id = ? OR evaluation_run_id = ?`, r.ID.Hex(), r.EvaluationRunID).Scan(&taken)
	switch {
	case err == nil && taken == r.ID.Hex():
		return store.ErrDuplicateID
	case err == nil:
		return store.ErrDuplicateName
	case err != sql.ErrNoRows:
		return err
	}
	args, err := runColumns(r)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO evaluation_runs (id, evaluation_run_id, started_at, project, environment,
		git_branch, status, system_info_hash, score, hostname, dependencies, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		append([]any{r.ID.Hex(), r.EvaluationRunID, ms(r.StartedAt)}, args...)...); err != nil {
		return err
	}
	for _, tag := range r.ExperimentTags {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO run_tags (tag, run) VALUES (?, ?)`, tag, r.ID.Hex()); err != nil {
			return err
		}
	}
	return setPackages(ctx, tx, r)
}

// runColumns are the columns of a run that finalization may change, from
// project on, in the order of the table.
func runColumns(r *model.EvaluationRun) ([]any, error) {
	deps, err := json.Marshal(r.System.Dependencies)
	if err != nil {
		return nil, err
	}
	c := *r
	c.System.Dependencies, c.System.Hostname = nil, "" // columns of their own
	doc, err := json.Marshal(&c)
	if err != nil {
		return nil, err
	}
	return []any{orNull(r.Project), r.Environment, r.GitBranch, r.Status, r.SystemInfoHash, r.Score,
		orNull(r.System.Hostname), deps, doc}, nil
}

func setPackages(ctx context.Context, tx *sql.Tx, r *model.EvaluationRun) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM run_packages WHERE run = ?`, r.ID.Hex()); err != nil {
		return err
	}
	for _, p := range r.Packages {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO run_packages (run, package) VALUES (?, ?)`, r.ID.Hex(), p); err != nil {
			return err
		}
	}
	return nil
}

// Finalize implements [store.Driver]: one transaction reads the run, its
// parts and its results and writes what f computes, so that no other
// writer's change falls between the read and the write.
func (s *Store) Finalize(ctx context.Context, id model.ID, f store.Finalizing) (*model.EvaluationRun, error) {
	var run *model.EvaluationRun
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if run, err = runWhere(ctx, tx, `id = ?`, id.Hex()); err != nil {
			return err
		}
		ps, err := parts(ctx, tx, id)
		if err != nil {
			return err
		}
		for _, p := range f.Reap(ps) {
			if err := reapPart(ctx, tx, p); err != nil {
				return err
			}
		}
		// A digest is deleted whenever the run gains a test run: one
		// that is stored is whole.
		rs := &samples.Results{KeepIDs: true}
		rs.Reset(id)
		stmt, err := tx.PrepareContext(ctx, `SELECT digest FROM run_digests WHERE run = ?`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		fromRows := false
		if err := decodeDigest(ctx, stmt, id, rs); err != nil {
			if !errors.Is(err, sql.ErrNoRows) && !errors.Is(err, samples.ErrDigestVersion) {
				return err
			}
			if rs, err = storedOrRows(ctx, tx, id, f.Stored); err != nil {
				return err
			}
			fromRows = true
		}
		f.Totals(run, ps, rs)
		if err := setTotals(ctx, tx, run); err != nil {
			return err
		}
		if !fromRows || run.Status == model.StatusRunning {
			return nil // the stored digest is whole; a running run gets none
		}
		// Read in this transaction: no test run can have come since.
		return storeDigest(ctx, tx, id, rs)
	})
	if err != nil {
		return nil, err
	}
	return run, nil
}

// storedOrRows returns stored when run holds as many test runs as it
// does (a writer's own, each once, see [store.Finalizing]), and
// otherwise the results of the run's rows.
func storedOrRows(ctx context.Context, tx *sql.Tx, run model.ID, stored *samples.Results) (*samples.Results, error) {
	if stored != nil {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM test_runs WHERE run = ?`, run.Hex()).Scan(&n); err != nil {
			return nil, err
		}
		if n == len(stored.Rows) {
			return stored, nil
		}
	}
	rs, _, err := resultsOfRows(ctx, tx, run)
	return rs, err
}

// setTotals writes what finalizing computes over the run's stored
// document, whose other fields stay as stored.
func setTotals(ctx context.Context, tx *sql.Tx, r *model.EvaluationRun) error {
	// Keep what finalization does not compute as stored: the run's
	// own document is the one to update.
	var doc []byte
	var host sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT doc, hostname FROM evaluation_runs WHERE id = ?`, r.ID.Hex()).Scan(&doc, &host); err != nil {
		if err == sql.ErrNoRows {
			return nil
		}
		return err
	}
	var stored model.EvaluationRun
	if err := json.Unmarshal(doc, &stored); err != nil {
		return err
	}
	stored.System.Hostname = host.String
	stored.FinishedAt, stored.Metrics, stored.MetricStats = r.FinishedAt, r.Metrics, r.MetricStats
	stored.NumTests, stored.NumPassed, stored.NumFailed = r.NumTests, r.NumPassed, r.NumFailed
	stored.NumSkipped, stored.NumIncomplete = r.NumSkipped, r.NumIncomplete
	stored.Status, stored.Score, stored.Error, stored.Packages, stored.Project = r.Status, r.Score, r.Error, r.Packages, r.Project
	stored.System.Dependencies, stored.System.SystemUnderTest = r.System.Dependencies, r.System.SystemUnderTest
	stored.System.Module, stored.System.Version, stored.System.GoVersion = r.System.Module, r.System.Version, r.System.GoVersion
	stored.SystemInfoHash = r.SystemInfoHash
	args, err := runColumns(&stored)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE evaluation_runs SET project = ?, environment = ?, git_branch = ?, status = ?,
		system_info_hash = ?, score = ?, hostname = ?, dependencies = ?, doc = ? WHERE id = ?`, append(args, r.ID.Hex())...); err != nil {
		return err
	}
	return setPackages(ctx, tx, &stored)
}

// Write implements [store.Driver]. A batch is written in one
// transaction: one that fails stores none of it.
func (s *Store) Write(ctx context.Context, ws []store.Write) (done int, st store.WriteStats, err error) {
	err = s.write(ctx, func(tx *sql.Tx) (err error) {
		st = store.WriteStats{}
		b := batch{tx: tx, st: &st, touched: map[model.ID]bool{}}
		defer b.close()
		for i := 0; i < len(ws); {
			next := i + 1
			switch w := ws[i]; {
			case w.Run != nil:
				if err = insertRun(ctx, tx, w.Run); err == nil {
					st.Inserted++
				}
			case w.TestRun != nil:
				for next < len(ws) && ws[next].TestRun != nil {
					next++
				}
				err = b.insertTestRuns(ctx, ws[i:next])
			case w.Replace:
				err = replacePart(ctx, tx, w.Part)
			default:
				err = b.insertPart(ctx, w.Part)
			}
			if err != nil {
				return err
			}
			i = next
		}
		// A run's digest holds its test runs as they were when it
		// finished: one that gains test runs (a late writer, a replay)
		// loses it until it is finalized again.
		for run := range b.touched {
			if _, err := tx.ExecContext(ctx, `DELETE FROM run_digests WHERE run = ?`, run.Hex()); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		done = len(ws)
	}
	return done, st, err
}

// A batch is the state of one Write's transaction: its statements,
// prepared when first needed, what it did, and the runs that gained test
// runs.
type batch struct {
	tx          *sql.Tx
	row, output *sql.Stmt
	st          *store.WriteStats
	touched     map[model.ID]bool
}

func (b *batch) close() {
	for _, stmt := range []*sql.Stmt{b.row, b.output} {
		if stmt != nil {
			stmt.Close()
		}
	}
}

// insertTestRuns inserts the test runs of ws, and their outputs.
func (b *batch) insertTestRuns(ctx context.Context, ws []store.Write) error {
	if b.row == nil {
		var err error
		if b.row, err = b.tx.PrepareContext(ctx, testRunInsert); err != nil {
			return err
		}
		if b.output, err = b.tx.PrepareContext(ctx, `INSERT INTO test_outputs (id, output) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`); err != nil {
			return err
		}
	}
	// The transaction holds the write lock (BEGIN IMMEDIATE), so no row
	// waits for another writer: each is given a context without a Done
	// channel, for which the driver starts no goroutine to watch it, and
	// the deadline is checked between rows.
	rowCtx := context.WithoutCancel(ctx)
	rows, stop := encodeTestRuns(ws)
	defer stop()
	for _, w := range ws {
		if err := ctx.Err(); err != nil {
			return err
		}
		t := w.TestRun
		r := <-rows
		if r.err != nil {
			b.st.Rejected = append(b.st.Rejected, fmt.Errorf("test run %s: %w", t.ID, r.err))
			continue
		}
		res, err := b.row.ExecContext(rowCtx, r.args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			b.st.Duplicates++
			continue
		}
		if t.Output != "" {
			if _, err := b.output.ExecContext(rowCtx, t.ID, t.Output); err != nil {
				return err
			}
		}
		b.touched[t.EvaluationRunID] = true
		b.st.Inserted++
	}
	return nil
}

// An encodedRow is a test run's values, or why it has none.
type encodedRow struct {
	args []any
	err  error
}

// encodeTestRuns encodes the values of the test runs of ws, in order, on
// a goroutine of its own, so that the next rows are ready while SQLite
// inserts one: the insert is the longest serial step of storing a run.
// stop ends it early.
func encodeTestRuns(ws []store.Write) (rows <-chan encodedRow, stop func()) {
	out := make(chan encodedRow, 64)
	quit := make(chan struct{})
	go func() {
		defer close(out)
		for _, w := range ws {
			args, err := testRunArgs(w.TestRun)
			select {
			case out <- encodedRow{args, err}:
			case <-quit:
				return
			}
		}
	}()
	return out, func() { close(quit) }
}

// insertPart inserts p; one stored already is left as it is.
func (b *batch) insertPart(ctx context.Context, p *store.Part) error {
	doc, err := json.Marshal(p)
	if err != nil {
		b.st.Rejected = append(b.st.Rejected, fmt.Errorf("part %s: %w", p.ID, err))
		return nil
	}
	res, err := b.tx.ExecContext(ctx, `INSERT INTO evaluation_run_parts (id, run, status, doc) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		p.ID, p.EvaluationRunID.Hex(), p.Status, doc)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		b.st.Inserted++
	} else {
		b.st.Duplicates++
	}
	return nil
}

// replacePart writes p over the stored part with its _id.
func replacePart(ctx context.Context, tx *sql.Tx, p *store.Part) error {
	doc, err := json.Marshal(p)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE evaluation_run_parts SET status = ?, doc = ? WHERE id = ?`, p.Status, doc, p.ID)
	return err
}

// reapPart writes p (failed, reaped) over the stored part if that still
// runs.
func reapPart(ctx context.Context, tx *sql.Tx, p *store.Part) error {
	doc, err := json.Marshal(p)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE evaluation_run_parts SET status = ?, doc = ? WHERE id = ? AND status = ?`,
		p.Status, doc, p.ID, model.StatusRunning)
	return err
}

// DeleteRuns implements [store.Driver].
func (s *Store) DeleteRuns(ctx context.Context, runs []model.ID) (tests, parts int64, err error) {
	in, args := inList(runs)
	err = s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM test_outputs WHERE id IN (SELECT id FROM test_runs WHERE run IN `+in+`)`, args...); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM test_runs WHERE run IN `+in, args...)
		if err != nil {
			return err
		}
		tests, _ = res.RowsAffected()
		if res, err = tx.ExecContext(ctx, `DELETE FROM evaluation_run_parts WHERE run IN `+in, args...); err != nil {
			return err
		}
		parts, _ = res.RowsAffected()
		for _, stmt := range []string{`DELETE FROM run_digests WHERE run IN `, `DELETE FROM run_tags WHERE run IN `, `DELETE FROM run_packages WHERE run IN `, `DELETE FROM evaluation_runs WHERE id IN `} {
			if _, err := tx.ExecContext(ctx, stmt+in, args...); err != nil {
				return err
			}
		}
		return nil
	})
	return tests, parts, err
}

// A querier is *sql.DB or *sql.Tx: what reads both outside a transaction
// and within one (see Finalize) take.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// write runs fn in a write transaction (which waits for other writers up to
// busyTimeout, or ctx's deadline) and commits it.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		if ctx.Err() != nil {
			// Only another process's write keeps a write from starting.
			return fmt.Errorf("the embedded store %s stayed locked by another process's write until the deadline: %w", logline.RelPath(s.path), err)
		}
		return describe(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return describe(err)
	}
	return describe(tx.Commit())
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// orNull stores an empty string as NULL: a document without a project
// belongs to none, as on MongoDB.
func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// inList is "(?, ?, …)" for ids, and the arguments.
func inList(ids []model.ID) (string, []any) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id.Hex()
	}
	return placeholders(len(ids)), args
}

func placeholders(n int) string {
	if n == 0 {
		return "(NULL)"
	}
	b := make([]byte, 0, 2+3*n)
	b = append(b, '(')
	for i := range n {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '?')
	}
	return string(append(b, ')'))
}
