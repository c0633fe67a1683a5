package store

import (
	"math"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"evalrec.dev/result"
)

// RunContext is what every test run repeats from its evaluation run.
type RunContext struct {
	ID              bson.ObjectID
	EvaluationRunID string
	Environment     string
	GitCommit       *string
	GitBranch       *string
}

// NewTestRun turns a result into its document. The test must have been
// completed ([result.Test.Complete]). Non-finite values become null with a
// note; metric keys are already safe (see [result.MetricKey]).
func NewTestRun(rc RunContext, t *result.Test) TestRun {
	id := result.RunID(rc.EvaluationRunID, t.Package, t.Name, t.Attempt)
	tr := TestRun{
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
		Metrics:         make(map[string]MetricDoc, len(t.Metrics)),
		Score:           finiteOrNil(t.Score),
		ScoreMethod:     t.ScoreMethod,
		Tags:            nonNil(t.Tags),
		Participants:    nonNil(t.Participants),
		Attributes:      t.Attrs,
		Output:          t.Output,
		Cached:          t.Cached,
		Environment:     rc.Environment,
		GitCommit:       rc.GitCommit,
		GitBranch:       rc.GitBranch,
	}
	if !t.Started.IsZero() {
		s := t.Started.UTC().Truncate(time.Millisecond)
		tr.StartedAt = &s
	}
	for _, m := range t.Metrics {
		md := MetricDoc{
			Unit:      m.Unit,
			Direction: m.Direction.String(),
			Threshold: finiteOrNil(m.Threshold),
			Score:     finiteOr0(m.Score),
			Passed:    m.Passed,
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

// Add collects t's metric values and score.
func (s *Values) Add(t *result.Test) {
	for _, m := range t.Metrics {
		if result.NonFinite(m.Value) != "" {
			continue
		}
		if s.MetricValues == nil {
			s.MetricValues = map[string]Floats{}
		}
		s.MetricValues[m.Key] = append(s.MetricValues[m.Key], m.Value)
	}
	if t.Score != nil && !math.IsNaN(*t.Score) {
		if t.HasMetrics() {
			s.MetricScores = append(s.MetricScores, *t.Score)
		} else {
			s.StatusScores = append(s.StatusScores, *t.Score)
		}
	}
}

// clone copies s deeply, so a queued op does not share its map and slices
// with values that keep growing.
func (s Values) clone() Values {
	c := s
	c.MetricScores = slices.Clone(s.MetricScores)
	c.StatusScores = slices.Clone(s.StatusScores)
	if s.MetricValues != nil {
		c.MetricValues = make(map[string]Floats, len(s.MetricValues))
		for k, v := range s.MetricValues {
			c.MetricValues[k] = slices.Clone(v)
		}
	}
	return c
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
