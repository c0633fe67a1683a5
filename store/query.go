package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// RunFilter selects evaluation runs. Zero fields do not filter.
type RunFilter struct {
	// Project scopes the runs to one project (a module path); empty means
	// every project.
	Project        string
	Tags           []string // runs carrying all of these tags
	Environment    string
	Branch         string
	Status         string
	SystemInfoHash string
	Since, Until   time.Time
	Limit          int64 // 0: no limit
}

func (f RunFilter) filter() bson.D {
	q := bson.D{}
	if len(f.Tags) > 0 {
		q = append(q, bson.E{Key: "experiment_tags", Value: bson.D{{Key: "$all", Value: f.Tags}}})
	}
	if f.Project != "" {
		q = append(q, bson.E{Key: "project", Value: inProject(f.Project)})
	}
	for k, v := range map[string]string{"environment": f.Environment, "git_branch": f.Branch, "status": f.Status, "system_info_hash": f.SystemInfoHash} {
		if v != "" {
			q = append(q, bson.E{Key: k, Value: v})
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
	return q
}

// inProject matches a project's documents, and those stored before
// evalrec recorded projects, which belong to no project and so show in
// every one.
func inProject(p string) bson.D {
	return bson.D{{Key: "$in", Value: bson.A{p, nil}}}
}

// Runs returns the runs matching f, newest first. The dependency list is
// left out; Run returns a run whole.
func (d *DB) Runs(ctx context.Context, f RunFilter) ([]EvaluationRun, error) {
	cctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	opts := options.Find().SetSort(newestFirst).
		SetProjection(bson.D{{Key: "system_information.dependencies", Value: 0}})
	if f.Limit > 0 {
		opts.SetLimit(f.Limit)
	}
	cur, err := d.runs().Find(cctx, f.filter(), opts)
	if err != nil {
		return nil, err
	}
	var out []EvaluationRun
	err = cur.All(cctx, &out)
	return out, err
}

// newestFirst orders runs newest first; runs that started in the same
// millisecond are ordered by _id, so that latest~N always names the same run.
var newestFirst = bson.D{{Key: "started_at", Value: -1}, {Key: "_id", Value: -1}}

// queryTimeout bounds read queries, which may scan on the embedded store.
const queryTimeout = 2 * time.Minute

var latestRef = regexp.MustCompile(`^latest(?:~(\d+))?$`)

// ResolveRun finds the run a reference names:
//
//	an evaluation_run_id     2026-11-26T10-44-10Z-main-61af42-e34d8d
//	an ObjectID in hex       6b080e147620453f5d625777
//	latest, latest~N         the newest run matching f, or the N-th before it
//	tag:NAME, branch:NAME    the newest run with that tag or on that branch
func (d *DB) ResolveRun(ctx context.Context, ref string, f RunFilter) (*EvaluationRun, error) {
	runs, err := d.ResolveRuns(ctx, ref, 1, f)
	if err != nil {
		return nil, err
	}
	return &runs[0], nil
}

// ResolveRuns is ResolveRun for up to n runs: for latest, tag: and branch:
// references, the n newest matching runs (for latest~N, those from the N-th
// on); other references name one run.
func (d *DB) ResolveRuns(ctx context.Context, ref string, n int, f RunFilter) ([]EvaluationRun, error) {
	skip := int64(0)
	switch {
	case latestRef.MatchString(ref):
		if m := latestRef.FindStringSubmatch(ref); m[1] != "" {
			skip, _ = strconv.ParseInt(m[1], 10, 64)
		}
	case strings.HasPrefix(ref, "tag:"):
		f.Tags = append(f.Tags, strings.TrimPrefix(ref, "tag:"))
	case strings.HasPrefix(ref, "branch:"):
		f.Branch = strings.TrimPrefix(ref, "branch:")
	default:
		filter := bson.D{{Key: "evaluation_run_id", Value: ref}}
		if id, err := bson.ObjectIDFromHex(ref); err == nil {
			filter = bson.D{{Key: "_id", Value: id}}
		}
		var r EvaluationRun
		err := d.findOne(ctx, d.runs(), filter, &r)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return nil, fmt.Errorf("no run %q: give an evaluation_run_id, an ObjectID, latest, latest~N, tag:NAME or branch:NAME", ref)
		}
		if err != nil {
			return nil, err
		}
		return []EvaluationRun{r}, nil
	}
	f.Limit = skip + int64(max(n, 1))
	runs, err := d.Runs(ctx, f)
	if err != nil {
		return nil, err
	}
	if int64(len(runs)) <= skip {
		return nil, fmt.Errorf("no run matches %q (%d found)", ref, len(runs))
	}
	return runs[skip:], nil
}

// HistoryFilter narrows a test's history.
type HistoryFilter struct {
	Project     string // empty: every project
	Environment string
	Branch      string
	Since       time.Time
	Limit       int64
}

// TestHistory returns the runs of one test, newest first.
func (d *DB) TestHistory(ctx context.Context, testID string, f HistoryFilter) ([]TestRun, error) {
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
	cctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	cur, err := d.tests().Find(cctx, q, opts)
	if err != nil {
		return nil, err
	}
	var out []TestRun
	err = cur.All(cctx, &out)
	return out, err
}

// IDs returns the runs' _ids.
func IDs(runs []EvaluationRun) []bson.ObjectID {
	ids := make([]bson.ObjectID, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	return ids
}

// TestRunsOfRuns returns the test runs of the given runs, without output,
// sorted by test_run_id.
func (d *DB) TestRunsOfRuns(ctx context.Context, ids []bson.ObjectID) ([]TestRun, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	cctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	cur, err := d.tests().Find(cctx, bson.D{{Key: "evaluation_run_id", Value: bson.D{{Key: "$in", Value: ids}}}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetProjection(bson.D{{Key: "output", Value: 0}}))
	if err != nil {
		return nil, err
	}
	var out []TestRun
	err = cur.All(cctx, &out)
	return out, err
}

// TestOutput returns the stored output tail of one test run.
func (d *DB) TestOutput(ctx context.Context, testRunID string) (string, error) {
	var t struct {
		Output string `bson:"output"`
	}
	err := d.findOne(ctx, d.tests(), bson.D{{Key: "_id", Value: testRunID}}, &t)
	return t.Output, err
}

// PruneReport counts what a prune deleted, or would delete.
type PruneReport struct {
	Runs, TestRuns, Parts int64
}

// Prune deletes the runs f selects (those of a project that started before
// a cutoff: f.Until), with their test runs, parts and part values. Children
// go first, so an interrupted prune leaves runs without some children but
// never children without their run; running it again finishes the job.
// With dryRun it only counts.
func (d *DB) Prune(ctx context.Context, f RunFilter, dryRun bool) (PruneReport, error) {
	var rep PruneReport
	if f.Until.IsZero() {
		return rep, errors.New("prune needs a cutoff")
	}
	f.Limit = 0
	runs, err := d.Runs(ctx, f)
	if err != nil {
		return rep, err
	}
	ids := make([]bson.ObjectID, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	rep.Runs = int64(len(ids))
	for start := 0; start < len(ids); start += 500 {
		batch := ids[start:min(start+500, len(ids))]
		in := bson.D{{Key: "evaluation_run_id", Value: bson.D{{Key: "$in", Value: batch}}}}
		cctx, cancel := context.WithTimeout(ctx, queryTimeout)
		if dryRun {
			n, err := d.tests().CountDocuments(cctx, in)
			rep.TestRuns += n
			p, err2 := d.parts().CountDocuments(cctx, in)
			rep.Parts += p
			cancel()
			if err := errors.Join(err, err2); err != nil {
				return rep, err
			}
			continue
		}
		t, err := d.tests().DeleteMany(cctx, in)
		if err == nil {
			rep.TestRuns += t.DeletedCount
			_, err = d.db.Collection(PartValuesCollection).DeleteMany(cctx, in)
		}
		if err == nil {
			_, err = d.db.Collection(PartsArchiveCollection).DeleteMany(cctx, in)
		}
		if err == nil {
			_, err = d.db.Collection(ArchivedRunsCollection).DeleteMany(cctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: batch}}}})
		}
		if err == nil {
			var p *mongo.DeleteResult
			p, err = d.parts().DeleteMany(cctx, in)
			if p != nil {
				rep.Parts += p.DeletedCount
			}
		}
		if err == nil {
			_, err = d.runs().DeleteMany(cctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: batch}}}})
		}
		cancel()
		if err != nil {
			return rep, fmt.Errorf("pruning: %w", err)
		}
	}
	return rep, nil
}
