package histgen_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"evalrec.dev/analytics"
	"evalrec.dev/compare"
	"evalrec.dev/internal/histgen"
	"evalrec.dev/internal/storetest"
	"evalrec.dev/model"
	"evalrec.dev/samples"
	"evalrec.dev/store"
)

// TestTheAnalysisFindsExactlyTheKnownProblems writes the standard history
// through the real writer and asks the store and the analysis what a user
// would.
func TestTheAnalysisFindsExactlyTheKnownProblems(t *testing.T) {
	storetest.Each(t, analysisFindsTheKnownProblems)
}

func analysisFindsTheKnownProblems(t *testing.T, s *storetest.Store) {
	ctx := context.Background()
	written, err := histgen.Standard(ctx, s.DB, time.Now())
	require.NoError(t, err)
	require.Len(t, written, histgen.Runs)

	runs, err := s.DB.Runs(ctx, store.RunFilter{})
	require.NoError(t, err)
	require.Len(t, runs, histgen.Runs)
	ids := make([]model.ID, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
		assert.Equal(t, model.StatusCompleted, r.Status)
	}
	results := s.DB.Results(ctx, ids)
	stored := 0
	require.NoError(t, results(func(rs *samples.Results) error { stored += len(rs.Rows); return nil }))
	require.Equal(t, histgen.Runs*len(histgen.Tests), stored)

	t.Run("flaky", func(t *testing.T) {
		found, err := analytics.FindFlaky(runs, results, analytics.FlakyOptions{})
		require.NoError(t, err)
		got := map[string]string{}
		for _, h := range found {
			got[h.TestID] = h.Verdict
			assert.Equal(t, written[20].SystemInfoHash, h.SystemInfoHash, "configuration B")
		}
		assert.Equal(t, map[string]string{"flaky-b": analytics.Flaky, "broken-c": analytics.Broken}, got)
		for _, h := range found {
			if h.TestID == "flaky-b" {
				assert.True(t, h.SameCommit)
			}
		}
		withOutages, err := analytics.FindFlaky(runs, results, analytics.FlakyOptions{InfraFailureRatio: 1})
		require.NoError(t, err)
		assert.Greater(t, len(withOutages), len(found), "counting the outages would blame healthy tests")
	})

	t.Run("regression between tagged sides", func(t *testing.T) {
		side := func(tag string) ([]model.EvaluationRun, []model.TestRun) {
			rs, err := s.DB.ResolveRuns(ctx, "tag:"+tag, 6, store.RunFilter{})
			require.NoError(t, err)
			require.Len(t, rs, 6)
			ids := make([]model.ID, len(rs))
			for i, r := range rs {
				ids[i] = r.ID
			}
			trs, err := s.DB.TestRunsOfRuns(ctx, ids)
			require.NoError(t, err)
			return rs, trs
		}
		br, bt := side("baseline")
		cr, ct := side("candidate")
		rep := compare.Sides(br, cr, bt, ct, compare.Options{})
		var regressed []string
		for _, f := range rep.Regressions() {
			regressed = append(regressed, f.TestID+"/"+f.Metric)
			assert.True(t, f.Significant)
		}
		// The score is the metrics' summary: the gate tests the metrics,
		// and a test's score only through them.
		assert.ElementsMatch(t, []string{"regress-d/wer"}, regressed)
	})

	t.Run("configurations", func(t *testing.T) {
		groups := analytics.Configs(runs)
		require.Len(t, groups, 2)
		assert.Equal(t, 16, groups[0].Runs)
		assert.Equal(t, "v2", groups[0].SystemUnderTest["model"])
		assert.Equal(t, 8, groups[1].Runs)
	})

	t.Run("trend", func(t *testing.T) {
		points := analytics.Trend(runs, "wer", analytics.Day)
		require.Len(t, points, histgen.Runs)
		assert.Less(t, points[13].Mean, 0.12)
		assert.Greater(t, points[14].Mean, 0.18, "the regression shows in the mean WER")
	})

	t.Run("history and references", func(t *testing.T) {
		h, err := s.DB.TestHistory(ctx, "broken-c", store.HistoryFilter{Limit: 5})
		require.NoError(t, err)
		require.Len(t, h, 5)
		assert.Equal(t, "failed", h[0].Status)
		assert.Equal(t, "passed", h[4].Status)

		latest, err := s.DB.ResolveRun(ctx, "latest", store.RunFilter{})
		require.NoError(t, err)
		assert.Equal(t, written[23].ID, latest.ID)
		prev, err := s.DB.ResolveRun(ctx, "latest~2", store.RunFilter{})
		require.NoError(t, err)
		assert.Equal(t, written[21].ID, prev.ID)
		byID, err := s.DB.ResolveRun(ctx, written[5].EvaluationRunID, store.RunFilter{})
		require.NoError(t, err)
		assert.Equal(t, written[5].ID, byID.ID)
		byHex, err := s.DB.ResolveRun(ctx, written[5].ID.Hex(), store.RunFilter{})
		require.NoError(t, err)
		assert.Equal(t, written[5].ID, byHex.ID)
		_, err = s.DB.ResolveRun(ctx, "nope", store.RunFilter{})
		assert.ErrorContains(t, err, "latest~N")
	})

	t.Run("prune leaves no orphans", func(t *testing.T) {
		dry, err := s.DB.Prune(ctx, store.RunFilter{Until: time.Now().Add(-20 * 24 * time.Hour)}, true)
		require.NoError(t, err)
		assert.Equal(t, store.PruneReport{Runs: 5, TestRuns: 25, Parts: 5}, dry)
		rep, err := s.DB.Prune(ctx, store.RunFilter{Until: time.Now().Add(-20 * 24 * time.Hour)}, false)
		require.NoError(t, err)
		assert.Equal(t, dry, rep)
		left, err := s.DB.Runs(ctx, store.RunFilter{})
		require.NoError(t, err)
		assert.Len(t, left, histgen.Runs-5)
		tests, parts, err := s.DB.CountChildren(ctx, []model.ID{written[0].ID})
		require.NoError(t, err)
		assert.Zero(t, tests)
		assert.Zero(t, parts)
	})
}
