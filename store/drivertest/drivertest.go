// Package drivertest is the conformance suite of evalrec's store drivers,
// as the Go CDK's drivertest is of its docstore drivers: each driver's
// tests call [RunConformanceTests] with a harness that opens a fresh store
// of its kind, so the suite itself imports no driver.
package drivertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"evalrec.dev/model"
	"evalrec.dev/provenance"
	"evalrec.dev/samples"
	"evalrec.dev/store"
)

// Harness opens a fresh, empty store with evalrec's indexes, closed when
// the test ends.
type Harness func(t *testing.T) *store.DB

// RunConformanceTests checks that the driver open opens keeps
// [store.Driver]'s contract: what it stores comes back the same, every
// filter and order the commands use answers the same, and writes are
// idempotent. A driver that passes behaves like the others.
func RunConformanceTests(t *testing.T, open Harness) {
	for _, c := range []struct {
		name string
		fn   func(*testing.T, *store.DB)
	}{
		{"runs round-trip and are unique by _id and by name", contractRuns},
		{"test runs round-trip, idempotently", contractTestRuns},
		{"a write of many test runs stores each once, with its output", contractManyTestRuns},
		{"a tally adds up a run's test runs", contractTally},
		{"run filters and order", contractRunFilters},
		{"test history filters and order", contractHistory},
		{"the previous comparable run", contractPrevious},
		{"parts are replaced by their owner and reaped once", contractParts},
		{"a batch's writes are applied in order", contractBatch},
		{"totals are set", contractTotals},
		{"runs are deleted with their children", contractDelete},
		{"every document can be read back", contractEach},
		{"concurrent writers all store", contractConcurrent},
	} {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open(t)) })
	}
}

var ctx = context.Background()

// at is a fixed time, to the millisecond as stores keep it.
var at = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

// sampleRun is a run with every field set.
func sampleRun(n int, project string) model.EvaluationRun {
	started := at.Add(time.Duration(n) * time.Minute)
	sys := provenance.System{GoVersion: "go1.26", GOOS: "linux", GOARCH: "amd64", CPUModel: "cpu", NumCPU: 2,
		Module: project, Version: "(devel)", Dependencies: []provenance.Module{{Path: "dep.io/a", Version: "v1.0.0"}},
		SystemUnderTest: map[string]any{"model": "m1", "nested": map[string]any{"beam": "4"}}, Hostname: "host-1"}
	finished := started.Add(time.Minute)
	score := 80.5 + float64(n)
	return model.EvaluationRun{
		ID: model.NewIDAt(started), EvaluationRunID: fmt.Sprintf("run-%03d", n),
		StartedAt: started, FinishedAt: &finished, GitCommit: ptr(fmt.Sprintf("%040d", n)), GitBranch: ptr("main"),
		GitDirty: ptr(false), Environment: "dev", ExperimentTags: []string{"a", "b"}, System: sys, SystemInfoHash: sys.Hash(),
		Metrics: map[string]float64{"wer": 0.1}, MetricStats: map[string]model.MetricStats{"wer": {N: 2, Mean: 0.1, Min: 0.05, Max: 0.15, P50: 0.1, P90: 0.14}},
		NumTests: 2, NumPassed: 1, NumFailed: 1, Status: model.StatusCompleted, Score: &score, Source: "wrapper",
		Project: project, Repository: "https://example.com/r.git", Packages: []string{project + "/a", project + "/b"},
	}
}

// sampleTest is a test run of r with every field set.
func sampleTest(r *model.EvaluationRun, name string, finished time.Time, status string) model.TestRun {
	id := r.EvaluationRunID + "/" + r.Project + "/a." + name + "#1"
	started := finished.Add(-time.Second)
	score := 75.25
	return model.TestRun{
		ID: id, EvaluationRunID: r.ID, TestRunID: id, TestID: r.Project + "/a." + name, TestName: name,
		Package: r.Project + "/a", GoTest: name, Attempt: 1, StartedAt: &started, FinishedAt: finished, DurationMS: 1000.5,
		Status: status, Passed: status == "passed",
		Metrics: map[string]model.MetricDoc{
			"wer":     {Value: ptr(0.1), Unit: "ratio", Direction: "lower", Threshold: ptr(0.3), Score: 90, Passed: ptr(true)},
			"nan":     {NonFinite: "NaN", Direction: "higher", Assumed: true},
			"lat%2Ep": {Value: ptr(12.0), Name: "lat.p", Unit: "ms", Direction: "lower", Weight: 2, Score: 50},
		},
		Score: &score, ScoreMethod: "average", Tags: []string{"t"}, Participants: []string{}, Attributes: map[string]string{"k": "v"},
		Output: "--- FAIL: " + name + "\n", Environment: r.Environment, Project: r.Project, GitCommit: r.GitCommit, GitBranch: r.GitBranch,
	}
}

