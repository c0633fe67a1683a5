package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"evalrec.dev/internal/embedded"
	"evalrec.dev/internal/storetest"
	"evalrec.dev/journal"
	"evalrec.dev/model"
	"evalrec.dev/provenance"
	"evalrec.dev/result"
	"evalrec.dev/samples"
	"evalrec.dev/scoring"
	"evalrec.dev/store"
	_ "evalrec.dev/store/sqlite" // sqlite:
)

func newRun(key string) model.EvaluationRun {
	inv := provenance.Invocation{Key: key, Started: time.Now().UTC().Truncate(time.Second)}
	sys := provenance.Snapshot(map[string]any{"model": "m1"})
	return model.EvaluationRun{
		ID:              model.ID(inv.ObjectID()),
		EvaluationRunID: inv.RunID(provenance.Git{}),
		StartedAt:       inv.Started,
		Environment:     "test",
		ExperimentTags:  []string{"baseline"},
		System:          sys,
		SystemInfoHash:  sys.Hash(),
		Status:          model.StatusRunning,
		Source:          "testmain",
	}
}

func cfgFor(s *storetest.Store, run model.EvaluationRun, spool string, log *slog.Logger) store.SessionConfig {
	return store.SessionConfig{
		URI: s.URI, Database: s.Database,
		ConnectTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, FlushInterval: 50 * time.Millisecond,
		SpoolDir: spool, Run: run, Logger: log,
	}
}

func werTest(pkg, name string, wer float64, st result.Status) *result.Test {
	def := scoring.Definition{Name: "wer", Direction: scoring.LowerIsBetter, Threshold: scoring.Threshold(0.3)}
	m := result.Metric{Key: "wer", Result: def.Evaluate(wer)}
	score, _, _ := scoring.Default.Score(scoring.Average, []scoring.Result{m.Result})
	now := time.Now()
	return &result.Test{Package: pkg, Name: name, Status: st, Started: now.Add(-time.Second), Finished: now,
		Metrics: []result.Metric{m}, Score: &score, ScoreMethod: scoring.Average}
}

func capture() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	var mu sync.Mutex
	h := slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), nil)
	return slog.New(h), &buf
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func getRun(t *testing.T, db *store.DB, id model.ID) model.EvaluationRun {
	t.Helper()
	r, err := db.Run(context.Background(), id)
	require.NoError(t, err)
	return *r
}

func countTests(t *testing.T, db *store.DB, id model.ID) int64 {
	t.Helper()
	n, _, err := db.CountChildren(context.Background(), []model.ID{id})
	require.NoError(t, err)
	return n
}

func TestSessionStoresARunWithExactTotals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *storetest.Store) {
		run := newRun("totals")
		sess := store.Open(context.Background(), cfgFor(s, run, t.TempDir(), nil))
		sess.BeginPart("p1", "m/a", []provenance.Module{{Path: "dep.io/x", Version: "v1"}})
		sess.Add("p1", werTest("m/a", "TestOne", 0.1, result.Passed))
		sess.Add("p1", werTest("m/a", "TestTwo", 0.5, result.Failed))
		sess.Add("p1", &result.Test{Package: "m/a", Name: "TestSkip", Status: result.Skipped, Finished: time.Now()})
		odd := &result.Test{Package: "m/a", Name: "TestOdd", Status: result.Passed, Finished: time.Now()}
		for _, name := range []string{"lat.p99", "$bad", "", strings.Repeat("n", 300)} {
			k, _ := result.MetricKey(name)
			odd.SetMetric(result.Metric{Key: k, Result: scoring.Definition{Name: name}.Evaluate(0.5)})
		}
		odd.SetMetric(result.Metric{Key: "nan", Result: scoring.Definition{Name: "nan"}.Evaluate(math.NaN())})
		odd.SetMetric(result.Metric{Key: "inf", Result: scoring.Definition{Name: "inf"}.Evaluate(math.Inf(1))})
		sc := 50.0
		odd.Score, odd.ScoreMethod = &sc, scoring.Average
		sess.Add("p1", odd)
		exit := 1
		sess.EndPart("p1", journal.PartEnd{Status: model.StatusCompleted, ExitCode: &exit})
		final, err := sess.Close()
		require.NoError(t, err)
		require.NotNil(t, final)

		got := getRun(t, s.DB, run.ID)
		assert.Equal(t, model.StatusCompleted, got.Status)
		assert.Equal(t, 4, got.NumTests)
		assert.Equal(t, 2, got.NumPassed)
		assert.Equal(t, 1, got.NumFailed)
		assert.Equal(t, 1, got.NumSkipped)
		assert.InDelta(t, 0.3, got.Metrics["wer"], 1e-9, "mean over the tests that reported wer")
		assert.Equal(t, 2, got.MetricStats["wer"].N)
		assert.InDelta(t, 0.1, got.MetricStats["wer"].Min, 1e-9)
		require.NotNil(t, got.Score)
		assert.InDelta(t, (90.0+0+50.0)/3, *got.Score, 1e-9, "mean of the scores of the tests that ran, a failed one counting 0")
		assert.Equal(t, "v1", provenance.ModuleMap(got.System.Dependencies)["dep.io/x"], "part dependencies are merged, dotted paths and all")
		require.NotNil(t, got.FinishedAt)

		var odd2 model.TestRun
		for _, tr := range storetest.TestRuns(t, s.DB, run.ID) {
			if tr.GoTest == "TestOdd" {
				odd2 = tr
			}
		}
		keys := odd2.Metrics
		assert.Contains(t, keys, "lat%2Ep99")
		assert.Contains(t, keys, "%24bad")
		assert.Contains(t, keys, "%empty")
		assert.Nil(t, keys["nan"].Value)
		assert.Equal(t, "NaN", keys["nan"].NonFinite)
		assert.Equal(t, "lat.p99", keys["lat%2Ep99"].Name)
		if m := s.Mongo(); m != nil {
			// Stored types: dates are dates, the parent is an ObjectID, NaN is null.
			var raw bson.M
			require.NoError(t, m.Database().Collection(store.TestsCollection).FindOne(context.Background(),
				bson.D{{Key: "go_test", Value: "TestOdd"}}).Decode(&raw))
			assert.IsType(t, bson.ObjectID{}, raw["evaluation_run_id"], "an ID is stored as an ObjectID")
			assert.IsType(t, bson.DateTime(0), raw["finished_at"])
			assert.Nil(t, raw["metrics"].(bson.M)["nan"].(bson.M)["value"])
		}
	})
}

