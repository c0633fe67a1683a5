package faults

import (
	"context"
	"os"
	"testing"

	"evalrec.dev/internal/storetest"
	"evalrec.dev/internal/testenv"
	"evalrec.dev/model"
	"evalrec.dev/store"
)

func TestMain(m *testing.M) {
	testenv.Clean()
	os.Exit(m.Run())
}

// embeddedStore opens the embedded store of the module in dir.
func embeddedStore(t *testing.T, dir string) *store.DB { return storetest.EmbeddedAt(t, dir) }

// runs returns every run, oldest first.
func runs(t *testing.T, db *store.DB) []model.EvaluationRun { return storetest.Runs(t, db) }

// testRuns returns the stored test runs of a run.
func testRuns(t *testing.T, db *store.DB, run model.ID) []model.TestRun {
	t.Helper()
	trs, err := db.TestRunsOf(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}
	return trs
}

// assertTotalsAreStored checks that a run's totals are its stored test
// runs, status by status.
func assertTotalsAreStored(t *testing.T, db *store.DB, r model.EvaluationRun) []model.TestRun {
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
