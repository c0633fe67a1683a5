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

// maxBatch bounds the documents of one write.
const maxBatch = 1000

// apply writes ops in order, maxBatch at a time, each batch within
// timeout. It masks their documents first and then calls masked, from
// which on the caller may read them while they are written. A document
// the store refuses is counted in st.Rejected and does not stop the rest;
// a failure of the store stops apply, which returns how many ops were
// stored, so the caller can spool the others.
func (d *DB) apply(ctx context.Context, timeout time.Duration, ops []op, st *WriteStats, masked func()) (done int, err error) {
	ws := make([]Write, len(ops))
	for i := range ops {
		o := &ops[i]
		switch o.kind {
		case opInsertTest:
			ws[i] = Write{TestRun: &o.doc}
		case opInsertPart:
			ws[i] = Write{Part: o.part}
		case opReplacePart:
			ws[i] = Write{Part: o.part, Replace: true}
		}
	}
	mask(ws)
	masked()
	for done < len(ws) {
		batch := ws[done:min(done+maxBatch, len(ws))]
		cctx, cancel := context.WithTimeout(ctx, timeout)
		n, s, err := d.drv.Write(cctx, batch)
		cancel()
		st.add(s)
		if err != nil {
			return done + n, err
		}
		done += len(batch)
	}
	return done, nil
}