func contractRuns(t *testing.T, db *store.DB) {
	r := sampleRun(1, "example.com/p")
	require.NoError(t, db.InsertRun(ctx, &r))
	got, err := db.Run(ctx, r.ID)
	require.NoError(t, err)
	sameDoc(t, r, *got, "a run reads back as stored")
	assert.Equal(t, r.System.Hostname, got.System.Hostname)
	named, err := db.RunNamed(ctx, r.EvaluationRunID)
	require.NoError(t, err)
	assert.Equal(t, r.ID, named.ID)
	assert.Equal(t, r.SystemInfoHash, got.System.Hash(), "the system hashes the same after the round trip")

	again := r
	again.Environment = "other"
	err = db.InsertRun(ctx, &again)
	assert.ErrorIs(t, err, store.ErrDuplicateID)
	assert.ErrorIs(t, err, store.ErrExists)
	other := sampleRun(2, "example.com/p")
	other.EvaluationRunID = r.EvaluationRunID
	err = db.InsertRun(ctx, &other)
	assert.ErrorIs(t, err, store.ErrDuplicateName)
	assert.ErrorIs(t, err, store.ErrExists)
	assert.NotErrorIs(t, err, store.ErrDuplicateID)
	got, err = db.Run(ctx, r.ID)
	require.NoError(t, err)
	assert.Equal(t, "dev", got.Environment, "a duplicate never overwrites")

	_, err = db.Run(ctx, model.NewID())
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = db.RunNamed(ctx, "nothing")
	assert.ErrorIs(t, err, store.ErrNotFound)

	listed, err := db.Runs(ctx, store.RunFilter{})
	require.NoError(t, err)
	require.Len(t, listed, 1)
	assert.Empty(t, listed[0].System.Dependencies, "lists leave the dependencies out")
	listed[0].System.Dependencies = r.System.Dependencies
	sameDoc(t, r, listed[0])
	whole, err := db.Runs(ctx, store.RunFilter{Whole: true})
	require.NoError(t, err)
	require.Len(t, whole, 1)
	sameDoc(t, r, whole[0], "Whole reads the dependencies too")
	second := sampleRun(3, "example.com/p")
	require.NoError(t, db.InsertRun(ctx, &second))
	for _, f := range []store.RunFilter{{ID: r.ID}, {Name: r.EvaluationRunID}} {
		one, err := db.Runs(ctx, f)
		require.NoError(t, err)
		require.Len(t, one, 1, "%+v picks one run", f)
		assert.Equal(t, r.ID, one[0].ID)
	}
}

