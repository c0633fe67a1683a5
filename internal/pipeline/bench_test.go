package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"evalrec.dev/ingest"
	"evalrec.dev/internal/config"
	"evalrec.dev/internal/pipeline"
	"evalrec.dev/internal/storetest"
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

// BenchmarkStoreStream ingests a stream of benchTests tests end to end:
// parsing, scoring, batched writes, parts and finalization.
func BenchmarkStoreStream(b *testing.B) {
	s := storetest.New(b)
	data := stream(benchTests)
	b.SetBytes(int64(len(data)))
	for i := 0; b.Loop(); i++ {
		db := fresh(b, s, i)
		res, err := pipeline.Ingest(context.Background(), bytes.NewReader(data), pipeline.Options{
			Config: benchConfig(db.Name()), Source: "converter", DB: db})
		if err != nil || res.StorageErr != nil || res.Run.NumTests != benchTests {
			b.Fatalf("ingest: %v %v %+v", err, res.StorageErr, res.Run)
		}
	}
}

// BenchmarkRawInsertMany stores the same test documents with unordered
// InsertMany batches of 1000 into an indexed collection: the floor any
// writer pays on this store.
func BenchmarkRawInsertMany(b *testing.B) {
	s := storetest.New(b)
	data := stream(benchTests)
	docs := documents(b, data)
	b.SetBytes(int64(len(data)))
	for i := 0; b.Loop(); i++ {
		db := fresh(b, s, i)
		if err := db.EnsureIndexes(context.Background()); err != nil {
			b.Fatal(err)
		}
		coll := db.Database().Collection(store.TestsCollection)
		for start := 0; start < len(docs); start += 1000 {
			end := min(start+1000, len(docs))
			if _, err := coll.InsertMany(context.Background(), docs[start:end], options.InsertMany().SetOrdered(false)); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// fresh opens a new, empty database on the test's server, outside the timer.
func fresh(b *testing.B, s *storetest.Store, i int) *store.DB {
	b.StopTimer()
	defer b.StartTimer()
	db, err := store.Connect(context.Background(), s.URI, fmt.Sprintf("%s_%d", s.Database, i), 10*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

type collectTests []*result.Test

func (c *collectTests) BeginPackage(*ingest.Package) {}
func (c *collectTests) Test(t *result.Test)          { cp := *t; *c = append(*c, &cp) }
func (c *collectTests) EndPackage(*ingest.Package)   {}

func documents(b *testing.B, data []byte) []any {
	var c collectTests
	in := ingest.New(&c)
	r := ingest.NewReader(bytes.NewReader(data))
	for r.Scan() {
		if ev := r.Event(); ev != nil {
			in.Event(ev)
		}
	}
	in.Close()
	rc := store.RunContext{ID: bson.NewObjectID(), EvaluationRunID: "bench"}
	docs := make([]any, len(c))
	for i, t := range c {
		t.Complete()
		docs[i] = store.NewTestRun(rc, t)
	}
	if len(docs) != benchTests {
		b.Fatalf("%d documents", len(docs))
	}
	return docs
}
