package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"evalrec.dev/model"
	"evalrec.dev/store"
	"evalrec.dev/store/sqlite"
)

// schemaV2 is the layout of the test runs before version 3: narrow rows in
// test_runs, and each whole document, with its output, in test_run_docs.
var schemaV2 = []string{
	`CREATE TABLE evaluation_runs (id TEXT PRIMARY KEY, evaluation_run_id TEXT NOT NULL UNIQUE, started_at INTEGER NOT NULL,
		project TEXT, environment TEXT NOT NULL, git_branch TEXT, status TEXT NOT NULL, system_info_hash TEXT NOT NULL,
		score REAL, hostname TEXT, dependencies BLOB, doc BLOB NOT NULL) WITHOUT ROWID`,
	`CREATE TABLE test_runs (run TEXT NOT NULL, id TEXT NOT NULL, test_id TEXT NOT NULL, test_name TEXT NOT NULL,
		package TEXT NOT NULL, attempt INTEGER NOT NULL, finished_at INTEGER NOT NULL, status TEXT NOT NULL, score REAL,
		cached INTEGER NOT NULL, project TEXT, environment TEXT NOT NULL, git_branch TEXT, PRIMARY KEY (run, id)) WITHOUT ROWID`,
	`CREATE TABLE test_run_docs (id TEXT PRIMARY KEY, doc BLOB NOT NULL, output TEXT) WITHOUT ROWID`,
	`CREATE INDEX test_runs_history ON test_runs (test_id, finished_at)`,
	`PRAGMA user_version = 2`,
}

// openSaying opens the store at path, collecting what it says (see
// sqlite.Progress) for the rest of the test.
func openSaying(t *testing.T, path string) (*sqlite.Store, *bytes.Buffer) {
	t.Helper()
	said := &bytes.Buffer{}
	sqlite.Progress = said
	t.Cleanup(func() { sqlite.Progress = nil })
	s, err := sqlite.Open(context.Background(), path)
	require.NoError(t, err)
	return s, said
}

// TestAStoreOfVersion2IsMigratedOnceWithAProgressLine writes a file as
// evalrec wrote it before version 3, opens it, and reads every test run
// back whole, its output included, with one line said about it.
func TestAStoreOfVersion2IsMigratedOnceWithAProgressLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	ctx := context.Background()
	old, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	for _, stmt := range schemaV2 {
		_, err := old.Exec(stmt)
		require.NoError(t, err)
	}
	run := model.NewID()
	commit, branch := "c0ffee", "main"
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	score, v := 75.5, 0.25
	_, err = old.Exec(`INSERT INTO evaluation_runs (id, evaluation_run_id, started_at, environment, status, system_info_hash, doc)
		VALUES (?, 'r1', ?, 'ci', 'completed', 'h', '{}')`, run.Hex(), at.UnixMilli())
	require.NoError(t, err)
	var want []model.TestRun
	for i, status := range []string{"passed", "failed"} {
		started := at.Add(time.Duration(i) * time.Second)
		tr := model.TestRun{ID: "r1/example.com/p.TestA" + status + "#1", EvaluationRunID: run, TestID: "example.com/p.TestA" + status,
			TestName: "A " + status, Package: "example.com/p", GoTest: "TestA" + status, Attempt: 1, StartedAt: &started,
			FinishedAt: started.Add(time.Second), DurationMS: 1000, Status: status, Passed: status == "passed",
			Metrics: map[string]model.MetricDoc{"wer": {Value: &v, Direction: "lower", Score: 80}}, Score: &score, ScoreMethod: "average",
			Tags: []string{"nightly"}, Participants: []string{}, Environment: "ci", Project: "example.com/p", GitCommit: &commit, GitBranch: &branch}
		tr.TestRunID = tr.ID
		if status == "failed" {
			tr.Output = "--- FAIL: TestAfailed\n"
		}
		doc := tr
		doc.Output = ""
		b, err := json.Marshal(&doc)
		require.NoError(t, err)
		_, err = old.Exec(`INSERT INTO test_runs VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, 0, ?, 'ci', 'main')`, run.Hex(), tr.ID, tr.TestID,
			tr.TestName, tr.Package, tr.FinishedAt.UnixMilli(), status, score, tr.Project)
		require.NoError(t, err)
		_, err = old.Exec(`INSERT INTO test_run_docs VALUES (?, ?, ?)`, tr.ID, b, sql.NullString{String: tr.Output, Valid: tr.Output != ""})
		require.NoError(t, err)
		want = append(want, tr)
	}
	require.NoError(t, old.Close())

	s, said := openSaying(t, path)
	assert.Contains(t, said.String(), "migrating the embedded store")
	assert.Contains(t, said.String(), "the test runs of 1 runs")
	got, err := store.NewDB(s, path, "").TestRunsOfRuns(ctx, []model.ID{run})
	require.NoError(t, err)
	want[0], want[1] = want[1], want[0] // sorted by _id
	for i := range want {
		want[i].Output = ""
	}
	assert.Equal(t, want, got, "every field of every test run is kept")
	out, err := s.TestOutput(ctx, want[0].ID)
	require.NoError(t, err)
	assert.Equal(t, "--- FAIL: TestAfailed\n", out)
	out, err = s.TestOutput(ctx, want[1].ID)
	require.NoError(t, err)
	assert.Empty(t, out)
	_, err = s.TestOutput(ctx, "r1/example.com/p.TestNone#1")
	assert.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, s.Close())

	said.Reset()
	s, err = sqlite.Open(ctx, path)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	assert.Empty(t, said.String(), "migrated once")
	assert.False(t, strings.Contains(said.String(), "test_run_docs"))
}