func TestConcurrentPartsFinalizeToExactTotals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *storetest.Store) {
		run := newRun("concurrent")
		const parts, perPart = 6, 40
		var wg sync.WaitGroup
		for p := range parts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sess := store.Open(context.Background(), cfgFor(s, run, t.TempDir(), nil))
				id := fmt.Sprintf("part-%d", p)
				pkg := fmt.Sprintf("m/p%d", p)
				sess.BeginPart(id, pkg, nil)
				for i := range perPart {
					st := result.Passed
					if i%10 == 0 {
						st = result.Failed
					}
					sess.Add(id, werTest(pkg, fmt.Sprintf("Test%d", i), float64(i)/100, st))
				}
				sess.EndPart(id, journal.PartEnd{Status: model.StatusCompleted})
				_, err := sess.Close()
				assert.NoError(t, err)
			}()
		}
		wg.Wait()
		got := getRun(t, s.DB, run.ID)
		assert.Equal(t, model.StatusCompleted, got.Status)
		assert.Equal(t, parts*perPart, got.NumTests)
		assert.Equal(t, parts*4, got.NumFailed)
		assert.Equal(t, parts*36, got.NumPassed)
		assert.Equal(t, int64(parts*perPart), countTests(t, s.DB, run.ID))
		assert.Equal(t, parts*perPart, got.MetricStats["wer"].N, "every part's values are read")
		assert.InDelta(t, 0.195, got.Metrics["wer"], 1e-9, "mean of i/100 for i in 0..39, in every part")
	})
}

func TestUnreachableServerSpoolsAndReplayStoresOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *storetest.Store) {
		spool := t.TempDir()
		log, logs := capture()
		run := newRun("unreachable")
		cfg := store.SessionConfig{
			URI: "mongodb://evalrec:hunter2@127.0.0.1:1/", Database: "x",
			ConnectTimeout: 500 * time.Millisecond, WriteTimeout: time.Second, FlushInterval: 50 * time.Millisecond,
			SpoolDir: spool, Run: run, Logger: log,
		}
		start := time.Now()
		sess := store.Open(context.Background(), cfg)
		sess.BeginPart("p", "m/a", nil)
		for i := range 5 {
			sess.Add("p", werTest("m/a", fmt.Sprintf("Test%d", i), 0.2, result.Passed))
		}
		sess.EndPart("p", journal.PartEnd{Status: model.StatusCompleted})
		_, err := sess.Close()
		elapsed := time.Since(start)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "cannot reach MongoDB at mongodb://evalrec:xxxxx@127.0.0.1:1/")
		assert.Less(t, elapsed, 10*time.Second, "a dead server must not hold the suite for long")

		out := logs.String()
		assert.Equal(t, 1, strings.Count(out, "level=WARN"), "exactly one warning: %s", out)
		assert.Contains(t, out, "run `evalrec replay`")
		assert.NotContains(t, out, "hunter2")

		files, err := store.PendingSpool(spool)
		require.NoError(t, err)
		require.Len(t, files, 1)
		content, err := os.ReadFile(files[0])
		require.NoError(t, err)
		assert.NotContains(t, string(content), "hunter2")
		assert.Contains(t, files[0], ".jsonl")

		rep, err := s.DB.Replay(context.Background(), spool, store.ReplayOptions{})
		require.NoError(t, err)
		assert.Zero(t, rep.Files, "the spool was meant for database x at 127.0.0.1:1")
		require.Len(t, rep.Elsewhere, 1)
		assert.Contains(t, rep.Elsewhere[0], "database x at mongodb://evalrec:xxxxx@127.0.0.1:1/")
		rep, err = s.DB.Replay(context.Background(), spool, store.ReplayOptions{Force: true})
		require.NoError(t, err)
		assert.Equal(t, 1, rep.Files)
		assert.Equal(t, 5, rep.Tests)
		assert.Empty(t, rep.Rejected)
		got := getRun(t, s.DB, run.ID)
		assert.Equal(t, model.StatusCompleted, got.Status)
		assert.Equal(t, 5, got.NumTests)
		assert.Equal(t, int64(5), countTests(t, s.DB, run.ID))

		// The file is gone after a full replay; replaying a copy again changes nothing.
		files, _ = store.PendingSpool(spool)
		assert.Empty(t, files)
		require.NoError(t, os.WriteFile(filepath.Join(spool, "again.1.1.jsonl"), content, 0o600))
		rep, err = s.DB.Replay(context.Background(), spool, store.ReplayOptions{Force: true})
		require.NoError(t, err)
		assert.Equal(t, 1, rep.Files)
		got = getRun(t, s.DB, run.ID)
		assert.Equal(t, 5, got.NumTests)
		assert.Equal(t, int64(5), countTests(t, s.DB, run.ID))
	})
}

