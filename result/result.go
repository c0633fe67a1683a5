// Package result holds the value every source of evalrec produces: one test
// execution with its status, timing, metrics and score. evalrec.Record, the
// go test -json converter and spool replay all end in a [Test], and one
// writer turns Tests into documents, so the sources cannot drift apart.
package result

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"evalrec.dev/internal/redact"
	"evalrec.dev/scoring"
)

// Status is the final state of one test execution.
type Status string

const (
	Passed  Status = "passed"
	Failed  Status = "failed"
	Skipped Status = "skipped"
	// Incomplete means the test never reported an end: its binary panicked,
	// hit -timeout, called os.Exit, or the stream was cut.
	Incomplete Status = "incomplete"
)

// StatusScoreMethod names the score given to a test that reported no metrics:
// 100 when it passed, 0 when it failed or did not complete, none when skipped.
const StatusScoreMethod = "status"

// Metric is one scored metric of a test. Key is the stored name (see
// [MetricKey]); Name is what the user wrote, when it differs.
type Metric struct {
	Key string
	scoring.Result
}

// Test is one execution of one test: a subtest, or one iteration of -count=N.
type Test struct {
	Package string `json:"package"` // import path
	Name    string `json:"name"`    // full Go test name, subtests included
	Attempt int    `json:"attempt"` // 1-based iteration of the same Package+Name in one run

	TestID   string `json:"test_id"`   // stable identity across runs; see [Test.Complete]
	TestName string `json:"test_name"` // human-readable name

	Status   Status        `json:"status"`
	Started  time.Time     `json:"started"`
	Finished time.Time     `json:"finished"`
	Duration time.Duration `json:"duration_ns"`
	// Timed says Duration is go test's own figure (test2json's Elapsed),
	// where 0 means under 5 ms: it is never replaced by the time between
	// the stream's events, which counts the waits of parallel tests and
	// of the reader.
	Timed bool `json:"timed,omitempty"`

	Metrics     []Metric `json:"metrics,omitempty"` // sorted by Key
	Score       *float64 `json:"score"`             // 0–100; nil for a skipped test with no metrics
	ScoreMethod string   `json:"score_method,omitempty"`

	Tags         []string          `json:"tags,omitempty"`
	Participants []string          `json:"participants,omitempty"`
	Attrs        map[string]string `json:"attrs,omitempty"`  // t.Attr pairs outside the evalrec convention
	Output       string            `json:"output,omitempty"` // tail of the output, failed tests only
	Cached       bool              `json:"cached,omitempty"` // replayed from the go test cache
}

// DefaultTestID is the stable ID of a test that declares none.
func DefaultTestID(pkg, name string) string {
	if pkg == "" {
		return name
	}
	return pkg + "." + name
}

// RunID is the deterministic key of a test execution within an evaluation run.
func RunID(evalRunID, pkg, name string, attempt int) string {
	return evalRunID + "/" + pkg + "." + name + "#" + strconv.Itoa(attempt)
}

// Complete fills the fields every source derives the same way: one-line
// test IDs and names, the default test ID and name, the score of a test
// without metrics, sorted, unique tags and participants, and output and
// attributes with their secrets masked. It is idempotent.
func (t *Test) Complete() {
	// IDs and names are one line, however they were given: the converter
	// reads them from attributes, which cannot hold a newline.
	t.TestID, t.TestName = strings.TrimSpace(OneLine(t.TestID)), strings.TrimSpace(OneLine(t.TestName))
	// A failing test may print a connection string; an attribute may hold
	// a key. Neither is stored in clear.
	t.Output = redact.Text(t.Output)
	t.Attrs = redact.Attributes(t.Attrs)
	if t.TestID == "" {
		t.TestID = DefaultTestID(t.Package, t.Name)
	}
	if t.TestName == "" {
		t.TestName = t.Name
	}
	if t.Attempt == 0 {
		t.Attempt = 1
	}
	if !t.Timed && t.Duration == 0 && !t.Started.IsZero() && t.Finished.After(t.Started) {
		t.Duration = t.Finished.Sub(t.Started)
	}
	slices.SortFunc(t.Metrics, func(a, b Metric) int { return strings.Compare(a.Key, b.Key) })
	t.Tags = sortedUnique(redact.Each(t.Tags))
	t.Participants = sortedUnique(redact.Each(t.Participants))
	if t.Score == nil && len(t.Metrics) > 0 {
		// Metrics with no score (attributes written by hand, or a test
		// binary that died before scoring): score them as Record would.
		t.scoreMetrics()
	}
	if t.Score == nil && len(t.Metrics) == 0 {
		var s float64
		switch t.Status {
		case Passed:
			s = 100
		case Failed, Incomplete:
			s = 0
		default:
			return
		}
		t.Score, t.ScoreMethod = &s, StatusScoreMethod
	}
}

// ApplyDefinitions scores again, by the definition lookup returns, each
// metric that came with none (a bare number written by hand), and gives
// the test method when it names no score method. Called before Complete,
// whose score then follows the definitions.
func (t *Test) ApplyDefinitions(lookup func(name string) (scoring.Definition, bool), method string) {
	for i := range t.Metrics {
		m := &t.Metrics[i]
		if !m.Assumed {
			continue
		}
		if d, ok := lookup(m.Name); ok {
			d.Name = m.Name
			m.Result = d.Evaluate(m.Value)
		}
	}
	if t.ScoreMethod == "" && method != "" && t.Score == nil {
		t.ScoreMethod = method
	}
}

// HasMetrics reports whether the test reported metrics of its own, as opposed
// to being scored by its status alone.
func (t *Test) HasMetrics() bool { return len(t.Metrics) > 0 }

// MergeSet adds extra to set, keeping it sorted, trimmed and without
// duplicates or empty entries.
func MergeSet(set, extra []string) []string {
	return sortedUnique(append(set, extra...))
}

func sortedUnique(ss []string) []string {
	out := ss[:0:0]
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// scoreMetrics computes the score of a test that has metrics and no score,
// with its score method, or average when this process does not know it.
func (t *Test) scoreMetrics() {
	rs := make([]scoring.Result, len(t.Metrics))
	for i, m := range t.Metrics {
		rs[i] = m.Result
	}
	method := t.ScoreMethod
	if method == "" {
		method = scoring.Average
	}
	s, ok, err := scoring.Default.Score(method, rs)
	if err != nil {
		method = scoring.Average
		s, ok, _ = scoring.Default.Score(method, rs)
	}
	if ok {
		t.Score, t.ScoreMethod = &s, method
	}
}
