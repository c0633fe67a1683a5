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

// newestFirst orders runs newest first; runs that started in the same
// millisecond are ordered by _id, so that latest~N always names the same run.
var newestFirst = bson.D{{Key: "started_at", Value: -1}, {Key: "_id", Value: -1}}

func findOne[T any](ctx context.Context, c *mongo.Collection, filter bson.D, opts ...options.Lister[options.FindOneOptions]) (*T, error) {
	var out T
	err := c.FindOne(ctx, filter, opts...).Decode(&out)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	plain(&out)
	return &out, nil
}

func find[T any](ctx context.Context, c *mongo.Collection, filter bson.D, opts ...options.Lister[options.FindOptions]) ([]T, error) {
	cur, err := c.Find(ctx, filter, opts...)
	if err != nil {
		return nil, err
	}
	var out []T
	if err := cur.All(ctx, &out); err != nil {
		return nil, err
	}
	for i := range out {
		plain(&out[i])
	}
	return out, nil
}

// Runs implements [store.Driver].
func (s *Store) Runs(ctx context.Context, f store.RunFilter) ([]model.EvaluationRun, error) {
	opts := options.Find().SetSort(newestFirst)
	if !f.Whole {
		opts.SetProjection(bson.D{{Key: "system_information.dependencies", Value: 0}})
	}
	if f.Limit > 0 {
		opts.SetLimit(f.Limit)
	}
	return find[model.EvaluationRun](ctx, s.runs(), runFilter(f), opts)
}

func runFilter(f store.RunFilter) bson.D {
	q := bson.D{}
	if !f.ID.IsZero() {
		q = append(q, bson.E{Key: "_id", Value: f.ID})
	}
	if f.Name != "" {
		q = append(q, bson.E{Key: "evaluation_run_id", Value: f.Name})
	}
	if len(f.Tags) > 0 {
		q = append(q, bson.E{Key: "experiment_tags", Value: bson.D{{Key: "$all", Value: f.Tags}}})
	}
	if f.Project != "" {
		q = append(q, bson.E{Key: "project", Value: inProject(f.Project)})
	}
	for _, kv := range [][2]string{{"environment", f.Environment}, {"git_branch", f.Branch}, {"status", f.Status}, {"system_info_hash", f.SystemInfoHash}} {
		if kv[1] != "" {
			q = append(q, bson.E{Key: kv[0], Value: kv[1]})
		}
	}
	var when bson.D
	if !f.Since.IsZero() {
		when = append(when, bson.E{Key: "$gte", Value: f.Since})
	}
	if !f.Until.IsZero() {
		when = append(when, bson.E{Key: "$lt", Value: f.Until})
	}
	if len(when) > 0 {
		q = append(q, bson.E{Key: "started_at", Value: when})
	}
	if len(f.Except) > 0 {
		q = append(q, bson.E{Key: "_id", Value: bson.D{{Key: "$nin", Value: f.Except}}})
	}
	if c := f.Like; c != nil {
		q = append(q,
			bson.E{Key: "project", Value: c.Project},
			bson.E{Key: "environment", Value: c.Environment},
			bson.E{Key: "system_info_hash", Value: c.SystemInfoHash},
			bson.E{Key: "git_branch", Value: c.Branch},
			bson.E{Key: "status", Value: bson.D{{Key: "$ne", Value: model.StatusRunning}}},
			bson.E{Key: "started_at", Value: bson.D{{Key: "$lte", Value: c.Before}}})
		if len(c.Packages) > 0 {
			q = append(q, bson.E{Key: "packages", Value: bson.D{{Key: "$in", Value: c.Packages}}})
		}
	}
	return q
}

// inProject matches a project's documents, and those of no project (stored
// before evalrec recorded projects, or read outside any module), which
// show in every one.
func inProject(p string) bson.D {
	return bson.D{{Key: "$in", Value: bson.A{p, nil, ""}}}
}

