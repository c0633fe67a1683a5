package faults

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"evalrec.dev/internal/embedded"
	"evalrec.dev/internal/testenv"
	"evalrec.dev/store"
)

func TestMain(m *testing.M) {
	testenv.Clean()
	os.Exit(m.Run())
}

// embeddedStore opens the embedded store of the module in dir, once every
// evalrec process that used it has ended.
func embeddedStore(t *testing.T, dir string) *store.DB {
	t.Helper()
	srv, err := embedded.Start(filepath.Join(dir, ".evalrec", "data"), "127.0.0.1:0")
	if err != nil {
		t.Fatalf("opening the embedded store: %v", err)
	}
	db, err := store.Connect(context.Background(), srv.URI(), "vt_metrics", 10*time.Second)
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		srv.Close()
	})
	return db
}

// runs returns every run, oldest first.
func runs(t *testing.T, db *store.DB) []store.EvaluationRun {
	t.Helper()
	ctx := context.Background()
	cur, err := db.Database().Collection(store.RunsCollection).Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "started_at", Value: 1}}))
	if err != nil {
		t.Fatal(err)
	}
	var out []store.EvaluationRun
	if err := cur.All(ctx, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// testRuns returns the stored test runs of a run.
func testRuns(t *testing.T, db *store.DB, run bson.ObjectID) []store.TestRun {
	t.Helper()
	trs, err := db.TestRunsOf(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}
	return trs
}

// assertTotalsAreStored checks that a run's totals are its stored test
// runs, status by status.
func assertTotalsAreStored(t *testing.T, db *store.DB, r store.EvaluationRun) []store.TestRun {
	t.Helper()
	trs := testRuns(t, db, r.ID)
	by := map[string]int{}
	for _, tr := range trs {
		by[tr.Status]++
	}
	if r.NumTests != len(trs) || r.NumPassed != by["passed"] || r.NumFailed != by["failed"] ||
		r.NumSkipped != by["skipped"] || r.NumIncomplete != by["incomplete"] {
		t.Errorf("run %s says %d tests (%d passed, %d failed, %d skipped, %d incomplete); %d are stored (%v)",
			r.EvaluationRunID, r.NumTests, r.NumPassed, r.NumFailed, r.NumSkipped, r.NumIncomplete, len(trs), by)
	}
	return trs
}
