package ingest

import (
	"bytes"
	"fmt"
	"testing"

	"gotest.tools/gotestsum/testjson"

	"evalrec.dev/result"
)

type discard struct{ n int }

func (d *discard) BeginPackage(*Package) {}
func (d *discard) Test(*result.Test)     { d.n++ }
func (d *discard) EndPackage(*Package)   {}

func benchStream() []byte {
	var b bytes.Buffer
	for i := range 20000 {
		test := fmt.Sprintf("TestCase%05d", i)
		fmt.Fprintf(&b, `{"Time":"2026-01-01T00:00:00Z","Action":"run","Package":"p","Test":%q}`+"\n", test)
		fmt.Fprintf(&b, `{"Time":"2026-01-01T00:00:00Z","Action":"output","Package":"p","Test":%q,"Output":"=== RUN   %s\n"}`+"\n", test, test)
		fmt.Fprintf(&b, `{"Time":"2026-01-01T00:00:00Z","Action":"output","Package":"p","Test":%q,"Output":"    x_test.go:42: checked the inputs\n"}`+"\n", test)
		fmt.Fprintf(&b, `{"Time":"2026-01-01T00:00:00Z","Action":"pass","Package":"p","Test":%q,"Elapsed":0.001}`+"\n", test)
	}
	return b.Bytes()
}

// BenchmarkIngest is parsing alone: reading events and following tests,
// with a sink that does nothing. MB/s is the stream throughput.
func BenchmarkIngest(b *testing.B) {
	data := benchStream()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		d := &discard{}
		in := New(d)
		r := NewReader(bytes.NewReader(data))
		for r.Scan() {
			if ev := r.Event(); ev != nil {
				in.Event(ev)
			}
		}
		in.Close()
		if d.n != 20000 {
			b.Fatal(d.n)
		}
	}
	b.ReportMetric(float64(80000*b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkGotestsumScan is the baseline for BenchmarkIngest: gotestsum's
// own parser, testjson.ScanTestOutput, on the same stream, in-process.
func BenchmarkGotestsumScan(b *testing.B) {
	data := benchStream()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		exec, err := testjson.ScanTestOutput(testjson.ScanConfig{Stdout: bytes.NewReader(data)})
		if err != nil {
			b.Fatal(err)
		}
		if n := exec.Total(); n != 20000 {
			b.Fatal(n)
		}
	}
	b.ReportMetric(float64(80000*b.N)/b.Elapsed().Seconds(), "events/s")
}
