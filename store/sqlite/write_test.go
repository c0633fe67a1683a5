package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"evalrec.dev/model"
	"evalrec.dev/store"
	"evalrec.dev/store/sqlite"
)

// TestABatchThatFailsStoresNoneOfIt makes the store refuse the third
// write of a batch (a trigger aborts it, as a full disk would) and finds
// none of the batch stored: the part and the test run before it went
// out in the same transaction.
func TestABatchThatFailsStoresNoneOfIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	require.NoError(t, err)
	db := store.NewDB(s, store.SQLiteURI(path), "")
	defer db.Close()
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	r := model.EvaluationRun{ID: model.NewIDAt(at), EvaluationRunID: "r", StartedAt: at, Environment: "ci", Status: model.StatusRunning}
	require.NoError(t, db.InsertRun(ctx, &r))

	raw, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	_, err = raw.Exec(`CREATE TRIGGER refuse BEFORE INSERT ON test_runs WHEN NEW.test_id = 'm.TestBoom' BEGIN SELECT RAISE(ABORT, 'refused'); END`)
	require.NoError(t, err)
	require.NoError(t, raw.Close())

	test := func(name string) *model.TestRun {
		return &model.TestRun{ID: "r/m." + name + "#0", TestRunID: "r/m." + name + "#0", EvaluationRunID: r.ID, TestID: "m." + name,
			TestName: name, GoTest: name, Package: "m", FinishedAt: at, Status: "passed", Environment: "ci"}
	}
	p := store.Part{ID: "r/m", EvaluationRunID: r.ID, Package: "m", StartedAt: at, HeartbeatAt: at, Status: model.StatusRunning}
	done, _, err := db.Write(ctx, []store.Write{{Part: &p}, {TestRun: test("TestA")}, {TestRun: test("TestBoom")}, {TestRun: test("TestC")}})
	require.ErrorContains(t, err, "refused")
	assert.Zero(t, done)
	parts, err := db.Parts(ctx, r.ID)
	require.NoError(t, err)
	assert.Empty(t, parts)
	trs, err := db.TestRunsOf(ctx, r.ID)
	require.NoError(t, err)
	assert.Empty(t, trs)

	done, st, err := db.Write(ctx, []store.Write{{Part: &p}, {TestRun: test("TestA")}, {TestRun: test("TestC")}})
	require.NoError(t, err)
	assert.Equal(t, 3, done)
	assert.Equal(t, 3, st.Inserted)
}
