package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"evalrec.dev/result"
)

// An op is one write, in the order it must be applied. The same ops are sent
// to the server or, when it is away, appended to the spool and replayed later.
type op struct {
	Kind string        `bson:"op"` // opInsert, opSet or opFinalize
	Coll string        `bson:"coll,omitempty"`
	Doc  any           `bson:"doc,omitempty"` // opInsert: the document
	ID   any           `bson:"id,omitempty"`  // opSet: the _id to update
	Set  any           `bson:"set,omitempty"` // opSet: fields for $set
	Run  bson.ObjectID `bson:"run,omitempty"` // opFinalize: the run

	// test, until the session resolves it into Doc, is the result an
	// opInsert of a test run stores; journaled says it is in the journal.
	test      *result.Test
	journaled bool
}

const (
	opInsert   = "insert"
	opSet      = "set"
	opFinalize = "finalize"
)

// maxBatch bounds one InsertMany, well under the 16 MiB message limit for
// typical test runs; the driver splits larger ones anyway.
const maxBatch = 1000

// applyStats counts what apply did.
type applyStats struct {
	Inserted   int
	Duplicates int // already stored: the write was a no-op
	Rejected   []error
}

// apply runs ops in order. Consecutive inserts into one collection go out as
// one unordered InsertMany; duplicate keys count as already stored. A document
// the server rejects is reported in Rejected and does not stop the rest. A
// transport failure (server gone, timeout) stops apply: it returns how many
// ops were done, so the caller can spool the others.
func (d *DB) apply(ctx context.Context, timeout time.Duration, ops []op, st *applyStats) (done int, err error) {
	for done < len(ops) {
		o := ops[done]
		switch o.Kind {
		case opInsert:
			end := done + 1
			for end < len(ops) && end-done < maxBatch && ops[end].Kind == opInsert && ops[end].Coll == o.Coll {
				end++
			}
			docs := make([]any, 0, end-done)
			for _, x := range ops[done:end] {
				docs = append(docs, x.Doc)
			}
			if err := d.insertMany(ctx, timeout, o.Coll, docs, st); err != nil {
				return done, err
			}
			done = end
		case opSet:
			cctx, cancel := context.WithTimeout(ctx, timeout)
			_, err := d.db.Collection(o.Coll).UpdateOne(cctx, bson.D{{Key: "_id", Value: o.ID}}, bson.D{{Key: "$set", Value: o.Set}})
			cancel()
			if err != nil {
				if isTransport(err) {
					return done, err
				}
				st.Rejected = append(st.Rejected, fmt.Errorf("updating %s %v: %w", o.Coll, o.ID, err))
			}
			done++
		case opFinalize:
			if _, err := d.Finalize(ctx, o.Run, time.Now()); err != nil {
				if isTransport(err) {
					return done, err
				}
				st.Rejected = append(st.Rejected, fmt.Errorf("finalizing run %s: %w", o.Run.Hex(), err))
			}
			done++
		default:
			st.Rejected = append(st.Rejected, fmt.Errorf("unknown spooled operation %q", o.Kind))
			done++
		}
	}
	return done, nil
}

func (d *DB) insertMany(ctx context.Context, timeout time.Duration, coll string, docs []any, st *applyStats) error {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := d.db.Collection(coll).InsertMany(cctx, docs, options.InsertMany().SetOrdered(false))
	if res != nil {
		st.Inserted += len(res.InsertedIDs)
	}
	if err == nil {
		return nil
	}
	var bwe mongo.BulkWriteException
	if errors.As(err, &bwe) && len(bwe.WriteErrors) > 0 && bwe.WriteConcernError == nil {
		for _, we := range bwe.WriteErrors {
			if we.Code == 11000 {
				st.Duplicates++
				continue
			}
			st.Rejected = append(st.Rejected, fmt.Errorf("%s document %d rejected: %s (code %d)", coll, we.Index, we.Message, we.Code))
		}
		return nil
	}
	return err
}

// isTransport reports whether err means the server could not be used (as
// opposed to the server refusing one document).
func isTransport(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.Is(err, mongo.ErrClientDisconnected) {
		return true
	}
	if mongo.IsNetworkError(err) || mongo.IsTimeout(err) {
		return true
	}
	var se mongo.ServerError
	if errors.As(err, &se) {
		return false
	}
	// Server selection errors and other client-side failures.
	return true
}
