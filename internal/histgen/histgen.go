// Package histgen writes deterministic evaluation history into a store, for
// tests and benchmarks of the queries. Its history holds known flaky tests,
// a known regression and a configuration change, so tests can check that
// the analysis finds exactly those.
package histgen

import (
	"context"
	"fmt"
	"time"

	"evalrec.dev/journal"
	"evalrec.dev/model"
	"evalrec.dev/provenance"
	"evalrec.dev/result"
	"evalrec.dev/scoring"
	"evalrec.dev/store"
)

// The known history of Standard, run by run (0 is the oldest, one run a day,
// the newest yesterday):
//
//   - runs 0–7 use configuration A (model v1), runs 8–23 configuration B
//     (model v2): two system hashes;
//   - stable-a and stable-e always pass, except in the infrastructure
//     outages, runs 10 and 22, where every test fails;
//   - flaky-b fails in runs 9, 12, 16 and 21 of configuration B; runs 16
//     and 17 are on the same commit, where it failed and then passed;
//   - broken-c passes until run 19 and fails from run 20 on;
//   - regress-d's WER is about 0.10 until run 13 and about 0.30 from run 14;
//     runs 8–13 are tagged "baseline" and runs 14–19 "candidate".
//
// So flaky detection must report exactly flaky-b (flaky) and broken-c
// (broken), both in configuration B, and comparing tag:baseline with
// tag:candidate (six runs a side) must find regress-d's WER and score.
const Runs = 24

// Tests of Standard.
var Tests = []string{"stable-a", "flaky-b", "broken-c", "regress-d", "stable-e"}

// Standard writes the known history into db and returns its runs, oldest
// first.
func Standard(ctx context.Context, db *store.DB, now time.Time) ([]model.EvaluationRun, error) {
	var out []model.EvaluationRun
	for i := range Runs {
		r, err := writeRun(ctx, db, i, now)
		if err != nil {
			return out, err
		}
		out = append(out, *r)
	}
	return out, nil
}

func status(test string, i int) result.Status {
	if i == 10 || i == 22 {
		return result.Failed // an infrastructure outage
	}
	switch test {
	case "flaky-b":
		if i == 9 || i == 12 || i == 16 || i == 21 {
			return result.Failed
		}
	case "broken-c":
		if i >= 20 {
			return result.Failed
		}
	}
	return result.Passed
}

// noise is a deterministic wobble in [−0.01, 0.01].
func noise(i, salt int) float64 { return float64((i*7+salt*13)%21-10) / 1000 }

var werDef = scoring.Definition{Name: "wer", Unit: "ratio", Direction: scoring.LowerIsBetter, Threshold: scoring.Threshold(0.35)}

func writeRun(ctx context.Context, db *store.DB, i int, now time.Time) (*model.EvaluationRun, error) {
	sut := "v1"
	if i >= 8 {
		sut = "v2"
	}
	commit := fmt.Sprintf("%040d", i)
	if i == 17 {
		commit = fmt.Sprintf("%040d", 16) // rerun of run 16's commit
	}
	branch := "main"
	var tags []string
	switch {
	case i >= 8 && i <= 13:
		tags = []string{"baseline"}
	case i >= 14 && i <= 19:
		tags = []string{"candidate"}
	}
	started := now.Add(-time.Duration(Runs-i)*24*time.Hour - time.Hour).UTC().Truncate(time.Second)
	inv := provenance.Invocation{Key: fmt.Sprintf("histgen/%d", i), Started: started}
	sys := provenance.System{GoVersion: "go1.26", GOOS: "linux", GOARCH: "amd64", Module: "example.com/evals",
		SystemUnderTest: map[string]any{"model": sut}}
	git := provenance.Git{Commit: &commit, Branch: &branch}
	run := model.EvaluationRun{
		ID: model.ID(inv.ObjectID()), EvaluationRunID: inv.RunID(git), StartedAt: started,
		GitCommit: &commit, GitBranch: &branch, Environment: "dev", ExperimentTags: append([]string{}, tags...),
		System: sys, SystemInfoHash: sys.Hash(), Status: model.StatusRunning, Source: "histgen",
	}
	sess := store.Open(ctx, store.SessionConfig{DB: db, Run: run, WriteTimeout: time.Minute, FlushInterval: time.Hour})
	part := run.ID.Hex() + "/example.com/evals"
	sess.BeginPart(part, "example.com/evals", nil)
	for k, id := range Tests {
		t := &result.Test{Package: "example.com/evals", Name: "TestEval/" + id, TestID: id, TestName: id,
			Status: status(id, i), Started: started.Add(time.Duration(k) * time.Second), Finished: started.Add(time.Duration(k+1) * time.Second)}
		if id == "regress-d" || id == "stable-a" {
			wer := 0.10 + noise(i, k)
			if id == "regress-d" && i >= 14 {
				wer = 0.30 + noise(i, k)
			}
			m := result.Metric{Key: "wer", Result: werDef.Evaluate(wer)}
			t.Metrics = []result.Metric{m}
			s, _, _ := scoring.Default.Score(scoring.Average, []scoring.Result{m.Result})
			t.Score, t.ScoreMethod = &s, scoring.Average
		}
		sess.Add(part, t)
	}
	sess.EndPart(part, journal.PartEnd{Status: model.StatusCompleted})
	final, err := sess.Close()
	if err != nil {
		return nil, fmt.Errorf("run %d: %w", i, err)
	}
	return final, nil
}

