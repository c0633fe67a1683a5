package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"evalrec.dev/model"
	"evalrec.dev/samples"
)

// Results implements [store.Driver]: a finished run's results are its
// digest (table run_digests, one value a run); a run without one (still
// running, or stored by an evalrec before digests) is read from its rows,
// and the digest of a finished run is stored then, so that a store of an
// older version is migrated by the first query that reads each run.
func (s *Store) Results(ctx context.Context, runs []model.ID, rs *samples.Results, yield func(*samples.Results) error) error {
	// One statement for every run: a window of 200 small runs spent a
	// third of its time preparing the same query.
	stmt, err := s.db.PrepareContext(ctx, `SELECT digest FROM run_digests WHERE run = ?`)
	if err != nil {
		return describe(err)
	}
	defer stmt.Close()
	for _, id := range runs {
		rs.Reset(id)
		err := decodeDigest(ctx, stmt, id, rs)
		if errors.Is(err, samples.ErrDigestVersion) {
			rs.Reset(id)
			err = sql.ErrNoRows // written by another evalrec: read the rows
		}
		switch {
		case err == nil:
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

// decodeDigest adds the results of run's digest to rs, reading it in
// place (sql.RawBytes: a digest of 50,000 test runs is a megabyte, which
// Scan into a []byte copies); sql.ErrNoRows when there is none.
func decodeDigest(ctx context.Context, stmt *sql.Stmt, run model.ID, rs *samples.Results) error {
	rows, err := stmt.QueryContext(ctx, run.Hex())
	if err != nil {
		return describe(err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return describe(err)
		}
		return sql.ErrNoRows
	}
	var digest sql.RawBytes
	if err := rows.Scan(&digest); err != nil {
		return describe(err)
	}
	return samples.DecodeDigest(digest, run, rs)
}

// resultsOfRows reads the results of one run from its rows, and whether the
// run has finished (so that they are final).
func resultsOfRows(ctx context.Context, q querier, run model.ID) (*samples.Results, bool, error) {
	rs := &samples.Results{KeepIDs: true} // a digest holds them
	rs.Reset(run)
	var status string
	if err := q.QueryRowContext(ctx, `SELECT status FROM evaluation_runs WHERE id = ?`, run.Hex()).Scan(&status); err != nil && err != sql.ErrNoRows {
		return nil, false, describe(err)
	}
	rows, err := q.QueryContext(ctx, `SELECT `+testRunColumns+` FROM test_runs t WHERE t.run = ?`, run.Hex())
	if err != nil {
		return nil, false, describe(err)
	}
	defer rows.Close()
	var sc testRunScanner
	for rows.Next() {
		t, err := sc.scan(rows)
		if err != nil {
			return nil, false, err
		}
		rs.Add(&t)
	}
	if err := rows.Err(); err != nil {
		return nil, false, describe(err)
	}
	return rs, status != "" && status != model.StatusRunning, nil
}

// putDigest stores the digest of a finished run's results, read before
// this write began, if the run still has as many test runs: test runs
// are only ever added, and one added meanwhile would be missing from it.
func putDigest(ctx context.Context, tx *sql.Tx, run model.ID, rs *samples.Results) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM test_runs WHERE run = ?`, run.Hex()).Scan(&n); err != nil || n != len(rs.Rows) {
		return err
	}
	return storeDigest(ctx, tx, run, rs)
}

// storeDigest stores rs as run's digest: the results of every test run
// of the run, as read in tx.
func storeDigest(ctx context.Context, tx *sql.Tx, run model.ID, rs *samples.Results) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO run_digests (run, digest) VALUES (?, ?) ON CONFLICT (run) DO UPDATE SET digest = excluded.digest`,
		run.Hex(), samples.EncodeDigest(rs))
	return err
}
