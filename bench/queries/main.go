// Command queries measures evalrec's queries as its commands make them
// (history, flaky, compare, trend, and the wrapper's end-of-run
// comparison) on stores of growing size: the embedded SQLite store, and
// FerretDB, the first version's embedded store, as the baseline measured in
// the same run. Each store is filled by histgen.Bulk (100 tests per run);
// each query is timed -rounds times and the median printed, with its ratio
// to FerretDB's at the same size.
//
//	go run ./bench/queries -sizes 100000,1000000 -ferretdb-sizes 10000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"evalrec.dev/analytics"
	"evalrec.dev/compare"
	"evalrec.dev/internal/embedded"
	"evalrec.dev/internal/histgen"
	"evalrec.dev/store"
	_ "evalrec.dev/store/mongo"  // FerretDB, the baseline
	_ "evalrec.dev/store/sqlite" // sqlite:
)

const project = "example.com/bulk"

func main() {
	sizes := flag.String("sizes", "10000,100000,1000000", "numbers of test runs on SQLite, comma-separated")
	ferret := flag.String("ferretdb-sizes", "10000", "numbers of test runs on FerretDB (empty: none)")
	perRun := flag.Int("tests", 100, "tests per run")
	rounds := flag.Int("rounds", 5, "timings per query")
	flag.Parse()
	queries := []string{"history", "flaky", "compare", "trend", "end-of-run"}
	fmt.Printf("%-9s %-10s %-8s %-9s", "STORE", "TESTRUNS", "RUNS", "LOAD")
	for _, q := range queries {
		fmt.Printf(" %-22s", strings.ToUpper(q))
	}
	fmt.Println()
	base := map[int]map[string]time.Duration{}
	for _, s := range split(*ferret) {
		r, err := measure("ferretdb", s, *perRun, *rounds)
		check(err)
		base[s] = r
		print("ferretdb", s, *perRun, r, nil, queries)
	}
	for _, s := range split(*sizes) {
		r, err := measure("sqlite", s, *perRun, *rounds)
		check(err)
		print("sqlite", s, *perRun, r, base[s], queries)
	}
}

func print(kind string, size, perRun int, r, base map[string]time.Duration, queries []string) {
	fmt.Printf("%-9s %-10d %-8d %-9s", kind, size, size/perRun, r["load"].Round(time.Millisecond))
	for _, q := range queries {
		cell := fmtDur(r[q])
		if b, ok := base[q]; ok && r[q] > 0 {
			cell += fmt.Sprintf(" (%.4gx)", float64(r[q])/float64(b))
		}
		fmt.Printf(" %-22s", cell)
	}
	fmt.Println()
}

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/1e6)
	}
	return d.Round(10 * time.Millisecond).String()
}

func split(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		check(err)
		out = append(out, n)
	}
	return out
}

func open(ctx context.Context, kind, dir string) (*store.DB, func(), error) {
	if kind == "sqlite" {
		db, err := store.Connect(ctx, store.SQLiteURI(filepath.Join(dir, "bench.db")), "bench", 10*time.Second)
		if err != nil {
			return nil, nil, err
		}
		return db, func() { db.Close() }, nil
	}
	srv, err := embedded.Start(dir, "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	db, err := store.Connect(ctx, srv.URI(), "bench", 10*time.Second)
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	return db, func() { db.Close(); srv.Close() }, nil
}

func measure(kind string, testRuns, perRun, rounds int) (map[string]time.Duration, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "evalrec-queries")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	db, closeDB, err := open(ctx, kind, dir)
	if err != nil {
		return nil, err
	}
	defer closeDB()
	if err := db.EnsureIndexes(ctx); err != nil {
		return nil, err
	}
	out := map[string]time.Duration{}
	start := time.Now()
	if err := histgen.Bulk(ctx, db, testRuns/perRun, perRun, time.Now()); err != nil {
		return nil, err
	}
	out["load"] = time.Since(start)
	scope := store.RunFilter{Project: project}

	out["history"] = timeIt(rounds, func() error { // evalrec history TEST
		_, err := db.TestHistory(ctx, project+".TestCase0003", store.HistoryFilter{Project: project, Limit: 20})
		return err
	})
	out["flaky"] = timeIt(rounds, func() error { // evalrec flaky: the latest 200 runs
		f := scope
		f.Limit = 200
		rs, err := db.Runs(ctx, f)
		if err != nil {
			return err
		}
		_, err = analytics.FindFlaky(rs, db.Results(ctx, store.IDs(rs)), analytics.FlakyOptions{})
		return err
	})
	out["compare"] = timeIt(rounds, func() error { // evalrec compare -n 10 latest~1 latest
		base, err := db.ResolveRuns(ctx, "latest~1", 10, scope)
		if err != nil {
			return err
		}
		cand, err := db.ResolveRuns(ctx, "latest", 1, scope)
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
	out["trend"] = timeIt(rounds, func() error { // evalrec trend: the latest 1,000 runs
		f := scope
		f.Limit = 1000
		rs, err := db.Runs(ctx, f)
		if err != nil {
			return err
		}
		analytics.Trend(rs, "score", analytics.Day)
		return nil
	})
	out["end-of-run"] = timeIt(rounds, func() error { // evalrec test's summary against the previous run
		latest, err := db.ResolveRun(ctx, "latest", scope)
		if err != nil {
			return err
		}
		prev, err := db.PreviousComparable(ctx, latest)
		if err != nil {
			return err
		}
		a, err := db.TestRunsOf(ctx, prev.ID)
		if err != nil {
			return err
		}
		b, err := db.TestRunsOf(ctx, latest.ID)
		if err != nil {
			return err
		}
		compare.Runs(prev, latest, a, b)
		return nil
	})
	return out, nil
}

func timeIt(rounds int, f func() error) time.Duration {
	var ds []time.Duration
	for range rounds {
		start := time.Now()
		if err := f(); err != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
			return -1
		}
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