func TestServerDyingMidRunSpoolsTheRest(t *testing.T) {
	if os.Getenv(storetest.EnvURI) != "" {
		t.Skip("needs an embedded server it can stop")
	}
	dir := t.TempDir()
	srv, err := embedded.Start(dir, "127.0.0.1:0")
	require.NoError(t, err)
	spool := t.TempDir()
	log, logs := capture()
	run := newRun("dying")
	cfg := store.SessionConfig{
		URI: srv.URI(), Database: "dying",
		ConnectTimeout: time.Second, WriteTimeout: time.Second, FlushInterval: 20 * time.Millisecond,
		SpoolDir: spool, Run: run, Logger: log,
	}
	sess := store.Open(context.Background(), cfg)
	sess.BeginPart("p", "m/a", nil)
	for i := range 3 {
		sess.Add("p", werTest("m/a", fmt.Sprintf("TestBefore%d", i), 0.2, result.Passed))
	}
	require.Eventually(t, func() bool { return countAt(srv.URI(), run.ID) == 3 }, 5*time.Second, 20*time.Millisecond)

	require.NoError(t, srv.Close())
	for i := range 4 {
		sess.Add("p", werTest("m/a", fmt.Sprintf("TestAfter%d", i), 0.2, result.Passed))
	}
	sess.EndPart("p", journal.PartEnd{Status: model.StatusCompleted})
	_, err = sess.Close()
	require.Error(t, err)
	assert.Equal(t, 1, strings.Count(logs.String(), "level=WARN"), logs.String())
	assert.Contains(t, logs.String(), "storing failed mid-run")

	srv2, err := embedded.Start(dir, "127.0.0.1:0")
	require.NoError(t, err)
	defer srv2.Close()
	db, err := store.Connect(context.Background(), srv2.URI(), "dying", 5*time.Second)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Replay(context.Background(), spool, store.ReplayOptions{Force: true})
	require.NoError(t, err)
	got := getRun(t, db, run.ID)
	assert.Equal(t, model.StatusCompleted, got.Status)
	assert.Equal(t, 7, got.NumTests, "before and after the failure")
	assert.Equal(t, int64(7), countTests(t, db, run.ID))
}

func countAt(uri string, id model.ID) int64 {
	db, err := store.Connect(context.Background(), uri, "dying", time.Second)
	if err != nil {
		return -1
	}
	defer db.Close()
	n, _, _ := db.CountChildren(context.Background(), []model.ID{id})
	return n
}

func TestAKilledWritersRunIsMarkedFailed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *storetest.Store) {
		run := newRun("killed")
		// A process that has already exited stands for a killed test binary.
		cmd := exec.Command("true")
		require.NoError(t, cmd.Run())
		deadPID := cmd.Process.Pid

		host, _ := os.Hostname()
		now := time.Now().UTC().Truncate(time.Millisecond)
		ctx := context.Background()
		require.NoError(t, s.DB.InsertRun(ctx, &run))
		_, err := s.DB.InsertParts(ctx, []store.Part{{
			ID: "dead", EvaluationRunID: run.ID, Package: "m/dead", Host: host, PID: deadPID,
			StartedAt: now, HeartbeatAt: now, Status: model.StatusRunning,
			// Its last heartbeat counted one test that never reached the store.
			Summary: store.Counts{NumTests: 3, NumPassed: 3},
		}})
		require.NoError(t, err)
		rc := store.RunContext{ID: run.ID, EvaluationRunID: run.EvaluationRunID, Environment: run.Environment}
		for _, name := range []string{"TestStored1", "TestStored2"} {
			tr := werTest("m/dead", name, 0.1, result.Passed)
			tr.Complete()
			_, err = s.DB.InsertTestRuns(ctx, []model.TestRun{store.NewTestRun(rc, tr)})
			require.NoError(t, err)
		}

		// Another binary of the same run finishes normally and finalizes.
		sess := store.Open(ctx, cfgFor(s, run, t.TempDir(), nil))
		sess.BeginPart("alive", "m/alive", nil)
		sess.Add("alive", werTest("m/alive", "TestA", 0.1, result.Passed))
		sess.EndPart("alive", journal.PartEnd{Status: model.StatusCompleted})
		_, err = sess.Close()
		require.NoError(t, err)

		got := getRun(t, s.DB, run.ID)
		assert.Equal(t, model.StatusFailed, got.Status)
		assert.Contains(t, got.Error, "m/dead")
		assert.Equal(t, 3, got.NumTests, "what the dead binary stored still counts, and only that")
		assert.Equal(t, int64(got.NumTests), countTests(t, s.DB, run.ID))
	})
}