func contractTestRuns(t *testing.T, db *store.DB) {
	r := sampleRun(1, "example.com/p")
	require.NoError(t, db.InsertRun(ctx, &r))
	a := sampleTest(&r, "TestA", at.Add(time.Hour), "failed")
	b := sampleTest(&r, "TestB", at.Add(time.Hour+time.Second), "passed")
	b.Output, b.Score = "", nil
	st, err := db.InsertTestRuns(ctx, []model.TestRun{b, a})
	require.NoError(t, err)
	assert.Equal(t, store.WriteStats{Inserted: 2}, st)
	a2 := a
	a2.Status = "passed"
	st, err = db.InsertTestRuns(ctx, []model.TestRun{a2})
	require.NoError(t, err)
	assert.Equal(t, store.WriteStats{Duplicates: 1}, st, "storing again is a no-op")

	all, err := db.TestRunsOfRuns(ctx, []model.ID{r.ID})
	require.NoError(t, err)
	require.Len(t, all, 2)
	wantA := a
	wantA.Output = ""
	assert.Equal(t, []model.TestRun{wantA, b}, all, "whole, without output, sorted by _id")
	out, err := db.TestOutput(ctx, a.ID)
	require.NoError(t, err)
	assert.Equal(t, a.Output, out)
	out, err = db.TestOutput(ctx, b.ID)
	require.NoError(t, err)
	assert.Empty(t, out)
	_, err = db.TestOutput(ctx, "nothing")
	assert.ErrorIs(t, err, store.ErrNotFound)

	// Results, while the run runs, once it has finished, and after it
	// gained a test run (a late writer): every time what is stored.
	want := func(trs ...model.TestRun) []string { return flatResults(t, samples.StreamOf(trs)) }
	results := func() []string {
		t.Helper()
		return flatResults(t, db.Results(ctx, []model.ID{model.NewID(), r.ID}))
	}
	assert.Equal(t, want(a, b), results(), "the results of a running run")
	done := r
	done.Status = model.StatusCompleted
	setTotals(t, db, &done)
	assert.Equal(t, want(a, b), results(), "the results of a finished run")
	assert.Equal(t, want(a, b), results(), "read again")
	c := sampleTest(&r, "TestC", at.Add(2*time.Hour), "skipped")
	c.Score, c.Cached = nil, true
	_, err = db.InsertTestRuns(ctx, []model.TestRun{c})
	require.NoError(t, err)
	assert.Equal(t, want(a, b, c), results(), "a test run stored after the run finished is in its results")
	none, err := db.TestRunsOfRuns(ctx, []model.ID{model.NewID()})
	require.NoError(t, err)
	assert.Empty(t, none)
}

// contractManyTestRuns writes more test runs at once than a driver may put
// in one statement, some stored already, one twice in the same write, and
// some with output: each is stored once, counted once, and keeps its
// output.
func contractManyTestRuns(t *testing.T, db *store.DB) {
	r := sampleRun(1, "example.com/p")
	require.NoError(t, db.InsertRun(ctx, &r))
	var trs []model.TestRun
	for i := range 300 {
		tr := sampleTest(&r, fmt.Sprintf("Test%03d", i), at.Add(time.Duration(i)*time.Second), "passed")
		tr.Output = ""
		if i%50 == 7 {
			tr.Status, tr.Output = "failed", fmt.Sprintf("--- FAIL: Test%03d\n", i)
		}
		trs = append(trs, tr)
	}
	st, err := db.InsertTestRuns(ctx, trs[:100])
	require.NoError(t, err)
	assert.Equal(t, store.WriteStats{Inserted: 100}, st)
	st, err = db.InsertTestRuns(ctx, append(trs[50:], trs[260]))
	require.NoError(t, err)
	assert.Equal(t, store.WriteStats{Inserted: 200, Duplicates: 51}, st, "50 stored before, and one given twice")

	all, err := db.TestRunsOfRuns(ctx, []model.ID{r.ID})
	require.NoError(t, err)
	assert.Len(t, all, 300)
	for _, i := range []int{7, 57, 157, 257} {
		out, err := db.TestOutput(ctx, trs[i].ID)
		require.NoError(t, err)
		assert.Equal(t, trs[i].Output, out)
	}
	out, err := db.TestOutput(ctx, trs[8].ID)
	require.NoError(t, err)
	assert.Empty(t, out)
	assert.Equal(t, flatResults(t, samples.StreamOf(trs)), flatResults(t, db.Results(ctx, []model.ID{r.ID})))
}

// flatResults lists the results a stream yields, one line a test run,
// sorted, so that two are equal when they hold the same, in whatever order
// and with whatever indexes.
func flatResults(t *testing.T, stream samples.ResultStream) []string {
	t.Helper()
	var out []string
	require.NoError(t, stream(func(rs *samples.Results) error {
		for i, r := range rs.Rows {
			if r.Run != rs.Current() {
				return fmt.Errorf("a row of run %d among those of run %d", r.Run, rs.Current())
			}
			line := fmt.Sprintf("%s %s %q %s cached=%v score=%v finished=%d", rs.Runs[r.Run].Hex(), rs.Tests[r.Test].TestID,
				rs.Tests[r.Test].TestName, r.Status(), r.Cached, r.Score, r.Finished)
			for _, v := range rs.ValuesOf(i) {
				line += fmt.Sprintf(" %+v=%v", rs.Metrics[v.Metric], v.Value)
			}
			out = append(out, line)
		}
		return nil
	}))
	slices.Sort(out)
	return out
}

