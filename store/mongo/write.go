package mongo

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"evalrec.dev/model"
	"evalrec.dev/samples"
	"evalrec.dev/store"
)

// insertRun stores a new run, and says which key it shares with a stored
// one when it cannot.
func (s *Store) insertRun(ctx context.Context, r *model.EvaluationRun) error {
	_, err := s.runs().InsertOne(ctx, r)
	if err == nil || !mongo.IsDuplicateKeyError(err) {
		return err
	}
	// Which key: the same run (another writer of the invocation created
	// it), or another run with this evaluation_run_id.
	n, cerr := s.runs().CountDocuments(ctx, bson.D{{Key: "_id", Value: r.ID}})
	switch {
	case cerr != nil:
		return cerr
	case n > 0:
		return store.ErrDuplicateID
	}
	return store.ErrDuplicateName
}

// Write implements [store.Driver]. MongoDB has no transactions on the
// servers evalrec supports (FerretDB v1 among them): consecutive inserts
// into one collection go out as one unordered InsertMany, a run and each
// part's replacement as a write of its own, in order.
func (s *Store) Write(ctx context.Context, ws []store.Write) (done int, st store.WriteStats, err error) {
	docs := make([]any, 0, len(ws))
	for done < len(ws) {
		w := ws[done]
		if w.Run != nil {
			if err := s.insertRun(ctx, w.Run); err != nil {
				return done, st, err
			}
			st.Inserted++
			done++
			continue
		}
		if w.Replace {
			if _, err := s.parts().ReplaceOne(ctx, bson.D{{Key: "_id", Value: w.Part.ID}}, w.Part); err != nil {
				return done, st, err
			}
			done++
			continue
		}
		end := done
		docs = docs[:0]
		for ; end < len(ws) && ws[end].Run == nil && !ws[end].Replace && (ws[end].TestRun != nil) == (w.TestRun != nil); end++ {
			if w.TestRun != nil {
				docs = append(docs, ws[end].TestRun)
			} else {
				docs = append(docs, ws[end].Part)
			}
		}
		coll := s.tests()
		if w.TestRun == nil {
			coll = s.parts()
		}
		ist, err := insertMany(ctx, coll, docs)
		st.Inserted += ist.Inserted
		st.Duplicates += ist.Duplicates
		st.Rejected = append(st.Rejected, ist.Rejected...)
		if err != nil {
			return done, st, err
		}
		done = end
	}
	return done, st, nil
}

// maxBatch bounds one InsertMany, well under the 16 MiB message limit for
// typical test runs; the driver splits larger ones anyway.
const maxBatch = 1000

// insertMany inserts docs unordered. Duplicate keys count as stored
// already; a document the server refuses is reported in Rejected and does
// not stop the rest. Any other failure (server gone, timeout) is returned.
func insertMany(ctx context.Context, c *mongo.Collection, docs []any) (store.WriteStats, error) {
	var st store.WriteStats
	for len(docs) > 0 {
		batch := docs[:min(len(docs), maxBatch)]
		docs = docs[len(batch):]
		res, err := c.InsertMany(ctx, batch, options.InsertMany().SetOrdered(false))
		if res != nil {
			st.Inserted += len(res.InsertedIDs)
		}
		if err == nil {
			continue
		}
		var bwe mongo.BulkWriteException
		if !errors.As(err, &bwe) || len(bwe.WriteErrors) == 0 || bwe.WriteConcernError != nil {
			return st, err
		}
		for _, we := range bwe.WriteErrors {
			if we.Code == 11000 {
				st.Duplicates++
				continue
			}
			st.Rejected = append(st.Rejected, fmt.Errorf("%s document %d rejected: %s (code %d)", c.Name(), we.Index, we.Message, we.Code))
		}
	}
	return st, nil
}

