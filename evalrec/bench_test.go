package evalrec_test

import (
	"fmt"
	"io"
	"testing"

	"evalrec.dev/evalrec"
	"evalrec.dev/internal/storetest"
	"evalrec.dev/scoring"
)

var benchMetrics = evalrec.Metrics{"wer": 0.12, "completeness": 0.95, "latency_ms": 340}

var benchOptions = []evalrec.Option{
	evalrec.TestID("doctor-patient-es-en"),
	evalrec.Tags("medical", "es-en"),
	evalrec.Define(scoring.Definition{Name: "latency_ms", Direction: scoring.LowerIsBetter, Min: 0, Max: 2000}),
}

// BenchmarkRecord is the cost of one Record call on the test goroutine with
// nothing stored in-process. Run it with -v to include encoding and printing
// the attributes, as under go test -json (the wrapper and converter case);
// without -v testing drops attributes, and Record does not encode them.
func BenchmarkRecord(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		evalrec.Record(b, benchMetrics, benchOptions...)
	}
}

// BenchmarkRecordStoring is the same with the recorder storing into the
// embedded store. The write itself happens when the test ends, off the test
// goroutine; this measures what the test goroutine pays.
func BenchmarkRecordStoring(b *testing.B) {
	s := storetest.New(b)
	for _, kv := range [][2]string{{"MONGODB_ENABLED", "true"}, {"MONGODB_CONNECTION_STRING", s.URI}, {"MONGODB_DATABASE", s.Database}} {
		b.Setenv(kv[0], kv[1])
	}
	old := evalrec.Stderr
	evalrec.Stderr = io.Discard
	defer func() { evalrec.Stderr = old }()
	r := evalrec.Start()
	if r == nil {
		b.Fatal("recorder did not start")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		evalrec.Record(b, benchMetrics, benchOptions...)
	}
	b.StopTimer()
	r.Finish(0)
}

// BenchmarkRecordNewNames records a metric with a new name on every call,
// all in one benchmark, so the metrics pile up as they would in one test.
// Its cost per call stays flat from -benchtime=1000x to 10000x, where it
// once grew with the number of metrics already recorded (10,000 calls took
// 23.5 s).
func BenchmarkRecordNewNames(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		evalrec.Record(b, evalrec.Metrics{fmt.Sprintf("m%06d", i): 0.5})
	}
}