func contractTally(t *testing.T, db *store.DB) {
	r := sampleRun(1, "example.com/p")
	require.NoError(t, db.InsertRun(ctx, &r))
	a := sampleTest(&r, "TestA", at, "passed")
	b := sampleTest(&r, "TestB", at, "failed")
	c := sampleTest(&r, "TestC", at, "skipped")
	c.Metrics = nil
	_, err := db.InsertTestRuns(ctx, []model.TestRun{a, b, c})
	require.NoError(t, err)
	other := sampleRun(2, "example.com/p")
	require.NoError(t, db.InsertRun(ctx, &other))
	_, err = db.InsertTestRuns(ctx, []model.TestRun{sampleTest(&other, "TestA", at, "passed")})
	require.NoError(t, err)

	got, err := db.Tally(ctx, r.ID)
	require.NoError(t, err)
	assert.Equal(t, store.Counts{NumTests: 3, NumPassed: 1, NumFailed: 1, NumSkipped: 1}, got.Counts)
	assert.Equal(t, []float64{0.1, 0.1}, got.MetricValues["wer"])
	assert.Equal(t, []float64{12, 12}, got.MetricValues["lat%2Ep"])
	assert.NotContains(t, got.MetricValues, "nan", "non-finite values are not counted")
	slices.Sort(got.Scores)
	assert.Equal(t, []float64{0, 75.25}, got.Scores, "a failed test scores 0; a skipped one does not count")
}

func contractRunFilters(t *testing.T, db *store.DB) {
	var runs []model.EvaluationRun
	for i := range 6 {
		r := sampleRun(i, "example.com/p")
		switch i {
		case 1:
			r.Project = "example.com/other"
		case 2:
			r.Project = "" // stored before runs had projects: in every project
		case 3:
			r.ExperimentTags = []string{"a"}
			r.Environment = "ci"
		case 4:
			r.Status, r.GitBranch = model.StatusRunning, ptr("feature")
			r.SystemInfoHash = "other-hash"
		case 5:
			r.StartedAt = runs[4].StartedAt // a tie, broken by _id
			r.ID = model.NewIDAt(r.StartedAt.Add(time.Hour))
		}
		require.NoError(t, db.InsertRun(ctx, &r))
		runs = append(runs, r)
	}
	names := func(f store.RunFilter) []string {
		t.Helper()
		rs, err := db.Runs(ctx, f)
		require.NoError(t, err)
		out := []string{}
		for _, r := range rs {
			out = append(out, r.EvaluationRunID)
		}
		return out
	}
	assert.Equal(t, []string{"run-005", "run-004", "run-003", "run-002", "run-001", "run-000"}, names(store.RunFilter{}), "newest first; ties by _id")
	assert.Equal(t, []string{"run-005", "run-004", "run-003", "run-002", "run-000"}, names(store.RunFilter{Project: "example.com/p"}))
	assert.Equal(t, []string{"run-002", "run-001"}, names(store.RunFilter{Project: "example.com/other"}))
	assert.Equal(t, []string{"run-005", "run-004"}, names(store.RunFilter{Project: "example.com/p", Limit: 2}))
	assert.Equal(t, []string{"run-005", "run-004", "run-002", "run-001", "run-000"}, names(store.RunFilter{Tags: []string{"b", "a"}}))
	assert.Equal(t, []string{"run-003"}, names(store.RunFilter{Environment: "ci"}))
	assert.Equal(t, []string{"run-004"}, names(store.RunFilter{Branch: "feature"}))
	assert.Equal(t, []string{"run-004"}, names(store.RunFilter{Status: model.StatusRunning}))
	assert.Equal(t, []string{"run-004"}, names(store.RunFilter{SystemInfoHash: "other-hash"}))
	assert.Equal(t, []string{"run-003", "run-002"}, names(store.RunFilter{Since: runs[2].StartedAt, Until: runs[4].StartedAt}))
	assert.Equal(t, []string{"run-005", "run-003"}, names(store.RunFilter{Except: []model.ID{runs[4].ID, runs[2].ID, runs[1].ID, runs[0].ID}}))
	assert.Equal(t, []string{}, names(store.RunFilter{Project: "example.com/none", Environment: "ci"}))
	// A project with three conditions and more: the report's "last runs
	// of this branch and environment" once found none.
	assert.Equal(t, []string{"run-002", "run-000"}, names(store.RunFilter{Project: "example.com/p", Branch: "main", Environment: "dev", Until: runs[3].StartedAt, Limit: 30}))
	assert.Equal(t, []string{"run-005", "run-002", "run-000"}, names(store.RunFilter{Project: "example.com/p", Branch: "main", Environment: "dev", Status: model.StatusCompleted, Tags: []string{"a"}}))
}