// partsOf returns a run's parts, sorted by _id.
func (s *Store) partsOf(ctx context.Context, run model.ID) ([]store.Part, error) {
	return find[store.Part](ctx, s.parts(), bson.D{{Key: "evaluation_run_id", Value: run}}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
}

// resultFields are what [samples.Results] holds of a test run.
var resultFields = bson.D{{Key: "_id", Value: 1}, {Key: "evaluation_run_id", Value: 1}, {Key: "test_id", Value: 1},
	{Key: "test_name", Value: 1}, {Key: "package", Value: 1}, {Key: "go_test", Value: 1}, {Key: "attempt", Value: 1},
	{Key: "status", Value: 1}, {Key: "cached", Value: 1}, {Key: "score", Value: 1}, {Key: "score_method", Value: 1},
	{Key: "finished_at", Value: 1}, {Key: "duration_ms", Value: 1}, {Key: "metrics", Value: 1}}

// Results implements [store.Driver], a run at a time, from a cursor over
// its test runs (index evaluation_run_id): one document is decoded at a
// time.
func (s *Store) Results(ctx context.Context, runs []model.ID, rs *samples.Results, yield func(*samples.Results) error) error {
	for _, id := range runs {
		rs.Reset(id)
		cur, err := s.tests().Find(ctx, bson.D{{Key: "evaluation_run_id", Value: id}}, options.Find().SetProjection(resultFields))
		if err != nil {
			return err
		}
		for cur.Next(ctx) {
			var t model.TestRun
			if err := cur.Decode(&t); err != nil {
				cur.Close(ctx)
				return err
			}
			rs.Add(&t)
		}
		err = cur.Err()
		cur.Close(ctx)
		if err != nil {
			return err
		}
		if err := yield(rs); err != nil {
			return err
		}
	}
	return nil
}

// TestHistory implements [store.Driver].
func (s *Store) TestHistory(ctx context.Context, testID string, f store.HistoryFilter) ([]model.TestRun, error) {
	q := bson.D{{Key: "test_id", Value: testID}}
	if f.Project != "" {
		q = append(q, bson.E{Key: "project", Value: inProject(f.Project)})
	}
	if f.Environment != "" {
		q = append(q, bson.E{Key: "environment", Value: f.Environment})
	}
	if f.Branch != "" {
		q = append(q, bson.E{Key: "git_branch", Value: f.Branch})
	}
	if !f.Since.IsZero() {
		q = append(q, bson.E{Key: "finished_at", Value: bson.D{{Key: "$gte", Value: f.Since}}})
	}
	opts := options.Find().SetSort(bson.D{{Key: "finished_at", Value: -1}, {Key: "_id", Value: -1}}).SetProjection(bson.D{{Key: "output", Value: 0}})
	if f.Limit > 0 {
		opts.SetLimit(f.Limit)
	}
	return find[model.TestRun](ctx, s.tests(), q, opts)
}

// TestOutput implements [store.Driver].
func (s *Store) TestOutput(ctx context.Context, testRunID string) (string, error) {
	t, err := findOne[struct {
		Output string `bson:"output"`
	}](ctx, s.tests(), bson.D{{Key: "_id", Value: testRunID}})
	if err != nil {
		return "", err
	}
	return t.Output, nil
}

// Each implements [store.Driver].
func (s *Store) Each(ctx context.Context, sc store.Scan) error {
	filter := bson.D{}
	if sc.Runs != nil {
		if sc.Run != nil {
			return errors.New("runs are not selected by run")
		}
		filter = byRuns(sc.Runs)
	}
	switch {
	case sc.TestRun != nil:
		return each(ctx, s.tests(), filter, sc.TestRun)
	case sc.Part != nil:
		return each(ctx, s.parts(), filter, sc.Part)
	case sc.Run != nil:
		return each(ctx, s.runs(), filter, sc.Run)
	}
	return errors.New("a scan of no collection")
}

// each calls fn with every document of c that filter selects, decoded
// as a T, in _id order.
func each[T any](ctx context.Context, c *mongo.Collection, filter bson.D, fn func(*T) error) error {
	cur, err := c.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return err
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		doc := new(T)
		if err := cur.Decode(doc); err != nil {
			return err
		}
		plain(doc)
		if err := fn(doc); err != nil {
			return err
		}
	}
	return cur.Err()
}

// Count implements [store.Driver].
func (s *Store) Count(ctx context.Context, collection string, runs []model.ID) (int64, error) {
	if runs == nil {
		return s.db.Collection(collection).CountDocuments(ctx, bson.D{})
	}
	if collection == store.RunsCollection {
		return 0, fmt.Errorf("runs are not counted by run")
	}
	return s.db.Collection(collection).CountDocuments(ctx, byRuns(runs))
}
