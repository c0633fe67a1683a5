// Command fillstore writes a synthetic history into an embedded store file,
// so that a benchmark can time evalrec on a store that already holds
// -testruns test runs of -project (histgen.BulkFor: -tests per run).
//
//	go run ./bench/fillstore -file DIR/.evalrec/vt_metrics.db -project github.com/stretchr/testify -testruns 100000
//	go run ./bench/fillstore -file DIR/.evalrec/vt_metrics.db -project example.com/wide -wide 50000 -runs 30
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"evalrec.dev/internal/histgen"
	"evalrec.dev/store"
	_ "evalrec.dev/store/sqlite" // sqlite:
)

func main() {
	file := flag.String("file", ".evalrec/vt_metrics.db", "the store file")
	project := flag.String("project", "example.com/bulk", "the project (module path) of the runs")
	testRuns := flag.Int("testruns", 100000, "test runs to write")
	perRun := flag.Int("tests", 100, "tests per run")
	wide := flag.Int("wide", 0, "instead, write -runs runs of a wide suite of this many tests (histgen.Wide: 25 packages, a third subtests, a metric on one test in ten)")
	runs := flag.Int("runs", 30, "runs of the wide suite")
	flag.Parse()
	ctx := context.Background()
	db, err := store.Connect(ctx, store.SQLiteURI(*file), "vt_metrics", 10*time.Second)
	if err == nil && *wide > 0 {
		var truth histgen.WideTruth
		truth, err = histgen.Wide(ctx, db, histgen.WideSpec{Project: *project, Runs: *runs, Tests: *wide, Packages: 25}, time.Now().Add(-time.Hour))
		db.Close()
		if err == nil {
			fmt.Printf("newly failing in the newest run: %s\n", truth.NewlyFailing)
			return
		}
	} else if err == nil {
		// The runs end before now, so the runs timed afterwards are newer.
		err = histgen.BulkFor(ctx, db, *project, *testRuns / *perRun, *perRun, time.Now().Add(-time.Hour))
		db.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fillstore:", err)
		os.Exit(1)
	}
}