func contractHistory(t *testing.T, db *store.DB) {
	r1, r2 := sampleRun(1, "example.com/p"), sampleRun(2, "example.com/p")
	r2.Environment, r2.GitBranch = "ci", ptr("feature")
	old := sampleRun(3, "")
	for _, r := range []*model.EvaluationRun{&r1, &r2, &old} {
		require.NoError(t, db.InsertRun(ctx, r))
	}
	var trs []model.TestRun
	for i, r := range []*model.EvaluationRun{&r1, &r2, &old} {
		tr := sampleTest(r, "TestA", at.Add(time.Duration(i)*time.Hour), "passed")
		tr.TestID = "example.com/p/a.TestA"
		trs = append(trs, tr)
	}
	tie := sampleTest(&r1, "TestB", trs[0].FinishedAt, "passed")
	tie.ID, tie.TestID = tie.ID+"-tie", "example.com/p/a.TestA"
	trs = append(trs, tie)
	_, err := db.InsertTestRuns(ctx, trs)
	require.NoError(t, err)
	ids := func(f store.HistoryFilter) []string {
		t.Helper()
		h, err := db.TestHistory(ctx, "example.com/p/a.TestA", f)
		require.NoError(t, err)
		out := []string{}
		for _, tr := range h {
			assert.Empty(t, tr.Output, "history leaves output out")
			out = append(out, tr.ID)
		}
		return out
	}
	all := []string{trs[2].ID, trs[1].ID, tie.ID, trs[0].ID}
	assert.Equal(t, all, ids(store.HistoryFilter{}), "newest first; ties by _id, descending")
	assert.Equal(t, all[:2], ids(store.HistoryFilter{Limit: 2}))
	assert.Equal(t, all, ids(store.HistoryFilter{Project: "example.com/p"}), "test runs of no project show in every project")
	assert.Equal(t, []string{trs[2].ID}, ids(store.HistoryFilter{Project: "example.com/q"}))
	assert.Equal(t, []string{trs[1].ID}, ids(store.HistoryFilter{Environment: "ci"}))
	assert.Equal(t, []string{trs[1].ID}, ids(store.HistoryFilter{Branch: "feature"}))
	assert.Equal(t, all[:2], ids(store.HistoryFilter{Since: trs[1].FinishedAt}))
	h, err := db.TestHistory(ctx, "nothing", store.HistoryFilter{})
	require.NoError(t, err)
	assert.Empty(t, h)
}

func contractPrevious(t *testing.T, db *store.DB) {
	var runs []model.EvaluationRun
	for i := range 6 {
		r := sampleRun(i, "example.com/p")
		switch i {
		case 2:
			r.Packages = []string{"example.com/p/other"} // shares no package
		case 3:
			r.Status = model.StatusRunning
		case 4:
			r.Environment = "ci"
		}
		require.NoError(t, db.InsertRun(ctx, &r))
		runs = append(runs, r)
	}
	cand := runs[5]
	prev, err := db.PreviousComparable(ctx, &cand)
	require.NoError(t, err)
	assert.Equal(t, "run-001", prev.EvaluationRunID, "skips the running, other-environment and no-shared-package runs")
	cand.GitBranch = ptr("feature")
	_, err = db.PreviousComparable(ctx, &cand)
	assert.ErrorIs(t, err, store.ErrNotFound)
	cand = runs[0]
	_, err = db.PreviousComparable(ctx, &cand)
	assert.ErrorIs(t, err, store.ErrNotFound, "nothing started before the first")
}

