package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"evalrec.dev/model"
	"evalrec.dev/samples"
)

// RunFilter selects evaluation runs. Zero fields do not filter.
type RunFilter struct {
	// ID or Name picks the run with that _id or evaluation_run_id.
	ID   model.ID
	Name string
	// Like picks the runs another run is compared with by default; its
	// project is matched exactly, so Project is left empty with it.
	Like *Comparable
	// Project scopes the runs to one project (a module path); empty means
	// every project. Runs stored before evalrec recorded projects belong
	// to none, and show in every project.
	Project        string
	Tags           []string // runs carrying all of these tags
	Environment    string
	Branch         string
	Status         string
	SystemInfoHash string
	Since, Until   time.Time // started_at in [Since, Until)
	Except         []model.ID
	Limit          int64 // 0: no limit
	// Whole reads each run with its dependency list, which lists leave
	// out for speed.
	Whole bool
}

// HistoryFilter narrows a test's history.
type HistoryFilter struct {
	Project     string // empty: every project
	Environment string
	Branch      string
	Since       time.Time // finished_at ≥ Since
	Limit       int64
}

var latestRef = regexp.MustCompile(`^latest(?:~(\d+))?$`)

// ResolveRun finds the run a reference names:
//
//	an evaluation_run_id     2026-11-26T10-44-10Z-main-61af42-e34d8d
//	an ObjectID in hex       6b080e147620453f5d625777
//	latest, latest~N         the newest run matching f, or the N-th before it
//	tag:NAME, branch:NAME    the newest run with that tag or on that branch
func (d *DB) ResolveRun(ctx context.Context, ref string, f RunFilter) (*model.EvaluationRun, error) {
	runs, err := d.ResolveRuns(ctx, ref, 1, f)
	if err != nil {
		return nil, err
	}
	return &runs[0], nil
}

// ResolveRuns is ResolveRun for up to n runs: for latest, tag: and branch:
// references, the n newest matching runs (for latest~N, those from the N-th
// on); other references name one run.
// DefaultSideRuns is how many runs a tag: or branch: reference stands for
// when the caller gives no count (n 0): one run against one says nothing
// of noise, so a side is its recent history. latest and a run name one run.
const DefaultSideRuns = 10

func (d *DB) ResolveRuns(ctx context.Context, ref string, n int, f RunFilter) ([]model.EvaluationRun, error) {
	if n <= 0 {
		n = 1
		if strings.HasPrefix(ref, "tag:") || strings.HasPrefix(ref, "branch:") {
			n = DefaultSideRuns
		}
	}
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
		cctx, cancel := context.WithTimeout(ctx, opTimeout)
		defer cancel()
		k := RunFilter{Name: ref, Whole: true}
		if id, herr := model.ParseID(ref); herr == nil {
			k = RunFilter{ID: id, Whole: true}
		}
		r, err := d.one(cctx, k)
		if errors.Is(err, ErrNotFound) {
			return nil, notFound(fmt.Sprintf("no run %q: give an evaluation_run_id, an ObjectID, latest, latest~N, tag:NAME or branch:NAME", ref))
		}
		if err != nil {
			return nil, err
		}
		return []model.EvaluationRun{*r}, nil
	}
	f.Limit = skip + int64(max(n, 1))
	cctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	runs, err := d.drv.Runs(cctx, f)
	if err != nil {
		return nil, err
	}
	if int64(len(runs)) <= skip {
		return nil, notFound(fmt.Sprintf("no run matches %q (%d found)", ref, len(runs)))
	}
	return runs[skip:], nil
}

// PreviousComparable returns the latest finished run before r of the same
// project, branch, environment and system hash that ran at least one of r's
// packages: the run whose results r should be compared with, on the
// packages both ran. It returns ErrNotFound when there is none.
func (d *DB) PreviousComparable(ctx context.Context, r *model.EvaluationRun) (*model.EvaluationRun, error) {
	cctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	return d.one(cctx, RunFilter{Except: []model.ID{r.ID}, Like: &Comparable{
		Project: r.Project, Environment: r.Environment, SystemInfoHash: r.SystemInfoHash,
		Branch: r.GitBranch, Before: r.StartedAt, Packages: r.Packages,
	}})
}