func TestPartsRepeatOnlyDependenciesTheRunLacks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *storetest.Store) {
		ctx := context.Background()
		run := newRun("deps")
		run.System.Dependencies = []provenance.Module{{Path: "dep.io/a", Version: "v1"}}
		same := run.System.Dependencies
		more := []provenance.Module{{Path: "dep.io/a", Version: "v1"}, {Path: "dep.io/b", Version: "v2"}}

		first := store.Open(ctx, cfgFor(s, run, t.TempDir(), nil)) // creates the run
		first.BeginPart("same", "m/same", same)
		second := store.Open(ctx, cfgFor(s, run, t.TempDir(), nil)) // joins it
		second.BeginPart("more", "m/more", more)
		for _, sess := range []*store.Session{first, second} {
			for _, id := range []string{"same", "more"} {
				sess.EndPart(id, journal.PartEnd{Status: model.StatusCompleted})
			}
			_, err := sess.Close()
			require.NoError(t, err)
		}

		parts, err := s.DB.Parts(ctx, run.ID)
		require.NoError(t, err)
		require.Len(t, parts, 2)
		assert.Equal(t, "more", parts[0].ID)
		assert.Equal(t, more, parts[0].Dependencies)
		assert.Empty(t, parts[1].Dependencies, "a part whose dependencies are the run's does not repeat them")
		got := getRun(t, s.DB, run.ID)
		assert.Equal(t, more, got.System.Dependencies, "the run lists every part's dependencies")
	})
}

func TestOnlyTheRunsCreatorReapsEarlierRuns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *storetest.Store) {
		ctx := context.Background()
		stale := func(key string) model.EvaluationRun {
			r := newRun(key)
			r.StartedAt = time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
			require.NoError(t, s.DB.InsertRun(ctx, &r))
			return r
		}
		// during runs a session of run, adding one test so that its loop
		// flushes (and, when it created the run, reaps), and calls check before
		// closing it.
		during := func(run model.EvaluationRun, check func()) {
			sess := store.Open(ctx, cfgFor(s, run, t.TempDir(), nil))
			sess.BeginPart(run.EvaluationRunID+"/p", "m/p", nil)
			sess.Add(run.EvaluationRunID+"/p", werTest("m/p", "TestA", 0.1, result.Passed))
			check()
			sess.EndPart(run.EvaluationRunID+"/p", journal.PartEnd{Status: model.StatusCompleted})
			_, err := sess.Close()
			require.NoError(t, err)
		}
		status := func(r model.EvaluationRun) string { return getRun(t, s.DB, r.ID).Status }

		joined := newRun("joined")
		require.NoError(t, s.DB.InsertRun(ctx, &joined))
		old := stale("old")
		during(joined, func() {
			require.Eventually(t, func() bool { return countTests(t, s.DB, joined.ID) == 1 }, 10*time.Second, 10*time.Millisecond)
			time.Sleep(100 * time.Millisecond) // time to reap, were it going to
		})
		assert.Equal(t, model.StatusRunning, status(old), "a writer that joined its run leaves earlier runs alone")

		during(newRun("created"), func() {
			assert.Eventually(t, func() bool { return status(old) == model.StatusFailed }, 10*time.Second, 10*time.Millisecond,
				"the writer that created its run settles earlier runs left running")
		})
	})
}

func TestAFewResultsAreWrittenWithoutWaitingForTheInterval(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *storetest.Store) {
		run := newRun("soon")
		cfg := cfgFor(s, run, t.TempDir(), nil)
		cfg.FlushInterval = time.Hour
		sess := store.Open(context.Background(), cfg)
		sess.BeginPart("p", "m/p", nil)
		sess.Add("p", werTest("m/p", "TestA", 0.1, result.Passed))
		assert.Eventually(t, func() bool { return countTests(t, s.DB, run.ID) == 1 }, 10*time.Second, 10*time.Millisecond,
			"one buffered result is written long before the hourly flush")
		sess.EndPart("p", journal.PartEnd{Status: model.StatusCompleted})
		_, err := sess.Close()
		require.NoError(t, err)
	})
}

func TestFinalizingAgainCountsEveryPartOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *storetest.Store) {
		ctx := context.Background()
		run := newRun("again")
		sess := store.Open(ctx, cfgFor(s, run, t.TempDir(), nil))
		for p := range 2 {
			id, pkg := fmt.Sprintf("part-%d", p), fmt.Sprintf("m/p%d", p)
			sess.BeginPart(id, pkg, nil)
			sess.Add(id, werTest(pkg, "TestA", 0.2, result.Passed))
			sess.Add(id, werTest(pkg, "TestB", 0.4, result.Failed))
			sess.EndPart(id, journal.PartEnd{Status: model.StatusCompleted})
		}
		_, err := sess.Close()
		require.NoError(t, err)
		before := getRun(t, s.DB, run.ID)

		// Finalizing again (a spool replayed late) changes nothing.
		after, err := s.DB.Finalize(ctx, run.ID, time.Now().Add(time.Hour))
		require.NoError(t, err)
		assert.Equal(t, before.NumTests, after.NumTests)
		assert.Equal(t, before.MetricStats, after.MetricStats)
		assert.Equal(t, before.Score, after.Score)

		// A part that joins late counts once.
		late := store.Open(ctx, cfgFor(s, run, t.TempDir(), nil))
		late.BeginPart("part-late", "m/late", nil)
		late.Add("part-late", werTest("m/late", "TestC", 0.6, result.Passed))
		late.EndPart("part-late", journal.PartEnd{Status: model.StatusCompleted})
		_, err = late.Close()
		require.NoError(t, err)
		got := getRun(t, s.DB, run.ID)
		assert.Equal(t, 5, got.NumTests)
		assert.Equal(t, 5, got.MetricStats["wer"].N)
		assert.InDelta(t, (0.2+0.4+0.2+0.4+0.6)/5, got.Metrics["wer"], 1e-9)
		assert.Equal(t, []string{"m/late", "m/p0", "m/p1"}, got.Packages)
	})
}