// contractBatch writes what a session queues: a part, its test runs, its
// end, and writes stored already, in one batch.
func contractBatch(t *testing.T, db *store.DB) {
	r := sampleRun(1, "example.com/p")
	require.NoError(t, db.InsertRun(ctx, &r))
	p := store.Part{ID: "p1", EvaluationRunID: r.ID, Package: "example.com/p/a", StartedAt: at, HeartbeatAt: at, Status: model.StatusRunning}
	a, b := sampleTest(&r, "TestA", at, "passed"), sampleTest(&r, "TestB", at, "failed")
	ended := p
	finished := at.Add(time.Minute)
	ended.Status, ended.FinishedAt, ended.Summary = model.StatusCompleted, &finished, store.Counts{NumTests: 2, NumPassed: 1, NumFailed: 1}
	again, dup := p, a
	next := sampleRun(2, "example.com/p")
	done, st, err := db.Write(ctx, []store.Write{{Part: &p}, {TestRun: &a}, {Part: &ended, Replace: true}, {TestRun: &b}, {TestRun: &dup}, {Part: &again}, {Run: &next}})
	require.NoError(t, err)
	assert.Equal(t, 7, done)
	assert.Equal(t, 4, st.Inserted, "the part, two test runs and a run")
	assert.Equal(t, 2, st.Duplicates, "a test run and the part written twice")
	assert.Empty(t, st.Rejected)
	parts, err := db.Parts(ctx, r.ID)
	require.NoError(t, err)
	sameDoc(t, []store.Part{ended}, parts, "the part as it ended: its insert again changed nothing")
	trs, err := db.TestRunsOf(ctx, r.ID)
	require.NoError(t, err)
	assert.Len(t, trs, 2)
	_, err = db.Run(ctx, next.ID)
	require.NoError(t, err, "a run written in a batch")

	// A batch stops at a run that is stored already: a driver that writes
	// it in one transaction stores nothing of it, another what came before.
	c := sampleTest(&r, "TestC", at, "passed")
	done, _, err = db.Write(ctx, []store.Write{{TestRun: &c}, {Run: &next}})
	assert.ErrorIs(t, err, store.ErrDuplicateID)
	assert.Less(t, done, 2)
	trs, err = db.TestRunsOf(ctx, r.ID)
	require.NoError(t, err)
	assert.Len(t, trs, 2+done, "the test run is stored if, and only if, it was done")
}

func contractParts(t *testing.T, db *store.DB) {
	r := sampleRun(1, "example.com/p")
	require.NoError(t, db.InsertRun(ctx, &r))
	p := store.Part{ID: "p2", EvaluationRunID: r.ID, Package: "example.com/p/a", Host: "h", PID: 7,
		StartedAt: at, HeartbeatAt: at, Status: model.StatusRunning, Summary: store.Counts{NumTests: 1, NumPassed: 1},
		Dependencies: []provenance.Module{{Path: "dep.io/x", Version: "v2"}},
		System:       &provenance.System{Module: "example.com/p", SystemUnderTest: map[string]any{"model": "m2"}}}
	q := store.Part{ID: "p1", EvaluationRunID: r.ID, Package: "example.com/p/b", StartedAt: at, HeartbeatAt: at, Status: model.StatusRunning}
	st, err := db.InsertParts(ctx, []store.Part{p, q})
	require.NoError(t, err)
	assert.Equal(t, 2, st.Inserted)
	st, err = db.InsertParts(ctx, []store.Part{p})
	require.NoError(t, err)
	assert.Equal(t, 1, st.Duplicates)
	parts, err := db.Parts(ctx, r.ID)
	require.NoError(t, err)
	sameDoc(t, []store.Part{q, p}, parts, "sorted by _id")

	p.HeartbeatAt, p.Summary = at.Add(time.Second), store.Counts{NumTests: 2, NumPassed: 2}
	require.NoError(t, db.ReplacePart(ctx, &p))
	dead := q
	finished := at.Add(time.Minute)
	dead.Status, dead.Error, dead.FinishedAt, dead.Reaped = model.StatusFailed, "died", &finished, true
	reap(t, db, r.ID, dead)
	again := dead
	again.Error = "died again"
	reap(t, db, r.ID, again) // no longer running: not reaped twice
	parts, err = db.Parts(ctx, r.ID)
	require.NoError(t, err)
	sameDoc(t, []store.Part{dead, p}, parts)
	none, err := db.Parts(ctx, model.NewID())
	require.NoError(t, err)
	assert.Empty(t, none)
}

