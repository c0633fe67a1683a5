package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	json "github.com/goccy/go-json"
	"go.mongodb.org/mongo-driver/v2/bson"

	"evalrec.dev/store"
)

// Results implements [store.Driver]: a finished run's results are its
// digest (table run_digests, one value a run); a run without one (still
// running, or stored by an evalrec before digests) is read from its rows,
// and the digest of a finished run is stored then, so that a store of an
// older version is migrated by the first query that reads each run.
func (s *Store) Results(ctx context.Context, runs []bson.ObjectID, rs *store.Results, yield func(*store.Results) error) error {
	var digest []byte
	for _, id := range runs {
		rs.Reset(id)
		err := s.db.QueryRowContext(ctx, `SELECT digest FROM run_digests WHERE run = ?`, id.Hex()).Scan(&digest)
		switch {
		case err == nil:
			if err := store.DecodeDigest(digest, id, rs); err != nil {
				return err
			}
		case errors.Is(err, sql.ErrNoRows):
			one, finished, err := resultsOfRows(ctx, s.db, id)
			if err != nil {
				return err
			}
			if finished {
				// Best effort: a read-only file, or a writer holding the
				// lock, leaves it to the next reader.
				_ = s.write(ctx, func(tx *sql.Tx) error { return putDigest(ctx, tx, id, one) })
			}
			rs.Merge(one)
		default:
			return describe(err)
		}
		if err := yield(rs); err != nil {
			return err
		}
	}
	return nil
}

// queryer is what reads need of a *sql.DB or a *sql.Tx.
type queryer interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// resultsOfRows reads the results of one run from its rows, and whether the
// run has finished (so that they are final).
func resultsOfRows(ctx context.Context, q queryer, run bson.ObjectID) (*store.Results, bool, error) {
	rs := &store.Results{}
	rs.Reset(run)
	var status string
	if err := q.QueryRowContext(ctx, `SELECT status FROM evaluation_runs WHERE id = ?`, run.Hex()).Scan(&status); err != nil && err != sql.ErrNoRows {
		return nil, false, describe(err)
	}
	rows, err := q.QueryContext(ctx, `SELECT t.test_id, t.test_name, t.status, t.cached, t.score, t.finished_at, d.doc
		FROM test_runs t JOIN test_run_docs d ON d.id = t.id WHERE t.run = ?`, run.Hex())
	if err != nil {
		return nil, false, describe(err)
	}
	defer rows.Close()
	var doc []byte
	for rows.Next() {
		var t store.TestRun
		var score sql.NullFloat64
		var finished int64
		if err := rows.Scan(&t.TestID, &t.TestName, &t.Status, &t.Cached, &score, &finished, &doc); err != nil {
			return nil, false, describe(err)
		}
		var m struct {
			Metrics map[string]store.MetricDoc `json:"metrics"`
		}
		if err := json.Unmarshal(doc, &m); err != nil {
			return nil, false, fmt.Errorf("reading a test run of run %s: %w", run.Hex(), err)
		}
		t.EvaluationRunID, t.Metrics = run, m.Metrics
		t.FinishedAt = time.UnixMilli(finished).UTC()
		if score.Valid && !math.IsNaN(score.Float64) {
			t.Score = &score.Float64
		}
		rs.Add(&t)
	}
	if err := rows.Err(); err != nil {
		return nil, false, describe(err)
	}
	return rs, status != "" && status != store.StatusRunning, nil
}

// putDigest stores the digest of a finished run's results.
func putDigest(ctx context.Context, tx *sql.Tx, run bson.ObjectID, rs *store.Results) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO run_digests (run, digest) VALUES (?, ?) ON CONFLICT (run) DO UPDATE SET digest = excluded.digest`,
		run.Hex(), store.EncodeDigest(rs))
	return err
}

// refreshDigest stores the digest of a run that has finished, and drops
// that of one that has not, within a write.
func refreshDigest(ctx context.Context, tx *sql.Tx, run bson.ObjectID, finished bool) error {
	if !finished {
		_, err := tx.ExecContext(ctx, `DELETE FROM run_digests WHERE run = ?`, run.Hex())
		return err
	}
	rs, _, err := resultsOfRows(ctx, tx, run)
	if err != nil {
		return err
	}
	return putDigest(ctx, tx, run, rs)
}
