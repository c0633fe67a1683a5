package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"

	"evalrec.dev/ingest"
	"evalrec.dev/internal/config"
	"evalrec.dev/internal/pipeline"
	"evalrec.dev/internal/storetest"
	"evalrec.dev/model"
	"evalrec.dev/result"
	"evalrec.dev/store"
)

const benchTests = 10000

// stream is a go test -json stream of n mostly passing tests in 4 packages,
// one in ten with evalrec metrics.
func stream(n int) []byte {
	var b bytes.Buffer
	ts := "2026-01-01T00:00:00Z"
	for p := range 4 {
		pkg := fmt.Sprintf("example.com/p%d", p)
		fmt.Fprintf(&b, `{"Time":%q,"Action":"start","Package":%q}`+"\n", ts, pkg)
		for i := range n / 4 {
			test := fmt.Sprintf("TestCase%05d", i)
			fmt.Fprintf(&b, `{"Time":%q,"Action":"run","Package":%q,"Test":%q}`+"\n", ts, pkg, test)
			fmt.Fprintf(&b, `{"Time":%q,"Action":"output","Package":%q,"Test":%q,"Output":"=== RUN   %s\n"}`+"\n", ts, pkg, test, test)
			if i%10 == 0 {
				fmt.Fprintf(&b, `{"Time":%q,"Action":"attr","Package":%q,"Test":%q,"Key":"evalrec.metric.wer","Value":"{\"value\":0.1,\"direction\":\"lower\",\"score\":90}"}`+"\n", ts, pkg, test)
				fmt.Fprintf(&b, `{"Time":%q,"Action":"attr","Package":%q,"Test":%q,"Key":"evalrec.score","Value":"90"}`+"\n", ts, pkg, test)
			}
			fmt.Fprintf(&b, `{"Time":%q,"Action":"pass","Package":%q,"Test":%q,"Elapsed":0.001}`+"\n", ts, pkg, test)
		}
		fmt.Fprintf(&b, `{"Time":%q,"Action":"pass","Package":%q,"Elapsed":1}`+"\n", ts, pkg)
	}
	return b.Bytes()
}

func benchConfig(db string) *config.Config {
	return &config.Config{Database: db, Environment: "bench", ConnectTimeout: 5 * time.Second,
		WriteTimeout: 30 * time.Second, FlushInterval: time.Second}
}

// BenchmarkStoreStream ingests a stream of benchTests tests end to end
// (parsing, scoring, batched writes, parts and finalization) into each kind
// of store, and reports the process's CPU time per test: with FerretDB
// in-process, its share is counted too, so the sub-benchmarks compare what
// storing one test costs on each.
func BenchmarkStoreStream(b *testing.B) {
	data := stream(benchTests)
	for _, kind := range []storetest.Kind{storetest.SQLite, storetest.FerretDB} {
		b.Run(string(kind), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			cpu := cpuMeter{}
			for b.Loop() {
				db := fresh(b, kind)
				cpu.start()
				res, err := pipeline.Ingest(context.Background(), bytes.NewReader(data), pipeline.Options{
					Config: benchConfig(db.Name()), Source: "converter", DB: db})
				cpu.stop()
				if err != nil || res.StorageErr != nil || res.Run.NumTests != benchTests {
					b.Fatalf("ingest: %v %v %+v", err, res.StorageErr, res.Run)
				}
			}
			cpu.report(b, benchTests)
		})
	}
}

// BenchmarkDryRun is gojson2mongo --dry-run in process: the stream parsed,
// scored and every document encoded, with nothing stored.
func BenchmarkDryRun(b *testing.B) {
	data := stream(benchTests)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		res, err := pipeline.Ingest(context.Background(), bytes.NewReader(data), pipeline.Options{
			Config: benchConfig("bench"), Source: "converter", DryRun: io.Discard})
		if err != nil || res.Run.NumTests != benchTests {
			b.Fatalf("ingest: %v %+v", err, res.Run)
		}
	}
}

// BenchmarkRawInsert stores the same test documents in batches of 1000
// into each kind of store: the floor any writer pays there.
func BenchmarkRawInsert(b *testing.B) {
	data := stream(benchTests)
	docs := documents(b, data)
	for _, kind := range []storetest.Kind{storetest.SQLite, storetest.FerretDB} {
		b.Run(string(kind), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			cpu := cpuMeter{}
			for b.Loop() {
				db := fresh(b, kind)
				cpu.start()
				for start := 0; start < len(docs); start += 1000 {
					if _, err := db.InsertTestRuns(context.Background(), docs[start:min(start+1000, len(docs))]); err != nil {
						b.Fatal(err)
					}
				}
				cpu.stop()
			}
			cpu.report(b, benchTests)
		})
	}
}

// fresh opens a new, empty store, outside the timer.
func fresh(b *testing.B, kind storetest.Kind) *store.DB {
	b.StopTimer()
	defer b.StartTimer()
	return storetest.Open(b, kind).DB
}

// cpuMeter sums the process's user and system CPU time over the timed
// stretches.
type cpuMeter struct {
	at, total time.Duration
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (c *cpuMeter) start() { c.at = processCPU() }
func (c *cpuMeter) stop()  { c.total += processCPU() - c.at }

func (c *cpuMeter) report(b *testing.B, perOp int) {
	b.ReportMetric(float64(c.total.Nanoseconds())/float64(b.N)/float64(perOp), "cpu-ns/test")
}

type collectTests []*result.Test

func (c *collectTests) BeginPackage(*ingest.Package) {}
func (c *collectTests) Test(t *result.Test)          { cp := *t; *c = append(*c, &cp) }
func (c *collectTests) EndPackage(*ingest.Package)   {}

func documents(b *testing.B, data []byte) []model.TestRun {
	var c collectTests
	in := ingest.New(&c)
	r := ingest.NewReader(bytes.NewReader(data))
	for r.Scan() {
		if ev := r.Event(); ev != nil {
			in.Event(ev)
		}
	}
	in.Close()
	rc := store.RunContext{ID: model.NewID(), EvaluationRunID: "bench"}
	docs := make([]model.TestRun, len(c))
	for i, t := range c {
		t.Complete()
		docs[i] = store.NewTestRun(rc, t)
	}
	if len(docs) != benchTests {
		b.Fatalf("%d documents", len(docs))
	}
	return docs
}