// setTotals finalizes r's run with r's totals.
func setTotals(t *testing.T, db *store.DB, r *model.EvaluationRun) {
	t.Helper()
	_, err := db.FinalizeWith(ctx, r.ID, store.Finalizing{
		Reap:   func([]store.Part) []*store.Part { return nil },
		Totals: func(run *model.EvaluationRun, _ []store.Part, _ *samples.Results) { *run = *r },
	})
	require.NoError(t, err)
}

// reap finalizes run reaping p, and leaves its totals as they are.
func reap(t *testing.T, db *store.DB, run model.ID, p store.Part) {
	t.Helper()
	_, err := db.FinalizeWith(ctx, run, store.Finalizing{
		Reap:   func([]store.Part) []*store.Part { return []*store.Part{&p} },
		Totals: func(*model.EvaluationRun, []store.Part, *samples.Results) {},
	})
	require.NoError(t, err)
}

func contractTotals(t *testing.T, db *store.DB) {
	r := sampleRun(1, "example.com/p")
	r.Status, r.FinishedAt, r.Score, r.Packages = model.StatusRunning, nil, nil, []string{}
	require.NoError(t, db.InsertRun(ctx, &r))
	done := sampleRun(1, "example.com/p")
	done.ID, done.EvaluationRunID = r.ID, r.EvaluationRunID
	done.NumTests, done.Score, done.Error = 7, ptr(12.5), "one part failed"
	done.System.Dependencies = append(done.System.Dependencies, provenance.Module{Path: "dep.io/b", Version: "v3"})
	done.System.SystemUnderTest = map[string]any{"model": "m9"}
	done.SystemInfoHash = done.System.Hash()
	done.Packages = []string{"example.com/p/z"}
	setTotals(t, db, &done)
	got, err := db.Run(ctx, r.ID)
	require.NoError(t, err)
	sameDoc(t, done, *got)

	later := sampleRun(9, "example.com/p")
	later.Packages = []string{"example.com/p/z"}
	later.System, later.SystemInfoHash = done.System, done.SystemInfoHash
	prev, err := db.PreviousComparable(ctx, &later)
	require.NoError(t, err)
	assert.Equal(t, r.ID, prev.ID, "packages and hash set by totals are what comparisons select by")
}

func contractDelete(t *testing.T, db *store.DB) {
	keep, gone := sampleRun(1, "example.com/p"), sampleRun(2, "example.com/p")
	for _, r := range []*model.EvaluationRun{&keep, &gone} {
		require.NoError(t, db.InsertRun(ctx, r))
		_, err := db.InsertTestRuns(ctx, []model.TestRun{sampleTest(r, "TestA", at, "passed"), sampleTest(r, "TestB", at, "failed")})
		require.NoError(t, err)
		_, err = db.InsertParts(ctx, []store.Part{{ID: r.EvaluationRunID + "/p", EvaluationRunID: r.ID, StartedAt: at, HeartbeatAt: at, Status: model.StatusCompleted}})
		require.NoError(t, err)
	}
	tests, parts, err := db.CountChildren(ctx, []model.ID{gone.ID})
	require.NoError(t, err)
	assert.Equal(t, [2]int64{2, 1}, [2]int64{tests, parts})
	tests, parts, err = db.DeleteRuns(ctx, []model.ID{gone.ID})
	require.NoError(t, err)
	assert.Equal(t, [2]int64{2, 1}, [2]int64{tests, parts})
	_, err = db.Run(ctx, gone.ID)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = db.TestOutput(ctx, sampleTest(&gone, "TestA", at, "passed").ID)
	assert.ErrorIs(t, err, store.ErrNotFound)
	tests, parts, err = db.CountChildren(ctx, []model.ID{keep.ID, gone.ID})
	require.NoError(t, err)
	assert.Equal(t, [2]int64{2, 1}, [2]int64{tests, parts}, "the other run keeps its children")
	runs, err := db.Runs(ctx, store.RunFilter{Tags: []string{"a"}})
	require.NoError(t, err)
	assert.Len(t, runs, 1, "a deleted run's tags go with it")
}

