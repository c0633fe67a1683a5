package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// ArchiveAfter is how long after the last of its parts ended a run's parts
// (and their values) move to the archive. Until then another test binary of
// the same go test invocation may still join the run.
//
// Every test binary that finishes reads its run's parts, and FerretDB v1
// answers that by decoding every document in the parts collection (about
// 0.1 ms each here): the archive keeps that collection to the parts of the
// last hour, so finishing a binary costs the same after a thousand runs as
// after one.
const ArchiveAfter = time.Hour

// An ArchivedPart is a settled part, with its values, in
// PartsArchiveCollection.
type ArchivedPart struct {
	Part   `bson:",inline"`
	Values Values `bson:"values"`
}

// archivedRun marks a run whose parts were archived, in
// ArchivedRunsCollection; finalization reads the archive only for such runs.
type archivedRun struct {
	ID bson.ObjectID `bson:"_id"`
}

// ArchiveSettled moves the parts of runs that have settled (every part
// ended, the last more than ArchiveAfter before now) to the archive, at most
// limit runs at a time, and returns how many runs it archived. It is
// idempotent, and safe to interrupt: each step repeats harmlessly, and
// finalization reads the live and the archived parts of a marked run and
// counts each part once.
func (d *DB) ArchiveSettled(ctx context.Context, now time.Time, limit int) (int, error) {
	cctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	cur, err := d.parts().Find(cctx, bson.D{})
	if err != nil {
		return 0, fmt.Errorf("reading parts: %w", err)
	}
	var all []Part
	if err := cur.All(cctx, &all); err != nil {
		return 0, fmt.Errorf("reading parts: %w", err)
	}
	byRun := map[bson.ObjectID][]Part{}
	var order []bson.ObjectID
	for _, p := range all {
		if _, ok := byRun[p.EvaluationRunID]; !ok {
			order = append(order, p.EvaluationRunID)
		}
		byRun[p.EvaluationRunID] = append(byRun[p.EvaluationRunID], p)
	}
	archived := 0
	for _, run := range order {
		if archived == limit {
			break
		}
		parts := byRun[run]
		if !settled(parts, now) {
			continue
		}
		if err := d.archive(ctx, run, parts); err != nil {
			return archived, err
		}
		archived++
	}
	return archived, nil
}

// settled reports whether every part has ended, the last more than
// ArchiveAfter before now.
func settled(parts []Part, now time.Time) bool {
	for _, p := range parts {
		if p.Status == StatusRunning || p.FinishedAt == nil || now.Sub(*p.FinishedAt) < ArchiveAfter {
			return false
		}
	}
	return len(parts) > 0
}

// archive copies a run's parts with their values to the archive, marks the
// run, and then deletes the live copies.
func (d *DB) archive(ctx context.Context, run bson.ObjectID, parts []Part) error {
	if err := d.moveToArchive(ctx, run, parts); err != nil {
		return fmt.Errorf("archiving the parts of run %s: %w", run.Hex(), err)
	}
	return nil
}

func (d *DB) moveToArchive(ctx context.Context, run bson.ObjectID, parts []Part) error {
	if err := d.readValues(ctx, parts, nil); err != nil {
		return err
	}
	docs := make([]any, len(parts))
	for i, p := range parts {
		docs[i] = ArchivedPart{Part: p, Values: p.Values}
	}
	var st applyStats
	if err := d.insertMany(ctx, opTimeout, PartsArchiveCollection, docs, &st); err != nil {
		return err
	}
	if err := d.insertMany(ctx, opTimeout, ArchivedRunsCollection, []any{archivedRun{ID: run}}, &st); err != nil {
		return err
	}
	if len(st.Rejected) > 0 {
		return errors.Join(st.Rejected...)
	}
	// One _id at a time: FerretDB hands a single-_id filter to SQLite, but
	// decodes every document in Go for an $in.
	for _, p := range parts {
		for _, coll := range []string{PartValuesCollection, PartsCollection} {
			cctx, cancel := context.WithTimeout(ctx, opTimeout)
			_, err := d.db.Collection(coll).DeleteOne(cctx, bson.D{{Key: "_id", Value: p.ID}})
			cancel()
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// withArchived adds to parts, the run's live parts, the archived ones that
// are not among them, with their values, when the run is marked archived.
func (d *DB) withArchived(ctx context.Context, run bson.ObjectID, parts []Part) ([]Part, error) {
	var mark archivedRun
	err := d.findOne(ctx, d.db.Collection(ArchivedRunsCollection), bson.D{{Key: "_id", Value: run}}, &mark)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return parts, nil
	case err != nil:
		return nil, fmt.Errorf("reading the archive mark of run %s: %w", run.Hex(), err)
	}
	cctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	cur, err := d.db.Collection(PartsArchiveCollection).Find(cctx, bson.D{{Key: "evaluation_run_id", Value: run}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("reading the archived parts of run %s: %w", run.Hex(), err)
	}
	var archived []ArchivedPart
	if err := cur.All(cctx, &archived); err != nil {
		return nil, fmt.Errorf("reading the archived parts of run %s: %w", run.Hex(), err)
	}
	live := make(map[string]bool, len(parts))
	for _, p := range parts {
		live[p.ID] = true
	}
	for _, a := range archived {
		if !live[a.ID] {
			p := a.Part
			p.Values = a.Values
			parts = append(parts, p)
		}
	}
	return parts, nil
}