// Finalize implements [store.Driver]. A MongoDB-compatible server may
// update no two documents at once (FerretDB v1 updates none atomically),
// and several test binaries of one invocation may finalize their run at
// once: each writes the totals of what it read, so one that read before
// another part ended could write over newer totals. To converge, Finalize
// reads the parts again after writing and repeats while they changed: the
// last write is then made by a writer that saw every part.
func (s *Store) Finalize(ctx context.Context, id model.ID, f store.Finalizing) (*model.EvaluationRun, error) {
	run, err := findOne[model.EvaluationRun](ctx, s.runs(), bson.D{{Key: "_id", Value: id}})
	if err != nil {
		return nil, fmt.Errorf("reading the run: %w", err)
	}
	last := "\x00" // matches no real fingerprint, so the first pass writes
	for range 8 {
		parts, err := s.partsOf(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("reading its parts: %w", err)
		}
		for _, p := range f.Reap(parts) {
			if err := s.reapPart(ctx, p); err != nil {
				return nil, fmt.Errorf("marking part %s failed: %w", p.ID, err)
			}
		}
		fp := store.Fingerprint(parts)
		if fp == last {
			break
		}
		last = fp
		rs := &samples.Results{}
		if err := s.Results(ctx, []model.ID{id}, rs, func(*samples.Results) error { return nil }); err != nil {
			return nil, fmt.Errorf("counting its test runs: %w", err)
		}
		f.Totals(run, parts, rs)
		if err := s.setTotals(ctx, run); err != nil {
			return nil, fmt.Errorf("writing its totals: %w", err)
		}
	}
	return run, nil
}

// reapPart writes p (failed, reaped) over the stored part if that still
// runs.
func (s *Store) reapPart(ctx context.Context, p *store.Part) error {
	_, err := s.parts().UpdateOne(ctx, bson.D{{Key: "_id", Value: p.ID}, {Key: "status", Value: model.StatusRunning}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: p.Status}, {Key: "error", Value: p.Error},
			{Key: "finished_at", Value: p.FinishedAt}, {Key: "reaped", Value: true}}}})
	return err
}

// setTotals writes what finalizing computes with one deterministic $set,
// which FerretDB's read-modify-write updates keep as well as MongoDB does.
func (s *Store) setTotals(ctx context.Context, r *model.EvaluationRun) error {
	set := bson.D{
		{Key: "finished_at", Value: r.FinishedAt},
		{Key: "metrics", Value: r.Metrics},
		{Key: "metric_stats", Value: r.MetricStats},
		{Key: "num_tests", Value: r.NumTests},
		{Key: "num_passed", Value: r.NumPassed},
		{Key: "num_failed", Value: r.NumFailed},
		{Key: "num_skipped", Value: r.NumSkipped},
		{Key: "num_incomplete", Value: r.NumIncomplete},
		{Key: "status", Value: r.Status},
		{Key: "score", Value: r.Score},
		{Key: "error", Value: r.Error},
		{Key: "packages", Value: r.Packages},
		{Key: "project", Value: r.Project},
		{Key: "system_information.dependencies", Value: r.System.Dependencies},
		{Key: "system_information.system_under_test", Value: r.System.SystemUnderTest},
		{Key: "system_information.module", Value: r.System.Module},
		{Key: "system_information.module_version", Value: r.System.Version},
		{Key: "system_information.go_version", Value: r.System.GoVersion},
		{Key: "system_info_hash", Value: r.SystemInfoHash},
	}
	_, err := s.runs().UpdateOne(ctx, bson.D{{Key: "_id", Value: r.ID}}, bson.D{{Key: "$set", Value: set}})
	return err
}

// DeleteRuns implements [store.Driver]: test runs, then parts, then runs.
func (s *Store) DeleteRuns(ctx context.Context, runs []model.ID) (tests, parts int64, err error) {
	in := byRuns(runs)
	t, err := s.tests().DeleteMany(ctx, in)
	if err != nil {
		return 0, 0, err
	}
	p, err := s.parts().DeleteMany(ctx, in)
	if err != nil {
		return t.DeletedCount, 0, err
	}
	// Collections of earlier versions, which kept a part's values apart
	// and archived settled parts.
	for _, coll := range []string{"evaluation_run_part_values", "evaluation_run_parts_archive"} {
		if _, err := s.db.Collection(coll).DeleteMany(ctx, in); err != nil {
			return t.DeletedCount, p.DeletedCount, err
		}
	}
	ids := bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: runs}}}}
	if _, err := s.db.Collection("evaluation_runs_archived").DeleteMany(ctx, ids); err != nil {
		return t.DeletedCount, p.DeletedCount, err
	}
	_, err = s.runs().DeleteMany(ctx, ids)
	return t.DeletedCount, p.DeletedCount, err
}

func byRuns(runs []model.ID) bson.D {
	return bson.D{{Key: "evaluation_run_id", Value: bson.D{{Key: "$in", Value: runs}}}}
}