func TestStaleRunsAreReaped(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *storetest.Store) {
		ctx := context.Background()
		run := newRun("stale")
		run.StartedAt = time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
		require.NoError(t, s.DB.InsertRun(ctx, &run))
		old := run.StartedAt
		_, err := s.DB.InsertParts(ctx, []store.Part{{
			ID: "elsewhere", EvaluationRunID: run.ID, Package: "m/x", Host: "another-host", PID: 1,
			StartedAt: old, HeartbeatAt: old, Status: model.StatusRunning,
		}})
		require.NoError(t, err)
		n, err := s.DB.ReapStale(ctx, time.Now(), 10)
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		got := getRun(t, s.DB, run.ID)
		assert.Equal(t, model.StatusFailed, got.Status)
		assert.Contains(t, got.Error, "stopped sending heartbeats")
	})
}

func TestIndexesAreIdempotentAndRecreatable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *storetest.Store) {
		ctx := context.Background()
		require.NoError(t, s.DB.EnsureIndexes(ctx))
		require.NoError(t, s.DB.RecreateIndexes(ctx))
		require.NoError(t, s.DB.EnsureIndexes(ctx))
		if m := s.Mongo(); m != nil {
			cur, err := m.Database().Collection(store.TestsCollection).Indexes().List(ctx)
			require.NoError(t, err)
			var idx []bson.M
			require.NoError(t, cur.All(ctx, &idx))
			names := map[string]bool{}
			for _, i := range idx {
				names[i["name"].(string)] = true
			}
			assert.True(t, names["test_run_id_1"])
			assert.True(t, names["test_id_1_finished_at_1"])
		}
	})
}

func TestTheRunsCreatorEnsuresTheIndexesOnMongoDB(t *testing.T) {
	s := storetest.NewMongo(t)
	ctx := context.Background()
	require.NoError(t, s.Mongo().Database().Drop(ctx)) // a store with no indexes yet
	run := newRun("indexes")
	sess := store.Open(ctx, cfgFor(s, run, t.TempDir(), nil))
	sess.BeginPart("p", "m/p", nil)
	sess.Add("p", werTest("m/p", "TestA", 0.1, result.Passed))
	sess.EndPart("p", journal.PartEnd{Status: model.StatusCompleted})
	_, err := sess.Close()
	require.NoError(t, err)

	for coll, want := range map[string]string{store.RunsCollection: "evaluation_run_id_1", store.TestsCollection: "test_id_1_finished_at_1"} {
		cur, err := s.Mongo().Database().Collection(coll).Indexes().List(ctx)
		require.NoError(t, err)
		var idx []bson.M
		require.NoError(t, cur.All(ctx, &idx))
		var names []string
		for _, i := range idx {
			names = append(names, i["name"].(string))
		}
		assert.Contains(t, names, want, "indexes on %s after the first run", coll)
	}
}

func TestDescribe(t *testing.T) {
	st := store.Describe([]float64{5, 1, 4, 2, 3})
	assert.Equal(t, model.MetricStats{N: 5, Mean: 3, Min: 1, Max: 5, P50: 3, P90: 4.6}, st)
	assert.Equal(t, model.MetricStats{N: 1, Mean: 7, Min: 7, Max: 7, P50: 7, P90: 7}, store.Describe([]float64{7}))
	assert.Equal(t, model.MetricStats{}, store.Describe(nil))

	// Values near the largest float64 overflow a sum and a difference; the
	// statistics stay finite, or the run's totals could not be stored.
	huge := store.Describe([]float64{1.5e308, 1.7e308, -1.6e308, 1.6e308})
	for name, v := range map[string]float64{"mean": huge.Mean, "p50": huge.P50, "p90": huge.P90} {
		assert.False(t, math.IsInf(v, 0) || math.IsNaN(v), "%s = %v", name, v)
	}
	assert.InDelta(t, 0.8e308, huge.Mean, 1e293)
	assert.InDelta(t, 1.55e308, huge.P50, 1e293)
}

// heldProxy forwards connections to target, but only once release is
// closed: until then the server looks silent, as a slow or distant one does.
func heldProxy(t *testing.T, target string, release <-chan struct{}) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				<-release
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer up.Close()
				go func() {
					io.Copy(up, c)
					up.Close() // the client hung up: so does the server side
				}()
				io.Copy(c, up)
			}()
		}
	}()
	return l.Addr().String()
}

func TestOpenDoesNotWaitForTheServer(t *testing.T) {
	if os.Getenv(storetest.EnvURI) != "" {
		t.Skip("proxies the embedded server's single address")
	}
	s := storetest.Open(t, storetest.FerretDB)
	ctx := context.Background()
	run := newRun("held")
	// Another run already has this evaluation_run_id, so joining lengthens
	// it: tests added before that must still carry the lengthened ID.
	other := newRun("held")
	other.ID = model.NewID()
	require.NoError(t, s.DB.InsertRun(ctx, &other))

	release := make(chan struct{})
	cfg := cfgFor(s, run, t.TempDir(), nil)
	cfg.URI = strings.Replace(s.URI, strings.TrimPrefix(strings.TrimSuffix(s.URI, "/"), "mongodb://"), heldProxy(t, strings.TrimPrefix(strings.TrimSuffix(s.URI, "/"), "mongodb://"), release), 1)
	cfg.ConnectTimeout = time.Minute // were Open to wait, it would spool after this, and fail the checks below
	sess := store.Open(ctx, cfg)
	sess.BeginPart("p", "m/p", nil)
	sess.Add("p", werTest("m/p", "TestA", 0.1, result.Passed))
	sess.EndPart("p", journal.PartEnd{Status: model.StatusCompleted})
	close(release) // only now does the server answer
	got, err := sess.Close()
	require.NoError(t, err)
	assert.False(t, sess.Spooled())
	assert.Equal(t, other.EvaluationRunID+"-"+run.ID.Hex()[8:16], got.EvaluationRunID)
	trs := storetest.TestRuns(t, s.DB, run.ID)
	require.Len(t, trs, 1)
	assert.Equal(t, got.EvaluationRunID+"/m/p.TestA#1", trs[0].TestRunID)
	assert.Equal(t, 1, getRun(t, s.DB, run.ID).NumTests)
}

