package junit

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"evalrec.dev/result"
	"evalrec.dev/scoring"
)

func TestWriteIsJUnitThatCIReads(t *testing.T) {
	w := New()
	score := 80.0
	w.Add(&result.Test{Package: "ex/a", Name: "TestGood", Status: result.Passed, Duration: 1500 * time.Millisecond, Score: &score,
		Metrics: []result.Metric{{Key: "wer", Result: scoring.Result{Name: "wer", Value: 0.1}}}, Output: "ok\n"})
	w.Add(&result.Test{Package: "ex/a", Name: "TestBad", Status: result.Failed, Output: "a_test.go:9: <bad> & worse\n"})
	w.Add(&result.Test{Package: "ex/a", Name: "TestBad", Attempt: 2, Status: result.Passed})
	w.Add(&result.Test{Package: "ex/a", Name: "TestLater", Status: result.Skipped})
	w.EndPackage("ex/a", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), 2*time.Second, "", "")
	w.EndPackage("ex/b", time.Time{}, 0, "ex/b: build failed: undefined: x", "# ex/b\nb.go:3: undefined: x\n")
	var b bytes.Buffer
	if err := w.Write(&b); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Errors   int `xml:"errors,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Tests int    `xml:"tests,attr"`
			Time  string `xml:"time,attr"`
			Cases []struct {
				Name    string `xml:"name,attr"`
				Time    string `xml:"time,attr"`
				Failure *struct {
					Text string `xml:",chardata"`
				} `xml:"failure"`
				Error *struct {
					Message string `xml:"message,attr"`
				} `xml:"error"`
				Props []struct {
					Name  string `xml:"name,attr"`
					Value string `xml:"value,attr"`
				} `xml:"properties>property"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if doc.Tests != 5 || doc.Failures != 1 || doc.Errors != 1 || len(doc.Suites) != 2 {
		t.Fatalf("totals %d tests, %d failures, %d errors, %d suites\n%s", doc.Tests, doc.Failures, doc.Errors, len(doc.Suites), b.String())
	}
	a := doc.Suites[0]
	if a.Name != "ex/a" || a.Tests != 4 || a.Time != "2.000" || a.Cases[0].Time != "1.500" {
		t.Errorf("suite a: %+v", a)
	}
	if len(a.Cases[0].Props) != 2 || a.Cases[0].Props[0].Name != "evalrec.score" || a.Cases[0].Props[0].Value != "80" || a.Cases[0].Props[1].Name != "evalrec.metric.wer" {
		t.Errorf("properties: %+v", a.Cases[0].Props)
	}
	if a.Cases[1].Failure == nil || !strings.Contains(a.Cases[1].Failure.Text, "<bad> & worse") || a.Cases[2].Name != "TestBad (attempt 2)" {
		t.Errorf("failure and attempt: %+v", a.Cases[1:3])
	}
	if e := doc.Suites[1].Cases[0].Error; e == nil || !strings.Contains(e.Message, "build failed") {
		t.Errorf("broken package: %+v", doc.Suites[1])
	}
}