// one returns the newest run f selects, or ErrNotFound.
func (d *DB) one(ctx context.Context, f RunFilter) (*model.EvaluationRun, error) {
	f.Limit = 1
	runs, err := d.drv.Runs(ctx, f)
	if err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		return nil, ErrNotFound
	}
	return &runs[0], nil
}

// IDs returns the runs' _ids.
func IDs(runs []model.EvaluationRun) []model.ID {
	ids := make([]model.ID, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	return ids
}

// TestRunsOf returns the test runs of one evaluation run, sorted by
// test_run_id, without output.
func (d *DB) TestRunsOf(ctx context.Context, runID model.ID) ([]model.TestRun, error) {
	return d.TestRunsOfRuns(ctx, []model.ID{runID})
}

// Results streams the results of the runs' test runs, run by run, in the
// order given (see [samples.Results]). Each read of the stream reads the store
// again, within queryTimeout.
func (d *DB) Results(ctx context.Context, runs []model.ID) samples.ResultStream {
	rs := &samples.Results{}
	return func(yield func(*samples.Results) error) error {
		cctx, cancel := context.WithTimeout(ctx, queryTimeout)
		defer cancel()
		return d.drv.Results(cctx, runs, rs, yield)
	}
}

// ReadResults reads the results of runs into rs, run after run in the
// order given. With rs.Accumulate, rs keeps every run's rows: what compare
// and show read, without a test run document or struct a row.
func (d *DB) ReadResults(ctx context.Context, runs []model.ID, rs *samples.Results) error {
	cctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	return d.drv.Results(cctx, runs, rs, func(*samples.Results) error { return nil })
}

// TestResults returns the test runs of runs as their results hold them
// (see [Results.TestRun]: no output, tags, participants, attributes or
// start, nor the run's fields), sorted by _id: what show and the run page
// list, from a run's digest where the store keeps one, instead of a
// document a test run.
func (d *DB) TestResults(ctx context.Context, runs []model.EvaluationRun) ([]model.TestRun, error) {
	n := 0
	for _, r := range runs {
		n += r.NumTests
	}
	out := make([]model.TestRun, 0, n)
	cctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	rs := &samples.Results{KeepIDs: true}
	err := d.drv.Results(cctx, IDs(runs), rs, func(rs *samples.Results) error {
		for i := range rs.Rows {
			out = append(out, rs.TestRun(i, true))
		}
		return nil
	})
	slices.SortFunc(out, func(a, b model.TestRun) int { return strings.Compare(a.ID, b.ID) })
	return out, err
}

// PruneReport counts what a prune deleted, or would delete.
type PruneReport struct {
	Runs, TestRuns, Parts int64
}

// Prune deletes the runs f selects (those of a project that started before
// a cutoff: f.Until), with their test runs and parts. Children go first, so
// an interrupted prune leaves runs without some children but never
// children without their run; running it again finishes the job. With
// dryRun it only counts.
func (d *DB) Prune(ctx context.Context, f RunFilter, dryRun bool) (PruneReport, error) {
	var rep PruneReport
	if f.Until.IsZero() {
		return rep, errors.New("prune needs a cutoff")
	}
	f.Limit = 0
	cctx, cancel := context.WithTimeout(ctx, queryTimeout)
	runs, err := d.drv.Runs(cctx, f)
	cancel()
	if err != nil {
		return rep, err
	}
	ids := IDs(runs)
	rep.Runs = int64(len(ids))
	for start := 0; start < len(ids); start += 500 {
		batch := ids[start:min(start+500, len(ids))]
		cctx, cancel := context.WithTimeout(ctx, queryTimeout)
		var tests, parts int64
		if dryRun {
			tests, parts, err = d.CountChildren(cctx, batch)
		} else {
			tests, parts, err = d.drv.DeleteRuns(cctx, batch)
		}
		cancel()
		rep.TestRuns += tests
		rep.Parts += parts
		if err != nil {
			return rep, fmt.Errorf("pruning: %w", err)
		}
	}
	return rep, nil
}

// notFound is an error that says what was not found, and is ErrNotFound.
type notFound string

func (e notFound) Error() string { return string(e) }
func (notFound) Unwrap() error   { return ErrNotFound }