// TestAStoreOfVersion3KeepsItsRunsInARowidTable writes runs as evalrec
// wrote them before version 4 (a WITHOUT ROWID table, whose rows spilled
// onto overflow pages), opens the file, and reads them back in order, from
// a rowid table, with one line said.
func TestAStoreOfVersion3KeepsItsRunsInARowidTable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v3.db")
	ctx := context.Background()
	old, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	for _, stmt := range []string{
		schemaV2[0],
		`CREATE INDEX runs_started_at ON evaluation_runs (started_at)`,
		`CREATE INDEX runs_project_started_at ON evaluation_runs (project, started_at)`,
		`CREATE INDEX runs_status_started_at ON evaluation_runs (status, started_at)`,
		`PRAGMA user_version = 3`,
	} {
		_, err := old.Exec(stmt)
		require.NoError(t, err)
	}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var ids []model.ID
	for i := range 3 {
		r := model.EvaluationRun{ID: model.NewIDAt(at.Add(time.Duration(i) * time.Hour)), EvaluationRunID: fmt.Sprintf("r%d", i),
			StartedAt: at.Add(time.Duration(i) * time.Hour), Environment: "ci", Status: model.StatusCompleted, Project: "example.com/p"}
		doc, err := json.Marshal(&r)
		require.NoError(t, err)
		_, err = old.Exec(`INSERT INTO evaluation_runs (id, evaluation_run_id, started_at, project, environment, status, system_info_hash, doc)
			VALUES (?, ?, ?, 'example.com/p', 'ci', 'completed', 'h', ?)`, r.ID.Hex(), r.EvaluationRunID, r.StartedAt.UnixMilli(), doc)
		require.NoError(t, err)
		ids = append(ids, r.ID)
	}
	require.NoError(t, old.Close())

	s, said := openSaying(t, path)
	defer s.Close()
	assert.Contains(t, said.String(), "to schema 5: 3 runs")
	rs, err := s.Runs(ctx, store.RunFilter{Project: "example.com/p"})
	require.NoError(t, err)
	require.Len(t, rs, 3)
	for i, r := range rs {
		assert.Equal(t, ids[2-i], r.ID, "newest first")
	}
	one, err := s.Runs(ctx, store.RunFilter{Name: "r1", Whole: true})
	require.NoError(t, err)
	require.Len(t, one, 1)
	assert.Equal(t, ids[1], one[0].ID)

	check, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	require.NoError(t, err)
	defer check.Close()
	var ddl string
	require.NoError(t, check.QueryRow(`SELECT sql FROM sqlite_master WHERE name = 'evaluation_runs'`).Scan(&ddl))
	assert.NotContains(t, ddl, "WITHOUT ROWID")
	var n int
	require.NoError(t, check.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'evaluation_runs_v3'`).Scan(&n))
	assert.Zero(t, n, "the old table is gone")
}

// TestAStoreOfVersion4KeysItsTestRunsByRunAndTest writes test runs as
// evalrec wrote them before version 5 (keyed by run and _id, with an index
// by test), opens the file, and finds every test run and a test's history,
// with one line said and the old index gone.
func TestAStoreOfVersion4KeysItsTestRunsByRunAndTest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v4.db")
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	require.NoError(t, err)
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var runs []model.ID
	var want []model.TestRun
	for i := range 3 {
		r := model.EvaluationRun{ID: model.NewIDAt(at.Add(time.Duration(i) * time.Hour)), EvaluationRunID: fmt.Sprintf("r%d", i),
			StartedAt: at.Add(time.Duration(i) * time.Hour), Environment: "ci", Status: model.StatusCompleted, Project: "example.com/p"}
		_, _, err := s.Write(ctx, []store.Write{{Run: &r}})
		require.NoError(t, err)
		runs = append(runs, r.ID)
		for _, name := range []string{"TestB", "TestA", "TestA/x#01"} {
			id := r.EvaluationRunID + "/example.com/p." + name + "#0"
			want = append(want, model.TestRun{ID: id, TestRunID: id, EvaluationRunID: r.ID, TestID: "example.com/p." + name, TestName: name,
				Package: "example.com/p", GoTest: name, FinishedAt: r.StartedAt.Add(time.Minute), Status: "passed", Passed: true,
				Metrics: map[string]model.MetricDoc{}, Tags: []string{}, Participants: []string{}, Environment: "ci", Project: "example.com/p"})
		}
	}
	_, err = store.NewDB(s, "sqlite:"+path, "").InsertTestRuns(ctx, want)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	// Back to version 4's layout: the same rows, keyed by run and _id.
	old, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	for _, stmt := range []string{
		`ALTER TABLE test_runs RENAME TO v5`,
		`CREATE TABLE test_runs (run TEXT NOT NULL, id TEXT NOT NULL, test_id TEXT NOT NULL, test_name TEXT NOT NULL,
			package TEXT NOT NULL, attempt INTEGER NOT NULL, finished_at INTEGER NOT NULL, status TEXT NOT NULL, score REAL,
			cached INTEGER NOT NULL, project TEXT, environment TEXT NOT NULL, git_branch TEXT, doc BLOB NOT NULL,
			PRIMARY KEY (run, id)) WITHOUT ROWID`,
		`INSERT INTO test_runs SELECT * FROM v5`,
		`DROP TABLE v5`,
		`CREATE INDEX test_runs_history ON test_runs (test_id, finished_at)`,
		`PRAGMA user_version = 4`,
	} {
		_, err := old.Exec(stmt)
		require.NoError(t, err, stmt)
	}
	require.NoError(t, old.Close())

	s, said := openSaying(t, path)
	defer s.Close()
	assert.Contains(t, said.String(), "to schema 5: the test runs of 3 runs")
	got, err := store.NewDB(s, path, "").TestRunsOfRuns(ctx, runs)
	require.NoError(t, err)
	assert.Len(t, got, len(want), "every test run is kept")
	h, err := s.TestHistory(ctx, "example.com/p.TestA", store.HistoryFilter{Limit: 2})
	require.NoError(t, err)
	require.Len(t, h, 2)
	assert.Equal(t, []string{"r2/example.com/p.TestA#0", "r1/example.com/p.TestA#0"}, []string{h[0].ID, h[1].ID}, "newest first, and only that test")
	_, err = s.TestOutput(ctx, "r0/example.com/p.TestA/x#01#0")
	assert.NoError(t, err, "a test run whose test's name holds # is found")

	var n int
	require.NoError(t, s.DB().QueryRow(`SELECT count(*) FROM sqlite_master WHERE name IN ('test_runs_v4', 'test_runs_history')`).Scan(&n))
	assert.Zero(t, n, "the old table and its index are gone")
}
