// Command queries measures the latency of evalrec's history, flaky and
// compare queries on stores of different sizes. Each size gets a fresh
// embedded store filled by histgen.Bulk (100 tests per run); each query is
// timed -rounds times and the median printed.
//
//	go run ./bench/queries -sizes 10000,100000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"evalrec.dev/analytics"
	"evalrec.dev/compare"
	"evalrec.dev/internal/embedded"
	"evalrec.dev/internal/histgen"
	"evalrec.dev/store"
)

func main() {
	sizes := flag.String("sizes", "10000,100000", "numbers of test runs, comma-separated")
	perRun := flag.Int("tests", 100, "tests per run")
	rounds := flag.Int("rounds", 3, "timings per query")
	flag.Parse()
	fmt.Printf("%-10s %-10s %-12s %-12s %-12s %-12s\n", "TESTRUNS", "RUNS", "LOAD", "HISTORY", "FLAKY", "COMPARE")
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		check(err)
		check(measure(n, *perRun, *rounds))
	}
}

func measure(testRuns, perRun, rounds int) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "evalrec-queries")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := embedded.Start(dir, "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer srv.Close()
	db, err := store.Connect(ctx, srv.URI(), "bench", 10*time.Second)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.EnsureIndexes(ctx); err != nil {
		return err
	}
	runs := testRuns / perRun
	start := time.Now()
	if err := histgen.Bulk(ctx, db, runs, perRun, time.Now()); err != nil {
		return err
	}
	load := time.Since(start)

	history := timeIt(rounds, func() error {
		_, err := db.TestHistory(ctx, "example.com/bulk.TestCase0003", store.HistoryFilter{Limit: 20})
		return err
	})
	flaky := timeIt(rounds, func() error {
		rs, err := db.Runs(ctx, store.RunFilter{Limit: 30})
		if err != nil {
			return err
		}
		trs, err := db.TestRunsOfRuns(ctx, store.IDs(rs))
		if err != nil {
			return err
		}
		analytics.FindFlaky(rs, trs, analytics.FlakyOptions{})
		return nil
	})
	cmp := timeIt(rounds, func() error {
		base, err := db.ResolveRuns(ctx, "latest~1", 1, store.RunFilter{})
		if err != nil {
			return err
		}
		cand, err := db.ResolveRuns(ctx, "latest", 1, store.RunFilter{})
		if err != nil {
			return err
		}
		bt, err := db.TestRunsOfRuns(ctx, store.IDs(base))
		if err != nil {
			return err
		}
		ct, err := db.TestRunsOfRuns(ctx, store.IDs(cand))
		if err != nil {
			return err
		}
		compare.Sides(base, cand, bt, ct, compare.Options{})
		return nil
	})
	fmt.Printf("%-10d %-10d %-12s %-12s %-12s %-12s\n", testRuns, runs, load.Round(time.Millisecond), history, flaky, cmp)
	return nil
}

func timeIt(rounds int, f func() error) string {
	var ds []time.Duration
	for range rounds {
		start := time.Now()
		if err := f(); err != nil {
			return "error: " + err.Error()
		}
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	return ds[len(ds)/2].Round(time.Millisecond).String()
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
