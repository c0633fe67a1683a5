package store

import (
	"context"
	"fmt"
	"time"

	"evalrec.dev/model"
)

// The calls below are the driver's, each bounded: a context that has no
// deadline gets queryTimeout, so that no call waits on a store for ever.
// Each is the exception: it reads a whole collection (export), for as
// long as ctx allows.

// bounded gives ctx the deadline timeout from now when it has none.
func bounded(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, timeout)
}

// Close closes the store.
func (d *DB) Close() error { return d.drv.Close() }

// Name is the database's name, which journals record.
func (d *DB) Name() string { return d.name }

// EnsureIndexes creates the indexes queries need and the store lacks.
func (d *DB) EnsureIndexes(ctx context.Context) error {
	ctx, cancel := bounded(ctx, queryTimeout)
	defer cancel()
	return d.drv.Indexes(ctx, false)
}

// RecreateIndexes drops evalrec's indexes and creates them again.
func (d *DB) RecreateIndexes(ctx context.Context) error {
	ctx, cancel := bounded(ctx, queryTimeout)
	defer cancel()
	return d.drv.Indexes(ctx, true)
}

// Run returns one run whole, or ErrNotFound.
func (d *DB) Run(ctx context.Context, id model.ID) (*model.EvaluationRun, error) {
	ctx, cancel := bounded(ctx, queryTimeout)
	defer cancel()
	return d.one(ctx, RunFilter{ID: id, Whole: true})
}

// RunNamed returns the run with that evaluation_run_id, or ErrNotFound.
func (d *DB) RunNamed(ctx context.Context, evaluationRunID string) (*model.EvaluationRun, error) {
	ctx, cancel := bounded(ctx, queryTimeout)
	defer cancel()
	return d.one(ctx, RunFilter{Name: evaluationRunID, Whole: true})
}

// Runs returns the runs f selects, newest first, without their dependency
// lists.
func (d *DB) Runs(ctx context.Context, f RunFilter) ([]model.EvaluationRun, error) {
	ctx, cancel := bounded(ctx, queryTimeout)
	defer cancel()
	return d.drv.Runs(ctx, f)
}

// Parts returns a run's parts, sorted by _id.
func (d *DB) Parts(ctx context.Context, run model.ID) ([]Part, error) {
	ctx, cancel := bounded(ctx, queryTimeout)
	defer cancel()
	return d.parts(ctx, run)
}

// parts is Parts within ctx's deadline as it is.
func (d *DB) parts(ctx context.Context, run model.ID) ([]Part, error) {
	var out []Part
	err := d.drv.Each(ctx, Scan{Runs: []model.ID{run}, Part: func(p *Part) error {
		out = append(out, *p)
		return nil
	}})
	return out, err
}

// TestRunsOfRuns returns the test runs of the runs, without output, sorted
// by _id.
func (d *DB) TestRunsOfRuns(ctx context.Context, runs []model.ID) ([]model.TestRun, error) {
	ctx, cancel := bounded(ctx, queryTimeout)
	defer cancel()
	if len(runs) == 0 {
		return nil, nil
	}
	// Room for all of them at once: growing a slice of large values by
	// appending copied 100,000 of them over and over (1.2 s).
	n, err := d.drv.Count(ctx, TestsCollection, runs)
	if err != nil {
		return nil, err
	}
	trs := make([]model.TestRun, 0, n)
	err = d.EachTestRun(ctx, runs, func(t *model.TestRun) error {
		trs = append(trs, *t)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return trs, nil
}

// EachTestRun calls fn with each test run of the runs, without output, in
// _id order, one at a time.
func (d *DB) EachTestRun(ctx context.Context, runs []model.ID, fn func(*model.TestRun) error) error {
	ctx, cancel := bounded(ctx, queryTimeout)
	defer cancel()
	if len(runs) == 0 {
		return nil
	}
	return d.drv.Each(ctx, Scan{Runs: runs, TestRun: func(t *model.TestRun) error {
		t.Output = ""
		return fn(t)
	}})
}

// Tally adds up the stored test runs of a run.
func (d *DB) Tally(ctx context.Context, run model.ID) (*Tally, error) { return d.tally(ctx, run) }

// TestHistory returns the runs of one test, newest first, without output.
func (d *DB) TestHistory(ctx context.Context, testID string, f HistoryFilter) ([]model.TestRun, error) {
	ctx, cancel := bounded(ctx, queryTimeout)
	defer cancel()
	return d.drv.TestHistory(ctx, testID, f)
}

// TestOutput returns the output of one test run, or ErrNotFound.
func (d *DB) TestOutput(ctx context.Context, testRunID string) (string, error) {
	ctx, cancel := bounded(ctx, queryTimeout)
	defer cancel()
	return d.drv.TestOutput(ctx, testRunID)
}

// CountChildren counts the test runs and parts of the runs.
func (d *DB) CountChildren(ctx context.Context, runs []model.ID) (tests, parts int64, err error) {
	ctx, cancel := bounded(ctx, queryTimeout)
	defer cancel()
	if len(runs) == 0 {
		return 0, 0, nil
	}
	if tests, err = d.drv.Count(ctx, TestsCollection, runs); err != nil {
		return 0, 0, err
	}
	parts, err = d.drv.Count(ctx, PartsCollection, runs)
	return tests, parts, err
}

// DeleteRuns deletes the runs with their test runs and parts, children
// first, and returns how many children it deleted.
func (d *DB) DeleteRuns(ctx context.Context, runs []model.ID) (tests, parts int64, err error) {
	ctx, cancel := bounded(ctx, queryTimeout)
	defer cancel()
	return d.drv.DeleteRuns(ctx, runs)
}

// Count counts the documents of a collection.
func (d *DB) Count(ctx context.Context, collection string) (int64, error) {
	ctx, cancel := bounded(ctx, queryTimeout)
	defer cancel()
	return d.drv.Count(ctx, collection, nil)
}

// Each calls fn with every document of a collection, as the typed value
// (*EvaluationRun, *Part or *TestRun), in _id order, output included.
func (d *DB) Each(ctx context.Context, collection string, fn func(doc any) error) error {
	var sc Scan
	switch collection {
	case RunsCollection:
		sc.Run = func(r *model.EvaluationRun) error { return fn(r) }
	case PartsCollection:
		sc.Part = func(p *Part) error { return fn(p) }
	case TestsCollection:
		sc.TestRun = func(t *model.TestRun) error { return fn(t) }
	default:
		return fmt.Errorf("no collection %q", collection)
	}
	return d.drv.Each(ctx, sc)
}
