package store

import (
	"math"
	"strings"
	"time"

	"evalrec.dev/model"
	"evalrec.dev/provenance"
	"evalrec.dev/result"
)

// RunStart is what a writer knows of a run as it starts it.
type RunStart struct {
	Invocation     provenance.Invocation
	Git            provenance.Git
	Environment    string
	ExperimentTags []string
	System         provenance.System
	Source         string // testmain, wrapper or converter
	Project        string
	// TestsSelected: go test ran some tests only (see EvaluationRun).
	TestsSelected bool
}

// NewRun is the document of a run that starts: every writer builds its run
// here, so that a suite recorded in TestMain mode and the same suite read
// from its stream give the same document.
func NewRun(s RunStart) model.EvaluationRun {
	repository := ""
	if s.Git.Remote != nil {
		repository = *s.Git.Remote
	}
	r := model.EvaluationRun{
		ID:              model.ID(s.Invocation.ObjectID()),
		EvaluationRunID: s.Invocation.RunID(s.Git),
		StartedAt:       s.Invocation.Started,
		GitCommit:       s.Git.Commit,
		GitBranch:       s.Git.Branch,
		GitDirty:        s.Git.Dirty,
		Environment:     s.Environment,
		ExperimentTags:  s.ExperimentTags,
		System:          s.System,
		SystemInfoHash:  s.System.Hash(),
		Metrics:         map[string]float64{},
		Status:          model.StatusRunning,
		Source:          s.Source,
		Project:         s.Project,
		Repository:      repository,
		TestsSelected:   s.TestsSelected,
	}
	// Masked as the store would mask it, before a test binary or a
	// session journals it.
	maskRun(&r)
	return r
}

// RunContext is what every test run repeats from its evaluation run.
type RunContext struct {
	ID              model.ID
	EvaluationRunID string
	Environment     string
	Project         string
	GitCommit       *string
	GitBranch       *string
}

// NewTestRun turns a result into its document. The test must have been
// completed ([result.Test.Complete]). Non-finite values become null with a
// note; metric keys are already safe (see [result.MetricKey]).
func NewTestRun(rc RunContext, t *result.Test) model.TestRun {
	id := result.RunID(rc.EvaluationRunID, t.Package, t.Name, t.Attempt)
	tr := model.TestRun{
		ID:              id,
		EvaluationRunID: rc.ID,
		TestRunID:       id,
		TestID:          t.TestID,
		TestName:        t.TestName,
		Package:         t.Package,
		GoTest:          t.Name,
		Attempt:         t.Attempt,
		FinishedAt:      t.Finished.UTC().Truncate(time.Millisecond),
		DurationMS:      float64(t.Duration.Microseconds()) / 1000,
		Status:          string(t.Status),
		Passed:          t.Status == result.Passed,
		Metrics:         make(map[string]model.MetricDoc, len(t.Metrics)),
		Score:           finiteOrNil(t.Score),
		ScoreMethod:     t.ScoreMethod,
		Tags:            nonNil(t.Tags),
		Participants:    nonNil(t.Participants),
		Attributes:      t.Attrs,
		Output:          t.Output,
		Cached:          t.Cached,
		Environment:     rc.Environment,
		Project:         rc.Project,
		GitCommit:       rc.GitCommit,
		GitBranch:       rc.GitBranch,
	}
	if !t.Started.IsZero() {
		s := t.Started.UTC().Truncate(time.Millisecond)
		tr.StartedAt = &s
	}
	for _, m := range t.Metrics {
		md := model.MetricDoc{
			Unit:      m.Unit,
			Direction: m.Direction.String(),
			Threshold: finiteOrNil(m.Threshold),
			Score:     finiteOr0(m.Score),
			Passed:    m.Passed,
			Assumed:   m.Assumed,
		}
		if m.Weight != 1 {
			md.Weight = finiteOr0(m.Weight)
		}
		if m.Name != m.Key {
			md.Name = m.Name
		}
		if nf := result.NonFinite(m.Value); nf != "" {
			md.NonFinite = nf
		} else {
			v := m.Value
			md.Value = &v
		}
		tr.Metrics[m.Key] = md
	}
	return tr
}

// Add counts t.
func (c *Counts) Add(t *result.Test) {
	c.NumTests++
	switch t.Status {
	case result.Passed:
		c.NumPassed++
	case result.Failed:
		c.NumFailed++
	case result.Skipped:
		c.NumSkipped++
	case result.Incomplete:
		c.NumIncomplete++
	}
}

// Add collects t's metric values and score. A benchmark's measurements
// (sec/op, B/op, …) are its own: the mean sec/op of unrelated benchmarks
// says nothing, so they stay out of the run's metrics.
func (s *Values) Add(t *result.Test) {
	bench := strings.HasPrefix(t.Name, "Benchmark")
	for _, m := range t.Metrics {
		if bench {
			break
		}
		if result.NonFinite(m.Value) != "" {
			continue
		}
		if s.MetricValues == nil {
			s.MetricValues = map[string][]float64{}
		}
		s.MetricValues[m.Key] = append(s.MetricValues[m.Key], m.Value)
	}
	if sc, ok := RunScore(t.Status, t.Score); ok {
		s.Scores = append(s.Scores, sc)
	}
}

// RunScore is what one test contributes to its run's score: its own score
// when it passed, 0 when it failed or never finished, and nothing when it
// was skipped (or has no score). So a failing test always lowers the run's
// score, even when its metrics scored well. For example, four tests
// scoring 90 (passed), 80 (passed), 95 (failed) and 100 (passed, no
// metrics), and one skipped, make a run score of (90+80+0+100)/4 = 67.5.
func RunScore(status result.Status, score *float64) (float64, bool) {
	switch status {
	case result.Failed, result.Incomplete:
		return 0, true
	case result.Skipped:
		return 0, false
	}
	if score == nil || math.IsNaN(*score) || math.IsInf(*score, 0) {
		return 0, false
	}
	return *score, true
}

func finiteOrNil(p *float64) *float64 {
	if p == nil || math.IsNaN(*p) || math.IsInf(*p, 0) {
		return nil
	}
	return p
}

func finiteOr0(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}