func contractEach(t *testing.T, db *store.DB) {
	r := sampleRun(1, "example.com/p")
	require.NoError(t, db.InsertRun(ctx, &r))
	a, b := sampleTest(&r, "TestA", at, "failed"), sampleTest(&r, "TestB", at, "passed")
	_, err := db.InsertTestRuns(ctx, []model.TestRun{b, a})
	require.NoError(t, err)
	p := store.Part{ID: "p", EvaluationRunID: r.ID, StartedAt: at, HeartbeatAt: at, Status: model.StatusCompleted}
	_, err = db.InsertParts(ctx, []store.Part{p})
	require.NoError(t, err)
	var got []any
	for coll, want := range map[string]int64{store.RunsCollection: 1, store.PartsCollection: 1, store.TestsCollection: 2} {
		n, err := db.Count(ctx, coll)
		require.NoError(t, err)
		assert.Equal(t, want, n, coll)
	}
	for _, coll := range []string{store.RunsCollection, store.PartsCollection, store.TestsCollection} {
		require.NoError(t, db.Each(ctx, coll, func(doc any) error { got = append(got, doc); return nil }))
	}
	sameDoc(t, []any{&r, &p, &a, &b}, got, "whole documents, output included, in _id order")
	stop := errors.New("stop")
	assert.ErrorIs(t, db.Each(ctx, store.TestsCollection, func(any) error { return stop }), stop)

	// The documents of some runs: only theirs, in _id order.
	r2 := sampleRun(2, "example.com/p")
	require.NoError(t, db.InsertRun(ctx, &r2))
	c := sampleTest(&r2, "TestC", at, "passed")
	_, err = db.InsertTestRuns(ctx, []model.TestRun{c})
	require.NoError(t, err)
	ids := func(runs ...model.ID) []string {
		t.Helper()
		trs, err := db.TestRunsOfRuns(ctx, runs)
		require.NoError(t, err)
		out := []string{}
		for _, tr := range trs {
			out = append(out, tr.ID)
		}
		return out
	}
	assert.Equal(t, []string{a.ID, b.ID}, ids(r.ID))
	assert.Equal(t, []string{c.ID}, ids(r2.ID))
	assert.Equal(t, []string{a.ID, b.ID, c.ID}, ids(r2.ID, r.ID))
	ps, err := db.Parts(ctx, r2.ID)
	require.NoError(t, err)
	assert.Empty(t, ps, "the parts of a run that has none")
}

func contractConcurrent(t *testing.T, db *store.DB) {
	const writers, each = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			r := sampleRun(w, "example.com/p")
			if err := db.InsertRun(ctx, &r); err != nil {
				errs <- err
				return
			}
			for i := range each {
				tr := sampleTest(&r, fmt.Sprintf("Test%d", i), at, "passed")
				if _, err := db.InsertTestRuns(ctx, []model.TestRun{tr}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	n, err := db.Count(ctx, store.TestsCollection)
	require.NoError(t, err)
	assert.Equal(t, int64(writers*each), n)
}

// sameDoc compares documents by their JSON: a nested value of the
// system under test comes back as another Go type from each store (a
// number is an int32 from MongoDB and a float64 from SQLite's JSON), and
// both are the same document.
func sameDoc(t *testing.T, want, got any, msg ...any) {
	t.Helper()
	w, err := json.Marshal(want)
	require.NoError(t, err)
	g, err := json.Marshal(got)
	require.NoError(t, err)
	assert.JSONEq(t, string(w), string(g), msg...)
}
