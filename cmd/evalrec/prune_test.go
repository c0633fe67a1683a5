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

	"go.mongodb.org/mongo-driver/v2/bson"

	"evalrec.dev/internal/storetest"
	"evalrec.dev/store"
)

// TestPruneNeedsYesPastAHundredRuns: "-older-than 1m" is a minute, so a
// user who meant a month would lose the history; without a terminal to ask
// on, prune refuses past 100 runs unless told -yes.
func TestPruneNeedsYesPastAHundredRuns(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/prune\n\ngo 1.25\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	db := storetest.EmbeddedAt(t, dir)
	ctx := context.Background()
	start := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	for i := range 101 {
		end := start.Add(time.Second)
		r := store.EvaluationRun{ID: bson.NewObjectID(), EvaluationRunID: fmt.Sprintf("run-%03d", i), StartedAt: start, FinishedAt: &end,
			Status: store.StatusCompleted, Project: "example.com/prune", ExperimentTags: []string{}, Packages: []string{}, Metrics: map[string]float64{}}
		if err := db.InsertRun(ctx, &r); err != nil {
			t.Fatal(err)
		}
	}
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
