package ingest

import (
	"bytes"
	"testing"
)

// FuzzStream feeds arbitrary bytes through the reader and the ingester:
// nothing may panic, every line is either an event or a reported bad line,
// output tails stay within TailSize, and nothing is left in flight after
// Close.
func FuzzStream(f *testing.F) {
	for _, seed := range []string{
		`{"Action":"run","Package":"p","Test":"T"}` + "\n" + `{"Action":"pass","Package":"p","Test":"T"}`,
		`{"Time":"2026-01-01T00:00:00Z","Action":"output","Package":"p","Test":"T","Output":"x"}`,
		`{"ImportPath":"p [p.test]","Action":"build-output","Output":"# p\n"}` + "\n" + `{"Action":"fail","Package":"p","FailedBuild":"p [p.test]"}`,
		`{"Action":"attr","Package":"p","Test":"T","Key":"evalrec.metric.x","Value":"{\"value\":1}"}`,
		`{"Action":"output","Package":"p","Output":"BenchmarkX-8 \t 10\t 5 ns/op\n"}` + "\n" + `{"Action":"pass","Package":"p"}`,
		"not json\n{\n}\n" + `{"Action":""}`,
		`{"Action":"output","Package":"p","Output":"evalrec: system under test: {\"goos\":1}\n"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &collect{}
		in := New(c)
		r := NewReader(bytes.NewReader(data))
		lines := 0
		for r.Scan() {
			lines++
			if ev := r.Event(); ev != nil {
				in.Event(ev)
			} else if r.LineError() == nil {
				t.Fatal("a line that is neither an event nor an error")
			} else {
				in.BadLine(r.LineError())
			}
		}
		in.Close()
		if in.Stats.Events+in.Stats.BadLines != lines {
			t.Fatalf("%d events + %d bad lines != %d lines", in.Stats.Events, in.Stats.BadLines, lines)
		}
		if len(in.pkgs) != 0 {
			t.Fatalf("%d packages still in flight after Close", len(in.pkgs))
		}
		for _, tr := range c.tests {
			if len(tr.Output) > TailSize+len("…\n") {
				t.Fatalf("output tail of %d bytes", len(tr.Output))
			}
			if tr.Status == "" {
				t.Fatal("a test without a status")
			}
		}
	})
}