func TestAFailingTestAlwaysLowersTheRunScore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *storetest.Store) {
		// The README's worked example: 90 (passed), 80 (passed), 95 by its
		// metrics but failed, 100 (passed, no metrics), one skipped.
		run := newRun("score")
		sess := store.Open(context.Background(), cfgFor(s, run, t.TempDir(), nil))
		sess.BeginPart("p", "m/a", nil)
		scored := func(name string, score float64, st result.Status) *result.Test {
			tr := werTest("m/a", name, 0.1, st)
			tr.Score = &score
			return tr
		}
		sess.Add("p", scored("TestA", 90, result.Passed))
		sess.Add("p", scored("TestB", 80, result.Passed))
		sess.Add("p", scored("TestC", 95, result.Failed))
		sess.Add("p", &result.Test{Package: "m/a", Name: "TestD", Status: result.Passed, Finished: time.Now()})
		sess.Add("p", &result.Test{Package: "m/a", Name: "TestE", Status: result.Skipped, Finished: time.Now()})
		sess.EndPart("p", journal.PartEnd{Status: model.StatusCompleted})
		_, err := sess.Close()
		require.NoError(t, err)
		got := getRun(t, s.DB, run.ID)
		require.NotNil(t, got.Score)
		assert.InDelta(t, 67.5, *got.Score, 1e-9)
		assert.Less(t, *got.Score, 100.0)
	})
}

// The mean sec/op of unrelated benchmarks says nothing: a benchmark's
// measurements stay out of its run's metrics, whichever way they are
// counted (as results, or from the stored test runs).
func TestABenchmarksMeasurementsStayOutOfTheRunsMetrics(t *testing.T) {
	one := 1.0
	var v store.Values
	v.Add(&result.Test{Name: "BenchmarkParse", Status: result.Passed, Metrics: []result.Metric{{Key: "sec/op", Result: scoring.Result{Name: "sec/op", Value: 1}}}})
	v.Add(werTest("m/a", "TestA", 0.2, result.Passed))
	assert.Equal(t, []string{"wer"}, slices.Collect(maps.Keys(v.MetricValues)))
	run := model.NewID()
	rs := &samples.Results{}
	rs.Reset(run)
	rs.Add(&model.TestRun{EvaluationRunID: run, TestID: "m/b.BenchmarkParse", GoTest: "BenchmarkParse", Status: "passed",
		Metrics: map[string]model.MetricDoc{"sec/op": {Value: &one}}})
	rs.Add(&model.TestRun{EvaluationRunID: run, TestID: "m/a.TestA", GoTest: "TestA", Status: "passed",
		Metrics: map[string]model.MetricDoc{"wer": {Value: &one}}})
	tl := store.TallyOf(rs)
	assert.Equal(t, []string{"wer"}, slices.Collect(maps.Keys(tl.MetricValues)))
}

// A session adds up the test runs it stored rather than read them back,
// but only when they are all the run's: a test run another writer stored
// in the run meanwhile is counted too, and the digest holds it.
func TestARunsTotalsCountTestRunsOtherWritersStored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *storetest.Store) {
		ctx := context.Background()
		run := newRun("others")
		sess := store.Open(ctx, cfgFor(s, run, t.TempDir(), nil))
		sess.BeginPart("p", "m/p", nil)
		sess.Add("p", werTest("m/p", "TestA", 0.2, result.Passed))
		sess.Add("p", werTest("m/p", "TestB", 0.4, result.Passed))
		require.Eventually(t, func() bool { return countTests(t, s.DB, run.ID) == 2 }, 10*time.Second, 10*time.Millisecond)
		score := 0.0
		_, err := s.DB.InsertTestRuns(ctx, []model.TestRun{{ID: "elsewhere", EvaluationRunID: run.ID, TestRunID: "elsewhere",
			TestID: "m/q.TestC", TestName: "TestC", Package: "m/q", GoTest: "TestC", Attempt: 1, Status: "failed", Score: &score,
			FinishedAt: time.Now().UTC(), Metrics: map[string]model.MetricDoc{}, Tags: []string{}, Participants: []string{}}})
		require.NoError(t, err)
		sess.EndPart("p", journal.PartEnd{Status: model.StatusCompleted})
		got, err := sess.Close()
		require.NoError(t, err)
		assert.Equal(t, 3, got.NumTests, "the run counts the test run another writer stored")
		assert.Equal(t, 1, got.NumFailed)
		rs := &samples.Results{Accumulate: true}
		require.NoError(t, s.DB.ReadResults(ctx, []model.ID{run.ID}, rs))
		assert.Len(t, rs.Rows, 3, "the run's results (its digest, on SQLite) hold all three")
	})
}

