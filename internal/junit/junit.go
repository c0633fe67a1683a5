// Package junit writes test results as JUnit XML, the way GitLab and
// Jenkins read it: a testsuite per package, a testcase per test execution
// (failure, skipped, system-out), and evalrec's score and metrics as
// properties of each testcase. A package that broke without a failing test
// (a build failure, a panic in TestMain) gets a testcase of its own with an
// error, as gotestsum writes it, so that CI shows it.
package junit

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"evalrec.dev/result"
)

// Writer collects results and writes them. It is safe for concurrent use.
type Writer struct {
	mu     sync.Mutex
	suites map[string]*suite
	order  []string
}

type suite struct {
	XMLName    xml.Name   `xml:"testsuite"`
	Name       string     `xml:"name,attr"`
	Tests      int        `xml:"tests,attr"`
	Failures   int        `xml:"failures,attr"`
	Errors     int        `xml:"errors,attr"`
	Skipped    int        `xml:"skipped,attr"`
	Time       string     `xml:"time,attr"`
	Timestamp  string     `xml:"timestamp,attr,omitempty"`
	Properties []property `xml:"properties>property,omitempty"`
	Cases      []testcase `xml:"testcase"`
}

type testcase struct {
	Classname  string     `xml:"classname,attr"`
	Name       string     `xml:"name,attr"`
	Time       string     `xml:"time,attr"`
	Properties []property `xml:"properties>property,omitempty"`
	Failure    *message   `xml:"failure,omitempty"`
	Error      *message   `xml:"error,omitempty"`
	Skipped    *message   `xml:"skipped,omitempty"`
	SystemOut  string     `xml:"system-out,omitempty"`
}

type message struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

type property struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// New returns an empty Writer.
func New() *Writer { return &Writer{suites: map[string]*suite{}} }

func (w *Writer) suite(pkg string) *suite {
	s := w.suites[pkg]
	if s == nil {
		s = &suite{Name: pkg}
		w.suites[pkg] = s
		w.order = append(w.order, pkg)
	}
	return s
}

// Add records one test execution. t should be complete (its output masked
// and its score computed; see result.Test.Complete).
func (w *Writer) Add(t *result.Test) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.suite(t.Package)
	c := testcase{Classname: t.Package, Name: t.Name, Time: seconds(t.Duration)}
	if t.Attempt > 1 {
		c.Name = fmt.Sprintf("%s (attempt %d)", t.Name, t.Attempt)
	}
	if t.TestID != "" && t.TestID != result.DefaultTestID(t.Package, t.Name) {
		c.Properties = append(c.Properties, property{"evalrec.test_id", t.TestID})
	}
	if t.Score != nil {
		c.Properties = append(c.Properties, property{"evalrec.score", strconv.FormatFloat(*t.Score, 'g', -1, 64)})
	}
	for _, m := range t.Metrics {
		c.Properties = append(c.Properties, property{"evalrec.metric." + m.Name, strconv.FormatFloat(m.Value, 'g', -1, 64)})
	}
	s.Tests++
	switch t.Status {
	case result.Failed:
		s.Failures++
		c.Failure = &message{Message: "Failed", Text: t.Output}
	case result.Incomplete:
		s.Failures++
		c.Failure = &message{Message: "never finished (killed, -timeout or os.Exit)", Text: t.Output}
	case result.Skipped:
		s.Skipped++
		c.Skipped = &message{Message: "skipped", Text: t.Output}
	default:
		c.SystemOut = t.Output
	}
	s.Cases = append(s.Cases, c)
}

// EndPackage records a package's time and start, and, when broken is not
// "", that it broke: as a testcase with an error.
func (w *Writer) EndPackage(pkg string, started time.Time, elapsed time.Duration, broken, output string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.suite(pkg)
	s.Time = seconds(elapsed)
	if !started.IsZero() {
		s.Timestamp = started.UTC().Format("2006-01-02T15:04:05")
	}
	// A package whose failure a failing test already accounts for (a
	// panic, os.Exit in a test) gets no testcase of its own, as in
	// gotestsum's reports; one that failed with no failing test (a build
	// failure, TestMain) gets a "(package)" error.
	if broken != "" && s.Failures == 0 {
		s.Tests++
		s.Errors++
		s.Cases = append(s.Cases, testcase{Classname: pkg, Name: "(package)", Time: "0",
			Error: &message{Message: broken, Text: output}})
	}
}

type testsuites struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Suites   []*suite
}

// Write writes the XML document to out.
func (w *Writer) Write(out io.Writer) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	doc := testsuites{}
	for _, name := range slices.Sorted(slices.Values(w.order)) {
		s := w.suites[name]
		if s.Time == "" {
			s.Time = "0"
		}
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
		doc.Suites = append(doc.Suites, s)
	}
	if _, err := io.WriteString(out, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(out)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(out, "\n")
	return err
}

// WriteFile writes the XML document to a file.
func (w *Writer) WriteFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := w.Write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) }
