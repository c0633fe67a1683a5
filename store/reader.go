package store

import (
	"context"
	"errors"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// ErrNotFound is returned when a query matches nothing.
var ErrNotFound = errors.New("not found")

// Run returns the evaluation run with the given _id.
func (d *DB) Run(ctx context.Context, id bson.ObjectID) (*EvaluationRun, error) {
	var r EvaluationRun
	err := d.findOne(ctx, d.runs(), bson.D{{Key: "_id", Value: id}}, &r)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, ErrNotFound
	}
	return &r, err
}

// PreviousComparable returns the latest finished run before r of the same
// project, branch, environment and system hash that ran at least one of r's
// packages: the run whose results r should be compared with, on the
// packages both ran. It returns ErrNotFound when there is none.
func (d *DB) PreviousComparable(ctx context.Context, r *EvaluationRun) (*EvaluationRun, error) {
	filter := bson.D{
		{Key: "_id", Value: bson.D{{Key: "$ne", Value: r.ID}}},
		{Key: "project", Value: r.Project},
		{Key: "environment", Value: r.Environment},
		{Key: "system_info_hash", Value: r.SystemInfoHash},
		{Key: "git_branch", Value: r.GitBranch},
		{Key: "status", Value: bson.D{{Key: "$ne", Value: StatusRunning}}},
		{Key: "started_at", Value: bson.D{{Key: "$lte", Value: r.StartedAt}}},
	}
	if len(r.Packages) > 0 {
		filter = append(filter, bson.E{Key: "packages", Value: bson.D{{Key: "$in", Value: r.Packages}}})
	}
	cctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	cur, err := d.runs().Find(cctx, filter, options.Find().SetSort(newestFirst).SetLimit(1))
	if err != nil {
		return nil, err
	}
	var out []EvaluationRun
	if err := cur.All(cctx, &out); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, ErrNotFound
	}
	return &out[0], nil
}

// TestRunsOf returns the test runs of one evaluation run, sorted by
// test_run_id.
func (d *DB) TestRunsOf(ctx context.Context, runID bson.ObjectID) ([]TestRun, error) {
	return d.TestRunsOfRuns(ctx, []bson.ObjectID{runID})
}
