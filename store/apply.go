package store

import (
	"context"
	"time"

	"evalrec.dev/model"
	"evalrec.dev/result"
)

// An op is one write a session queues, in the order it must be applied.
type op struct {
	kind opKind
	part *Part // opInsertPart, opReplacePart: a copy of the part as it was when queued
	// test, until the session resolves it into doc, is the result an
	// opInsertTest stores; journaled says it is in the journal.
	test      *result.Test
	doc       model.TestRun
	journaled bool
}

type opKind uint8

const (
	opInsertTest opKind = iota
	opInsertPart
	opReplacePart
)

// maxBatch bounds the documents of one insert call.
const maxBatch = 1000

// apply writes ops in order, each call within timeout. Consecutive inserts
// of one kind go out as one call. A document the store refuses is counted
// in st.Rejected and does not stop the rest; a failure of the store stops
// apply, which returns how many ops were done, so the caller can spool the
// others.
func (d *DB) apply(ctx context.Context, timeout time.Duration, ops []op, st *WriteStats) (done int, err error) {
	for done < len(ops) {
		kind := ops[done].kind
		end := done + 1
		if kind != opReplacePart {
			for end < len(ops) && end-done < maxBatch && ops[end].kind == kind {
				end++
			}
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		var s WriteStats
		switch kind {
		case opInsertTest:
			docs := make([]model.TestRun, 0, end-done)
			for _, o := range ops[done:end] {
				docs = append(docs, o.doc)
			}
			s, err = d.InsertTestRuns(cctx, docs)
		case opInsertPart:
			docs := make([]Part, 0, end-done)
			for _, o := range ops[done:end] {
				docs = append(docs, *o.part)
			}
			s, err = d.InsertParts(cctx, docs)
		case opReplacePart:
			err = d.ReplacePart(cctx, ops[done].part)
		}
		cancel()
		st.add(s)
		if err != nil {
			return done, err
		}
		done = end
	}
	return done, nil
}
