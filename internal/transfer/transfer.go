// Package transfer moves a history between stores: a copy from one store to
// another (evalrec migrate), and JSON Lines files in MongoDB's shapes
// (evalrec export and import). Every move is idempotent: what the target
// holds already is counted, never written twice, so an interrupted move is
// finished by running it again.
package transfer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"evalrec.dev/model"
	"evalrec.dev/store"
)

// Collections are moved in this order: a run before its parts and test
// runs, so a reader of the target never sees children without their run.
var Collections = []string{store.RunsCollection, store.PartsCollection, store.TestsCollection}

// Progress is told how far a move is, after every batch.
type Progress func(collection string, done, total int64)

// Report counts what a move did, per collection.
type Report struct {
	Written   map[string]int64 // new in the target
	Present   map[string]int64 // the target held them already
	Conflicts []string         // runs whose evaluation_run_id another run of the target has
	Rejected  []error
}

func newReport() Report {
	return Report{Written: map[string]int64{}, Present: map[string]int64{}}
}

// batch is how many documents one write carries.
const batch = 1000

// writeTimeout bounds each write of a batch.
const writeTimeout = time.Minute

// Writer writes documents into a store, batching parts and test runs.
type Writer struct {
	db     *store.DB
	rep    *Report
	parts  []store.Part
	tests  []model.TestRun
	notify func(coll string, n int64)
}

// NewWriter writes into db, counting in rep; notify, when set, hears how
// many documents of a collection each flush wrote or found present.
func NewWriter(db *store.DB, rep *Report, notify func(coll string, n int64)) *Writer {
	return &Writer{db: db, rep: rep, notify: notify}
}

// Add writes or buffers one document: a *model.EvaluationRun, *store.Part
// or *model.TestRun.
func (w *Writer) Add(ctx context.Context, doc any) error {
	switch d := doc.(type) {
	case *model.EvaluationRun:
		cctx, cancel := context.WithTimeout(ctx, writeTimeout)
		err := w.db.InsertRun(cctx, d)
		cancel()
		switch {
		case err == nil:
			w.rep.Written[store.RunsCollection]++
		case errors.Is(err, store.ErrDuplicateID):
			w.rep.Present[store.RunsCollection]++
		case errors.Is(err, store.ErrDuplicateName):
			w.rep.Conflicts = append(w.rep.Conflicts, d.EvaluationRunID)
		default:
			return fmt.Errorf("writing run %s: %w", d.EvaluationRunID, err)
		}
		w.tell(store.RunsCollection, 1)
	case *store.Part:
		w.parts = append(w.parts, *d)
		if len(w.parts) == batch {
			return w.Flush(ctx)
		}
	case *model.TestRun:
		w.tests = append(w.tests, *d)
		if len(w.tests) == batch {
			return w.Flush(ctx)
		}
	default:
		return fmt.Errorf("cannot store a %T", doc)
	}
	return nil
}

// Flush writes what is buffered.
func (w *Writer) Flush(ctx context.Context) error {
	if len(w.parts) > 0 {
		cctx, cancel := context.WithTimeout(ctx, writeTimeout)
		st, err := w.db.InsertParts(cctx, w.parts)
		cancel()
		if err != nil {
			return fmt.Errorf("writing parts: %w", err)
		}
		w.count(store.PartsCollection, st, len(w.parts))
		w.parts = w.parts[:0]
	}
	if len(w.tests) > 0 {
		cctx, cancel := context.WithTimeout(ctx, writeTimeout)
		st, err := w.db.InsertTestRuns(cctx, w.tests)
		cancel()
		if err != nil {
			return fmt.Errorf("writing test runs: %w", err)
		}
		w.count(store.TestsCollection, st, len(w.tests))
		w.tests = w.tests[:0]
	}
	return nil
}

func (w *Writer) count(coll string, st store.WriteStats, n int) {
	w.rep.Written[coll] += int64(st.Inserted)
	w.rep.Present[coll] += int64(st.Duplicates)
	w.rep.Rejected = append(w.rep.Rejected, st.Rejected...)
	w.tell(coll, int64(n))
}

func (w *Writer) tell(coll string, n int64) {
	if w.notify != nil {
		w.notify(coll, n)
	}
}

// Copy copies every run, part and test run of from into to.
func Copy(ctx context.Context, from, to *store.DB, progress Progress) (Report, error) {
	rep := newReport()
	totals := map[string]int64{}
	for _, coll := range Collections {
		n, err := from.Count(ctx, coll)
		if err != nil {
			return rep, fmt.Errorf("counting %s: %w", coll, err)
		}
		totals[coll] = n
	}
	done := map[string]int64{}
	w := NewWriter(to, &rep, func(coll string, n int64) {
		done[coll] += n
		if progress != nil {
			progress(coll, done[coll], totals[coll])
		}
	})
	for _, coll := range Collections {
		err := from.Each(ctx, coll, func(doc any) error { return w.Add(ctx, doc) })
		if err == nil {
			err = w.Flush(ctx)
		}
		if err != nil {
			return rep, fmt.Errorf("copying %s: %w", coll, err)
		}
	}
	return rep, nil
}