// Bulk writes runs runs of testsPerRun tests each, straight into the
// store in batches, for query benchmarks at sizes the writer would take
// long to produce. One test in ten is flaky.
func Bulk(ctx context.Context, db *store.DB, runs, testsPerRun int, now time.Time) error {
	return BulkFor(ctx, db, "example.com/bulk", runs, testsPerRun, now)
}

// BulkFor is Bulk for the runs of a project (a module path), all in its
// root package, ending an hour apart before now.
func BulkFor(ctx context.Context, db *store.DB, pkg string, runs, testsPerRun int, now time.Time) error {
	branch, env := "main", "dev"
	sys := provenance.System{GoVersion: "go1.26", Module: pkg, SystemUnderTest: map[string]any{"model": "v2"}}
	hash := sys.Hash()
	docs := make([]model.TestRun, 0, 1000)
	flush := func() error {
		if len(docs) == 0 {
			return nil
		}
		_, err := db.InsertTestRuns(ctx, docs)
		docs = docs[:0]
		return err
	}
	for i := range runs {
		commit := fmt.Sprintf("%040d", i)
		started := now.Add(-time.Duration(runs-i) * time.Hour).UTC().Truncate(time.Second)
		inv := provenance.Invocation{Key: fmt.Sprintf("bulk/%d", i), Started: started}
		git := provenance.Git{Commit: &commit, Branch: &branch}
		score := 90.0
		finished := started.Add(time.Minute)
		run := model.EvaluationRun{ID: model.ID(inv.ObjectID()), EvaluationRunID: inv.RunID(git), StartedAt: started,
			FinishedAt: &finished, GitCommit: &commit, GitBranch: &branch, Environment: env, ExperimentTags: []string{},
			System: sys, SystemInfoHash: hash, Metrics: map[string]float64{"wer": 0.1}, NumTests: testsPerRun,
			NumPassed: testsPerRun, Status: model.StatusCompleted, Score: &score, Source: "bulk",
			Project: pkg, Packages: []string{pkg}}
		if err := db.InsertRun(ctx, &run); err != nil {
			return err
		}
		rc := store.RunContext{ID: run.ID, EvaluationRunID: run.EvaluationRunID, Environment: env, Project: pkg, GitCommit: &commit, GitBranch: &branch}
		for k := range testsPerRun {
			st := result.Passed
			if k%10 == 3 && (i+k)%4 == 0 {
				st = result.Failed
			}
			t := &result.Test{Package: pkg, Name: fmt.Sprintf("TestCase%04d", k), Status: st,
				Started: started, Finished: finished}
			m := result.Metric{Key: "wer", Result: werDef.Evaluate(0.1 + noise(i, k))}
			t.Metrics = []result.Metric{m}
			s := m.Score
			t.Score, t.ScoreMethod = &s, scoring.Average
			t.Complete()
			docs = append(docs, store.NewTestRun(rc, t))
			if len(docs) == cap(docs) {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}