// TestARunFinalizedFromItsWritersResultsReadsAsFromItsRows checks that a
// run whose writer totals it from the results it stored (not reading them
// back) keeps the digest and totals its rows give: the digest is deleted,
// rebuilt from the rows by the next read, and both reads compared.
func TestARunFinalizedFromItsWritersResultsReadsAsFromItsRows(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	run := newRun("own results")
	sess := store.Open(ctx, cfgFor(s, run, t.TempDir(), nil))
	sess.BeginPart("p", "m/p", nil)
	for i := range 250 {
		st := result.Passed
		if i%7 == 0 {
			st = result.Failed
		}
		sess.Add("p", werTest("m/p", fmt.Sprintf("TestW/case_%03d", i), float64(i%10)/20, st))
	}
	sess.EndPart("p", journal.PartEnd{Status: model.StatusFailed})
	got, err := sess.Close()
	require.NoError(t, err)
	assert.Equal(t, 250, got.NumTests)
	assert.Equal(t, 36, got.NumFailed)

	read := func() []model.TestRun {
		rs := &samples.Results{KeepIDs: true}
		require.NoError(t, s.DB.ReadResults(ctx, []model.ID{run.ID}, rs))
		out := make([]model.TestRun, len(rs.Rows))
		for i := range out {
			out[i] = rs.TestRun(i, true)
		}
		slices.SortFunc(out, func(a, b model.TestRun) int { return strings.Compare(a.ID, b.ID) })
		return out
	}
	fromDigest := read()
	require.Len(t, fromDigest, 250)
	path, err := store.SQLitePath(s.URI)
	require.NoError(t, err)
	raw, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	defer raw.Close()
	res, err := raw.Exec(`DELETE FROM run_digests WHERE run = ?`, run.ID.Hex())
	require.NoError(t, err)
	n, _ := res.RowsAffected()
	require.EqualValues(t, 1, n, "finalizing stored a digest")
	assert.Equal(t, read(), fromDigest, "the rows give the same results")
	again, err := s.DB.Finalize(ctx, run.ID, time.Now())
	require.NoError(t, err)
	assert.Equal(t, got.NumTests, again.NumTests)
	assert.Equal(t, got.MetricStats, again.MetricStats, "totals read from the rows are the same")
	assert.Equal(t, got.Score, again.Score)
}

// writerOfOnePart opens a session on s, flushing every 10 ms, with one
// part (m/ and its name) and one test in it, and returns it once both are
// stored, with the part as stored.
func writerOfOnePart(t *testing.T, s *storetest.Store, run model.EvaluationRun, spool, part string) (*store.Session, store.Part) {
	ctx := context.Background()
	cfg := cfgFor(s, run, spool, nil)
	cfg.FlushInterval = 10 * time.Millisecond
	w := store.Open(ctx, cfg)
	w.BeginPart(part, "m/"+part, nil)
	w.Add(part, werTest("m/"+part, "TestA", 0.1, result.Passed))
	var stored store.Part
	require.Eventually(t, func() bool {
		parts, err := s.DB.Parts(ctx, run.ID)
		require.NoError(t, err)
		if len(parts) == 1 {
			stored = parts[0]
		}
		return countTests(t, s.DB, run.ID) == 1 && len(parts) == 1
	}, 10*time.Second, 10*time.Millisecond)
	return w, stored
}

// beatsNone checks that the part's heartbeat stays as stored for ten
// flush intervals of writerOfOnePart's session.
func beatsNone(t *testing.T, s *storetest.Store, run model.EvaluationRun, stored store.Part) {
	time.Sleep(100 * time.Millisecond)
	parts, err := s.DB.Parts(context.Background(), run.ID)
	require.NoError(t, err)
	assert.Equal(t, stored.HeartbeatAt, parts[0].HeartbeatAt, "no heartbeats")
}

// TestOnOneMachineAWritersJournalLockSaysItLives checks liveness in the
// embedded store: a writer sends no heartbeats, and another writer's
// finalizing leaves its part running while it holds its journal's lock,
// however old its heartbeat; a part whose journal is not held is reaped at
// once, though its heartbeat is fresh and its process (this one) alive.
func TestOnOneMachineAWritersJournalLockSaysItLives(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	run := newRun("journal lock")
	live, stored := writerOfOnePart(t, s, run, t.TempDir(), "live")
	require.NotEmpty(t, stored.Journal, "the part names its writer's journal")
	beatsNone(t, s, run, stored)

	// A dead writer's part: a journal nobody holds, a fresh heartbeat.
	host, _ := os.Hostname()
	unheld := filepath.Join(t.TempDir(), "dead.part")
	require.NoError(t, os.WriteFile(unheld, nil, 0o600))
	now := time.Now().UTC().Truncate(time.Millisecond)
	_, err := s.DB.InsertParts(ctx, []store.Part{{ID: "dead", EvaluationRunID: run.ID, Package: "m/dead", Host: host, PID: os.Getpid(),
		StartedAt: now, HeartbeatAt: now, Status: model.StatusRunning, Journal: unheld}})
	require.NoError(t, err)
	// Another writer finalizes while the live one runs, an hour later.
	got, err := s.DB.Finalize(ctx, run.ID, time.Now().Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, model.StatusRunning, got.Status, "the live writer's part still runs")
	parts, err := s.DB.Parts(ctx, run.ID)
	require.NoError(t, err)
	status := map[string]string{}
	for _, p := range parts {
		status[p.ID] = p.Status
	}
	assert.Equal(t, map[string]string{"dead": model.StatusFailed, "live": model.StatusRunning}, status)

	live.EndPart("live", journal.PartEnd{Status: model.StatusCompleted})
	final, err := live.Close()
	require.NoError(t, err)
	assert.Equal(t, model.StatusFailed, final.Status, "the dead writer's part fails the run")
	assert.Contains(t, final.Error, "m/dead exited")
}

