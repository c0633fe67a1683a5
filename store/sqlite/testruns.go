package sqlite

import (
	"database/sql"
	"fmt"
	"time"

	"evalrec.dev/model"
	json "github.com/goccy/go-json"
)

// A test run is one row of test_runs: the columns hold what queries
// filter, sort and count on, and doc the rest of the document, in short
// keys (a store of 1.5 million test runs holds doc 1.5 million times).
// Its output, kept for failed tests only, is in test_outputs.
// Queries name the table t.
const testRunColumns = `t.run, t.id, t.test_id, t.test_name, t.package, t.attempt, t.finished_at, t.status, t.score, t.cached,
	t.project, t.environment, t.git_branch, t.doc`

// testRunInsert stores a test run; one stored already is left as it is.
const testRunInsert = `INSERT INTO test_runs (run, id, test_id, test_name, package, attempt, finished_at, status, score, cached,
	project, environment, git_branch, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`

// testRunRest is what of a test run no column holds. GoTest is kept only
// when it is not the test's name.
type testRunRest struct {
	GoTest       string                     `json:"g,omitempty"`
	StartedAt    *int64                     `json:"s,omitempty"` // Unix milliseconds
	DurationMS   float64                    `json:"d,omitempty"`
	Metrics      map[string]model.MetricDoc `json:"m"`
	ScoreMethod  string                     `json:"sm,omitempty"`
	Tags         []string                   `json:"t"`
	Participants []string                   `json:"p"`
	Attributes   map[string]string          `json:"a,omitempty"`
	GitCommit    *string                    `json:"c,omitempty"`
}

// testRunArgs are the values of testRunColumns for t.
func testRunArgs(t *model.TestRun) ([]any, error) {
	rest := testRunRest{StartedAt: nil, DurationMS: t.DurationMS, Metrics: t.Metrics, ScoreMethod: t.ScoreMethod,
		Tags: t.Tags, Participants: t.Participants, Attributes: t.Attributes, GitCommit: t.GitCommit}
	if t.GoTest != t.TestName {
		rest.GoTest = t.GoTest
	}
	if t.StartedAt != nil {
		ms := t.StartedAt.UnixMilli()
		rest.StartedAt = &ms
	}
	doc, err := json.Marshal(&rest)
	if err != nil {
		return nil, err
	}
	return []any{t.EvaluationRunID.Hex(), t.ID, t.TestID, t.TestName, t.Package, t.Attempt, ms(t.FinishedAt),
		t.Status, t.Score, t.Cached, orNull(t.Project), t.Environment, t.GitBranch, doc}, nil
}

// testRunScanner reads rows of testRunColumns; it parses each run's ID
// once.
type testRunScanner struct {
	lastRun string
	lastID  model.ID
}

// scan reads a row of testRunColumns, then extra.
func (sc *testRunScanner) scan(rows *sql.Rows, extra ...any) (model.TestRun, error) {
	var t model.TestRun
	var run []byte
	var finished int64
	var score sql.NullFloat64
	var project, branch sql.NullString
	var doc []byte
	if err := rows.Scan(append([]any{&run, &t.ID, &t.TestID, &t.TestName, &t.Package, &t.Attempt, &finished, &t.Status, &score,
		&t.Cached, &project, &t.Environment, &branch, &doc}, extra...)...); err != nil {
		return t, describe(err)
	}
	if string(run) != sc.lastRun {
		id, err := model.ParseID(string(run))
		if err != nil {
			return t, fmt.Errorf("reading test run %s: %w", t.ID, err)
		}
		sc.lastRun, sc.lastID = string(run), id
	}
	var rest testRunRest
	if err := json.Unmarshal(doc, &rest); err != nil {
		return t, fmt.Errorf("reading test run %s: %w", t.ID, err)
	}
	t.EvaluationRunID, t.TestRunID = sc.lastID, t.ID
	t.FinishedAt = time.UnixMilli(finished).UTC()
	t.Passed = t.Status == "passed"
	if score.Valid {
		t.Score = &score.Float64
	}
	t.Project = project.String
	if branch.Valid {
		t.GitBranch = &branch.String
	}
	t.GoTest = rest.GoTest
	if t.GoTest == "" {
		t.GoTest = t.TestName
	}
	if rest.StartedAt != nil {
		s := time.UnixMilli(*rest.StartedAt).UTC()
		t.StartedAt = &s
	}
	t.DurationMS, t.Metrics, t.ScoreMethod = rest.DurationMS, rest.Metrics, rest.ScoreMethod
	t.Tags, t.Participants, t.Attributes, t.GitCommit = rest.Tags, rest.Participants, rest.Attributes, rest.GitCommit
	return t, nil
}
