package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"evalrec.dev/internal/storetest"
	"evalrec.dev/model"
	"evalrec.dev/store"
)

// TestPruneNeedsYesPastAHundredRuns: "-older-than 1m" is a minute, so a
// user who meant a month would lose the history; without a terminal to ask
// on, prune refuses past 100 runs unless told -yes.
// hourOldRuns makes a module with an embedded store holding n runs that
// started an hour ago, calling each (if set) with the store and each run.
func hourOldRuns(t *testing.T, n int, each func(*store.DB, *model.EvaluationRun)) (dir string, db *store.DB) {
	t.Helper()
	dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/prune\n\ngo 1.25\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	db = storetest.EmbeddedAt(t, dir)
	start := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	for i := range n {
		end := start.Add(time.Second)
		r := model.EvaluationRun{ID: model.NewID(), EvaluationRunID: fmt.Sprintf("run-%03d", i), StartedAt: start, FinishedAt: &end,
			Status: model.StatusCompleted, Project: "example.com/prune", ExperimentTags: []string{}, Packages: []string{}, Metrics: map[string]float64{}}
		if err := db.InsertRun(context.Background(), &r); err != nil {
			t.Fatal(err)
		}
		if each != nil {
			each(db, &r)
		}
	}
	return dir, db
}

func TestPruneNeedsYesPastAHundredRuns(t *testing.T) {
	dir, db := hourOldRuns(t, 101, nil)
	ctx := context.Background()
	t.Chdir(dir)
	var out, errOut bytes.Buffer
	env := &environment{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut}
	c := newPruneCmd(env)
	if err := c.fs.Parse([]string{"-older-than", "1m"}); err != nil {
		t.Fatal(err)
	}
	err := c.Run(ctx, nil)
	if err == nil || !strings.Contains(err.Error(), "this would delete 101 runs") || !strings.Contains(err.Error(), "-yes") {
		t.Fatalf("prune without -yes: %v", err)
	}
	if n, _ := db.Count(ctx, store.RunsCollection); n != 101 {
		t.Fatalf("%d runs left after a refused prune, want 101", n)
	}
	c = newPruneCmd(env)
	if err := c.fs.Parse([]string{"-older-than", "1m", "-yes"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Run(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "deleted 101 runs") {
		t.Errorf("output %q", out.String())
	}
}

// TestPruneGivesTheSpaceBack: SQLite keeps the pages of deleted rows, so a
// pruned store's file would stay as large; prune compacts it.
func TestPruneGivesTheSpaceBack(t *testing.T) {
	ctx := context.Background()
	out := strings.Repeat("a failure's output, kept for failed tests\n", 100)
	dir, _ := hourOldRuns(t, 10, func(db *store.DB, r *model.EvaluationRun) {
		var trs []model.TestRun
		for j := range 50 {
			id := fmt.Sprintf("%s/T%03d", r.EvaluationRunID, j)
			trs = append(trs, model.TestRun{ID: id, TestRunID: id, EvaluationRunID: r.ID, TestID: fmt.Sprint("T", j), Status: "failed", Output: out, FinishedAt: *r.FinishedAt,
				Metrics: map[string]model.MetricDoc{}, Tags: []string{}, Participants: []string{}})
		}
		if _, err := db.InsertTestRuns(ctx, trs); err != nil {
			t.Fatal(err)
		}
	})
	path := filepath.Join(dir, ".evalrec", "vt_metrics.db")
	size := func() int64 {
		var n int64
		for _, p := range []string{path, path + "-wal"} {
			if fi, err := os.Stat(p); err == nil {
				n += fi.Size()
			}
		}
		return n
	}
	before := size()
	t.Chdir(dir)
	var stdout bytes.Buffer
	c := newPruneCmd(&environment{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stdout})
	if err := c.fs.Parse([]string{"-older-than", "1m", "-yes"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Run(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if after := size(); after*4 > before {
		t.Errorf("the store's files went from %d to %d bytes after every run was pruned", before, after)
	}
	if !strings.Contains(stdout.String(), "the store's files went from") {
		t.Errorf("output %q", stdout.String())
	}
}
