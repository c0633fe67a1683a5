// Command fillstore writes a synthetic history into an embedded store file,
// so that a benchmark can time evalrec on a store that already holds
// -testruns test runs of -project (histgen.BulkFor: -tests per run).
//
//	go run ./bench/fillstore -file DIR/.evalrec/vt_metrics.db -project github.com/stretchr/testify -testruns 100000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"evalrec.dev/internal/histgen"
	"evalrec.dev/store"
	"evalrec.dev/store/sqlite"
)

func main() {
	file := flag.String("file", ".evalrec/vt_metrics.db", "the store file")
	project := flag.String("project", "example.com/bulk", "the project (module path) of the runs")
	testRuns := flag.Int("testruns", 100000, "test runs to write")
	perRun := flag.Int("tests", 100, "tests per run")
	flag.Parse()
	ctx := context.Background()
	db, err := store.Connect(ctx, sqlite.URI(*file), "vt_metrics", 10*time.Second)
	if err == nil {
		// The runs end before now, so the runs timed afterwards are newer.
		err = histgen.BulkFor(ctx, db, *project, *testRuns / *perRun, *perRun, time.Now().Add(-time.Hour))
		db.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fillstore:", err)
		os.Exit(1)
	}
}
