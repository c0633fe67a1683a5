package compare_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"evalrec.dev/compare"
	"evalrec.dev/internal/storetest"
	"evalrec.dev/model"
	"evalrec.dev/samples"
	"evalrec.dev/store"
)

// storeSide stores n finished runs of tests tests each, test k failing
// in every run when failing(k), and a wer on every third test, shifted by
// shift.
func storeSide(t *testing.T, db *store.DB, name string, at time.Time, n, tests int, shift float64, failing func(int) bool) []model.EvaluationRun {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(uint64(name[0]), uint64(n)))
	var runs []model.EvaluationRun
	for i := range n {
		started := at.Add(time.Duration(i) * time.Minute)
		r := model.EvaluationRun{ID: model.NewIDAt(started), EvaluationRunID: fmt.Sprintf("%s-%02d", name, i), StartedAt: started,
			Environment: "ci", Project: "example.com/p", Status: model.StatusCompleted, Packages: []string{"example.com/p"}}
		require.NoError(t, db.InsertRun(ctx, &r))
		var trs []model.TestRun
		for k := range tests {
			name := fmt.Sprintf("Test%04d", k)
			tr := model.TestRun{ID: r.EvaluationRunID + "/example.com/p." + name + "#1", EvaluationRunID: r.ID, TestID: "example.com/p." + name,
				TestName: name, Package: "example.com/p", GoTest: name, Attempt: 1, FinishedAt: started.Add(time.Second), Status: "passed", ScoreMethod: "average"}
			tr.TestRunID = tr.ID
			if failing(k) {
				tr.Status = "failed"
			}
			if k%3 == 0 {
				w := 0.2 + shift + rng.NormFloat64()*0.01
				tr.Metrics = map[string]model.MetricDoc{"wer": {Value: &w, Direction: "lower"}}
			}
			trs = append(trs, tr)
		}
		_, err := db.InsertTestRuns(ctx, trs)
		require.NoError(t, err)
		_, err = db.Finalize(ctx, r.ID, started.Add(time.Minute))
		require.NoError(t, err)
		got, err := db.Run(ctx, r.ID)
		require.NoError(t, err)
		runs = append(runs, *got)
	}
	return runs
}

// TestLoadComparesStoredResultsAsSidesDoes: compare.Load reads both sides'
// results from the store's digests into one table; its report is the one
// Sides gives on the same test runs as documents: the newly failing test,
// the fixed one, and the shifted metric of every third test.
func TestLoadComparesStoredResultsAsSidesDoes(t *testing.T) {
	s := storetest.New(t)
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	base := storeSide(t, s.DB, "a", at, 10, 60, 0, func(k int) bool { return k == 7 })
	cand := storeSide(t, s.DB, "b", at.Add(time.Hour), 10, 60, 0.05, func(k int) bool { return k == 11 })

	got, err := compare.Load(context.Background(), s.DB, base, cand, compare.Options{})
	require.NoError(t, err)
	bt, err := s.DB.TestResults(context.Background(), base)
	require.NoError(t, err)
	ct, err := s.DB.TestResults(context.Background(), cand)
	require.NoError(t, err)
	assert.Equal(t, compare.Sides(base, cand, bt, ct, compare.Options{}), got)

	assert.Equal(t, []string{"example.com/p.Test0011"}, got.NewlyFailing)
	assert.Equal(t, []string{"example.com/p.Test0007"}, got.Fixed)
	assert.Len(t, got.Regressions(), 20, "every third test's wer rose by five standard deviations")

	// The two-run diff reads the same way.
	d, err := compare.LoadRuns(context.Background(), s.DB, &base[9], &cand[0])
	require.NoError(t, err)
	bt, ct = bt[len(bt)-60:], ct[:60]
	assert.Equal(t, compare.Runs(&base[9], &cand[0], bt, ct), d)
	assert.Equal(t, []string{"example.com/p.Test0011"}, d.NewlyFailing)

	// So does it with the candidate's results in hand (as evalrec test
	// has them once it stored the run), whatever their order.
	slices.Reverse(ct)
	var held *samples.Results
	require.NoError(t, samples.StreamOf(ct)(func(rs *samples.Results) error { held = rs; return nil }))
	withHeld, err := compare.LoadBase(context.Background(), s.DB, &base[9], &cand[0], held)
	require.NoError(t, err)
	assert.Equal(t, d, withHeld)
}