// TestOnOneMachineAWriterWithoutAJournalSendsNoHeartbeats: a writer to the
// embedded store with no spool directory, so no journal, beats no
// heartbeat, and another writer finalizing an hour later leaves its part
// running: its process (this one) runs.
func TestOnOneMachineAWriterWithoutAJournalSendsNoHeartbeats(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	run := newRun("no journal")
	w, stored := writerOfOnePart(t, s, run, "", "p")
	require.Empty(t, stored.Journal)
	beatsNone(t, s, run, stored)

	got, err := s.DB.Finalize(ctx, run.ID, time.Now().Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, model.StatusRunning, got.Status, "its writer's process runs")
	w.EndPart("p", journal.PartEnd{Status: model.StatusCompleted})
	final, err := w.Close()
	require.NoError(t, err)
	assert.Equal(t, model.StatusCompleted, final.Status)
}

// TestOnOneMachineAWriterWhoseJournalIsGoneLivesWhileItsProcessDoes: with
// its journal removed (a spool deleted by hand), a writer that sends no
// heartbeats is judged by its process: alive while it runs, however old
// its heartbeat, and failed once it is gone.
func TestOnOneMachineAWriterWhoseJournalIsGoneLivesWhileItsProcessDoes(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	run := newRun("journal gone")
	require.NoError(t, s.DB.InsertRun(ctx, &run))
	exited := exec.Command("true")
	require.NoError(t, exited.Run())
	host, _ := os.Hostname()
	long := time.Now().Add(-2 * time.Hour).UTC().Truncate(time.Millisecond)
	gone := filepath.Join(t.TempDir(), "removed.part")
	_, err := s.DB.InsertParts(ctx, []store.Part{
		{ID: "runs", EvaluationRunID: run.ID, Package: "m/runs", Host: host, PID: os.Getpid(), StartedAt: long, HeartbeatAt: long,
			Status: model.StatusRunning, Journal: gone},
		{ID: "exited", EvaluationRunID: run.ID, Package: "m/exited", Host: host, PID: exited.Process.Pid, StartedAt: long, HeartbeatAt: long,
			Status: model.StatusRunning, Journal: gone},
	})
	require.NoError(t, err)
	_, err = s.DB.Finalize(ctx, run.ID, time.Now())
	require.NoError(t, err)
	parts, err := s.DB.Parts(ctx, run.ID)
	require.NoError(t, err)
	status := map[string]string{}
	for _, p := range parts {
		status[p.ID] = p.Status
	}
	assert.Equal(t, map[string]string{"runs": model.StatusRunning, "exited": model.StatusFailed}, status)
}

// TestTheJournalAndADryRunHoldNoSecret gives a session a secret in every
// field the store masks (the run's environment, tags and branch, a test's
// tags and participants, a part's error) and reads what it writes besides
// the store: a dry run's documents, and a journal kept as the spool. Both
// held them in clear, though the store masks them.
func TestTheJournalAndADryRunHoldNoSecret(t *testing.T) {
	const secret = "Hunter2Secret"
	run := newRun("secrets")
	run.Environment = "postgres://u:" + secret + "@db/x"
	run.ExperimentTags = []string{"token=" + secret}
	run.GitBranch = new("token=" + secret)
	write := func(cfg store.SessionConfig) {
		s := store.Open(context.Background(), cfg)
		s.BeginPart("p", "m/p", nil)
		tr := werTest("m/p", "TestA", 0.1, result.Passed)
		tr.Tags, tr.Participants = []string{"Bearer " + secret + "tag"}, []string{"api_key=" + secret}
		s.Add("p", tr)
		s.EndPart("p", journal.PartEnd{Status: model.StatusFailed, Error: "reaching postgres://u:" + secret + "@db/x failed"})
		_, _ = s.Close()
	}

	built := store.NewRun(store.RunStart{Environment: run.Environment, ExperimentTags: run.ExperimentTags, Git: provenance.Git{Branch: run.GitBranch}})
	assert.Equal(t, "postgres://u:xxxxx@db/x", built.Environment, "a run is masked as it is built: a test binary journals it")
	assert.Equal(t, []string{"token=xxxxx"}, built.ExperimentTags)
	assert.Equal(t, "token=xxxxx", *built.GitBranch)

	var dry bytes.Buffer
	write(store.SessionConfig{DryRun: &dry, Run: run})
	assert.NotContains(t, dry.String(), secret)
	assert.Contains(t, dry.String(), `"environment":"postgres://u:xxxxx@db/x"`)
	assert.Contains(t, dry.String(), `"tags":["Bearer xxxxx"]`)

	spool := t.TempDir()
	write(store.SessionConfig{SpoolDir: spool, Run: run, Unavailable: errors.New("the store is down"),
		WriteTimeout: time.Second, FlushInterval: time.Hour})
	files, err := os.ReadDir(spool)
	require.NoError(t, err)
	require.NotEmpty(t, files, "the journal is kept as the spool")
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(spool, f.Name()))
		require.NoError(t, err)
		assert.NotContains(t, string(b), secret, f.Name())
	}
}
