package histgen

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"evalrec.dev/model"
	"evalrec.dev/provenance"
	"evalrec.dev/result"
	"evalrec.dev/scoring"
	"evalrec.dev/store"
)

// WideSpec shapes a wide suite's history: Tests tests a run (a third of
// them subtests) over Packages packages, a metric on one test in ten, a
// few flaky and always-failing tests, and failure output on every
// failure. It is the shape of golang.org/x/text (46,288 tests and
// subtests a run), not its names.
type WideSpec struct {
	Project  string
	Runs     int
	Tests    int
	Packages int
	Seed     uint64
}

// WideTruth is what a wide history holds, for tests to check against.
type WideTruth struct {
	// NewlyFailing is the test ID that passes in every run but the newest,
	// where it fails.
	NewlyFailing string
	// Flaky and Broken are the test IDs that fail in some runs, and in
	// every run.
	Flaky, Broken []string
	// Failed counts the failures of each run, oldest first.
	Failed []int
}

// wideAccuracy is the metric one test in ten reports.
var wideAccuracy = scoring.Definition{Name: "accuracy", Unit: "ratio", Direction: scoring.HigherIsBetter, Threshold: scoring.Threshold(0.5)}

// Wide writes a wide suite's history straight into the store, run by run
// in batches of test runs, as Bulk does: the runs end an hour apart before
// now, and each carries the totals its test runs add up to.
func Wide(ctx context.Context, db *store.DB, s WideSpec, now time.Time) (WideTruth, error) {
	if s.Project == "" {
		s.Project = "example.com/wide"
	}
	s.Packages = max(s.Packages, 1)
	rng := rand.New(rand.NewPCG(s.Seed, 0x5eed))
	names := wideNames(s)
	truth := WideTruth{NewlyFailing: result.DefaultTestID(names[len(names)/2].pkg, names[len(names)/2].name)}
	kind := make([]byte, len(names)) // 'f' flaky, 'b' broken, 'n' newly failing
	for k := range names {
		id := result.DefaultTestID(names[k].pkg, names[k].name)
		switch {
		case k == len(names)/2:
			kind[k] = 'n'
		case k%997 == 5:
			kind[k] = 'f'
			truth.Flaky = append(truth.Flaky, id)
		case k%4999 == 11:
			kind[k] = 'b'
			truth.Broken = append(truth.Broken, id)
		}
	}
	branch, env := "main", "ci"
	sys := provenance.System{GoVersion: "go1.26", GOOS: "linux", GOARCH: "amd64", Module: s.Project}
	hash := sys.Hash()
	pkgs := make([]string, s.Packages)
	for p := range pkgs {
		pkgs[p] = widePackage(s.Project, p)
	}
	docs := make([]model.TestRun, 0, 2000)
	flush := func() error {
		if len(docs) == 0 {
			return nil
		}
		_, err := db.InsertTestRuns(ctx, docs)
		docs = docs[:0]
		return err
	}
	for i := range s.Runs {
		commit := fmt.Sprintf("%040x", i+1)
		started := now.Add(-time.Duration(s.Runs-i) * time.Hour).UTC().Truncate(time.Second)
		finished := started.Add(10 * time.Minute)
		inv := provenance.Invocation{Key: fmt.Sprintf("wide/%d", i), Started: started}
		git := provenance.Git{Commit: &commit, Branch: &branch}
		run := model.EvaluationRun{ID: model.ID(inv.ObjectID()), EvaluationRunID: inv.RunID(git), StartedAt: started,
			FinishedAt: &finished, GitCommit: &commit, GitBranch: &branch, Environment: env, ExperimentTags: []string{},
			System: sys, SystemInfoHash: hash, Metrics: map[string]float64{}, Status: model.StatusCompleted,
			Source: "converter", Project: s.Project, Packages: pkgs, MetricStats: map[string]model.MetricStats{}}
		rc := store.RunContext{ID: run.ID, EvaluationRunID: run.EvaluationRunID, Environment: env, Project: s.Project, GitCommit: &commit, GitBranch: &branch}
		var counts store.Counts
		var values store.Values
		for k, n := range names {
			st := result.Passed
			switch kind[k] {
			case 'f':
				if rng.Float64() < 0.3 {
					st = result.Failed
				}
			case 'b':
				st = result.Failed
			case 'n':
				if i == s.Runs-1 {
					st = result.Failed
				}
			}
			t := &result.Test{Package: n.pkg, Name: n.name, Status: st,
				Started: started.Add(time.Duration(k) * time.Millisecond), Duration: time.Duration(1+rng.IntN(5000)) * time.Microsecond}
			t.Finished = t.Started.Add(t.Duration)
			if st == result.Failed {
				t.Output = fmt.Sprintf("=== RUN   %s\n    %s_test.go:%d: got %d, want %d\n%s--- FAIL: %s (0.00s)\n",
					n.name, strings.ToLower(n.name[4:min(len(n.name), 12)]), 10+k%400, rng.IntN(100), rng.IntN(100),
					strings.Repeat("        more context of the failure\n", 4), n.name)
			}
			if k%10 == 0 {
				v := math.Min(1, math.Max(0, 0.8+float64(k%7)/100+rng.NormFloat64()*0.01))
				m := result.Metric{Key: "accuracy", Result: wideAccuracy.Evaluate(v)}
				t.Metrics = []result.Metric{m}
				sc := m.Score
				t.Score, t.ScoreMethod = &sc, scoring.Average
			}
			t.Complete()
			counts.Add(t)
			values.Add(t)
			docs = append(docs, store.NewTestRun(rc, t))
			if len(docs) == cap(docs) {
				if err := flush(); err != nil {
					return truth, err
				}
			}
		}
		if err := flush(); err != nil {
			return truth, err
		}
		run.NumTests, run.NumPassed, run.NumFailed = counts.NumTests, counts.NumPassed, counts.NumFailed
		for key, vs := range values.MetricValues {
			st := store.Describe(vs)
			run.Metrics[key], run.MetricStats[key] = st.Mean, st
		}
		sc := store.Describe(values.Scores).Mean
		run.Score = &sc
		run.Status = model.StatusCompleted
		if counts.NumFailed > 0 {
			run.Status = model.StatusFailed
		}
		truth.Failed = append(truth.Failed, counts.NumFailed)
		// The run goes last, as a writer finalizes it: a reader never sees
		// a completed run without its test runs.
		if err := db.InsertRun(ctx, &run); err != nil {
			return truth, err
		}
	}
	return truth, nil
}

type wideName struct{ pkg, name string }

// wideNames are the suite's tests, package by package: two top-level
// tests in three, the third a subtest of the test before it.
func wideNames(s WideSpec) []wideName {
	out := make([]wideName, 0, s.Tests)
	perPkg := (s.Tests + s.Packages - 1) / s.Packages
	parent := ""
	for k := range s.Tests {
		pkg := widePackage(s.Project, k/perPkg)
		name := fmt.Sprintf("TestFunction%05d", k)
		if k%3 == 2 && parent != "" {
			name = fmt.Sprintf("%s/case_%d", parent, k%17)
		} else {
			parent = name
		}
		out = append(out, wideName{pkg, name})
	}
	return out
}

func widePackage(project string, p int) string { return fmt.Sprintf("%s/pkg%02d", project, p) }
