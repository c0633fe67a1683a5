package transfer_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"evalrec.dev/internal/histgen"
	"evalrec.dev/internal/storetest"
	"evalrec.dev/internal/testenv"
	"evalrec.dev/internal/transfer"
	"evalrec.dev/store"
)

func TestMain(m *testing.M) {
	testenv.Clean()
	os.Exit(m.Run())
}

var ctx = context.Background()

// history fills db with histgen's standard history.
func history(t *testing.T, db *store.DB) {
	t.Helper()
	_, err := histgen.Standard(ctx, db, time.Now())
	require.NoError(t, err)
}

// documents is every document of db, as comparable JSON lines.
func documents(t *testing.T, db *store.DB) []string {
	t.Helper()
	var out []string
	for _, coll := range transfer.Collections {
		require.NoError(t, db.Each(ctx, coll, func(doc any) error {
			b, err := json.Marshal(doc)
			out = append(out, coll+" "+string(b))
			return err
		}))
	}
	return out
}

func counts(m map[string]int64) []int64 {
	return []int64{m[store.RunsCollection], m[store.PartsCollection], m[store.TestsCollection]}
}

func TestMigratingThereAndBackKeepsEveryDocument(t *testing.T) {
	embedded, mongo := storetest.Open(t, storetest.SQLite), storetest.NewMongo(t)
	history(t, embedded.DB)
	want := documents(t, embedded.DB)
	require.Len(t, want, 24+24+24*5)

	var seen []string
	rep, err := transfer.Copy(ctx, embedded.DB, mongo.DB, func(coll string, done, total int64) {
		if done == total {
			seen = append(seen, coll)
		}
	})
	require.NoError(t, err)
	assert.Equal(t, []int64{24, 24, 120}, counts(rep.Written))
	assert.Equal(t, []string{store.RunsCollection, store.PartsCollection, store.TestsCollection}, seen, "progress reaches the end of each collection")
	assert.Equal(t, want, documents(t, mongo.DB), "MongoDB holds the same documents")

	// Again: nothing new, everything counted as there.
	rep, err = transfer.Copy(ctx, embedded.DB, mongo.DB, nil)
	require.NoError(t, err)
	assert.Equal(t, []int64{0, 0, 0}, counts(rep.Written))
	assert.Equal(t, []int64{24, 24, 120}, counts(rep.Present))

	// And back into a fresh embedded store.
	back := storetest.Open(t, storetest.SQLite)
	_, err = transfer.Copy(ctx, mongo.DB, back.DB, nil)
	require.NoError(t, err)
	assert.Equal(t, want, documents(t, back.DB))
	// Queries answer the same there.
	for _, db := range []*store.DB{embedded.DB, back.DB} {
		h, err := db.TestHistory(ctx, "regress-d", store.HistoryFilter{Limit: 5})
		require.NoError(t, err)
		assert.Len(t, h, 5)
	}
}

func TestAnInterruptedMigrationIsFinishedByRunningItAgain(t *testing.T) {
	from, to := storetest.Open(t, storetest.SQLite), storetest.Open(t, storetest.SQLite)
	history(t, from.DB)
	cctx, cancel := context.WithCancel(ctx)
	_, err := transfer.Copy(cctx, from.DB, to.DB, func(coll string, done, total int64) {
		if coll == store.PartsCollection {
			cancel() // stop after the runs
		}
	})
	require.Error(t, err)
	n, err := to.DB.Count(ctx, store.TestsCollection)
	require.NoError(t, err)
	assert.Zero(t, n)
	rep, err := transfer.Copy(ctx, from.DB, to.DB, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(24), rep.Present[store.RunsCollection])
	assert.Equal(t, int64(120), rep.Written[store.TestsCollection])
	assert.Equal(t, documents(t, from.DB), documents(t, to.DB))
}

func TestARunWhoseIDTheTargetGaveAnotherRunIsReported(t *testing.T) {
	from, to := storetest.Open(t, storetest.SQLite), storetest.Open(t, storetest.SQLite)
	history(t, from.DB)
	runs, err := from.DB.Runs(ctx, store.RunFilter{Limit: 1})
	require.NoError(t, err)
	other := runs[0]
	other.ID = [12]byte{1}
	require.NoError(t, to.DB.InsertRun(ctx, &other))
	rep, err := transfer.Copy(ctx, from.DB, to.DB, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{runs[0].EvaluationRunID}, rep.Conflicts)
	assert.Equal(t, int64(23), rep.Written[store.RunsCollection])
}

func TestExportAndImportRoundTrip(t *testing.T) {
	from := storetest.Open(t, storetest.SQLite)
	history(t, from.DB)
	dir := filepath.Join(t.TempDir(), "export")
	n, err := transfer.Export(ctx, from.DB, dir, nil)
	require.NoError(t, err)
	assert.Equal(t, map[string]int64{store.RunsCollection: 24, store.PartsCollection: 24, store.TestsCollection: 120}, n)

	// One document a line, in MongoDB's shapes.
	b, err := os.ReadFile(filepath.Join(dir, transfer.FileName(store.TestsCollection)))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 120)
	assert.Contains(t, lines[0], `"evaluation_run_id":{"$oid":"`)
	assert.Contains(t, lines[0], `"finished_at":{"$date":"`)

	for _, kind := range storetest.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			to := storetest.Open(t, kind)
			rep, err := transfer.Import(ctx, to.DB, dir, nil)
			require.NoError(t, err)
			assert.Equal(t, []int64{24, 24, 120}, counts(rep.Written))
			assert.Equal(t, documents(t, from.DB), documents(t, to.DB))
			rep, err = transfer.Import(ctx, to.DB, dir, nil)
			require.NoError(t, err)
			assert.Equal(t, []int64{24, 24, 120}, counts(rep.Present), "importing again changes nothing")
		})
	}
}

func TestImportSetsABadLineAsideAndStoresTheRest(t *testing.T) {
	from := storetest.Open(t, storetest.SQLite)
	history(t, from.DB)
	dir := t.TempDir()
	_, err := transfer.Export(ctx, from.DB, dir, nil)
	require.NoError(t, err)
	path := filepath.Join(dir, transfer.FileName(store.TestsCollection))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, append([]byte("{not json\n"), b...), 0o644))

	to := storetest.Open(t, storetest.SQLite)
	rep, err := transfer.Import(ctx, to.DB, dir, nil)
	require.NoError(t, err)
	require.Len(t, rep.Rejected, 1)
	assert.Contains(t, rep.Rejected[0].Error(), "test_runs.jsonl:1:")
	assert.Equal(t, int64(120), rep.Written[store.TestsCollection])

	_, err = transfer.Import(ctx, to.DB, t.TempDir(), nil)
	assert.ErrorContains(t, err, "is not an evalrec export")
}
