package model

import (
	"time"

	"evalrec.dev/provenance"
)

// Run statuses.
const (
	StatusRunning   = "running"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
)

// EvaluationRun is one go test invocation, as stored in evaluation_runs.
type EvaluationRun struct {
	ID              ID                     `json:"_id"`
	EvaluationRunID string                 `json:"evaluation_run_id"`
	StartedAt       time.Time              `json:"started_at"`
	FinishedAt      *time.Time             `json:"finished_at"`
	GitCommit       *string                `json:"git_commit"`
	GitBranch       *string                `json:"git_branch"`
	GitDirty        *bool                  `json:"git_dirty"`
	Environment     string                 `json:"environment"`
	ExperimentTags  []string               `json:"experiment_tags"`
	System          provenance.System      `json:"system_information"`
	SystemInfoHash  string                 `json:"system_info_hash"`
	Metrics         map[string]float64     `json:"metrics"`
	MetricStats     map[string]MetricStats `json:"metric_stats"`
	NumTests        int                    `json:"num_tests"`
	NumPassed       int                    `json:"num_passed"`
	NumFailed       int                    `json:"num_failed"`
	NumSkipped      int                    `json:"num_skipped"`
	NumIncomplete   int                    `json:"num_incomplete"`
	Status          string                 `json:"status"`
	Score           *float64               `json:"score"`
	Error           string                 `json:"error,omitempty"`
	// Source is how the run was recorded: "testmain", "converter" or "wrapper".
	Source string `json:"source"`
	// Project is the module path at the invocation's root (for the
	// converter outside a module, the module the test binaries announced,
	// else the common prefix of the packages), and Repository the git
	// remote, without credentials. Every query is scoped to one project by
	// default.
	Project    string `json:"project"`
	Repository string `json:"repository,omitempty"`
	// Packages are the packages that ran, sorted: a run is compared with
	// another on the packages both ran.
	Packages []string `json:"packages"`
	// TestsSelected says go test was told to run some tests only (-run,
	// -skip): the tests it did not run are not gone, and comparisons
	// with this run keep to the tests both sides ran.
	TestsSelected bool `json:"tests_selected,omitempty"`
}

// MetricStats summarises one metric over the tests of a run.
type MetricStats struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
}

// TestRun is one test execution, as stored in test_runs. Its _id is the
// test_run_id, so storing it twice is a duplicate-key no-op.
type TestRun struct {
	ID              string               `json:"_id"`
	EvaluationRunID ID                   `json:"evaluation_run_id"`
	TestRunID       string               `json:"test_run_id"`
	TestID          string               `json:"test_id"`
	TestName        string               `json:"test_name"`
	Package         string               `json:"package"`
	GoTest          string               `json:"go_test"`
	Attempt         int                  `json:"attempt"`
	StartedAt       *time.Time           `json:"started_at"`
	FinishedAt      time.Time            `json:"finished_at"`
	DurationMS      float64              `json:"duration_ms"`
	Status          string               `json:"status"`
	Passed          bool                 `json:"passed"`
	Metrics         map[string]MetricDoc `json:"metrics"`
	Score           *float64             `json:"score"`
	ScoreMethod     string               `json:"score_method"`
	Tags            []string             `json:"tags"`
	Participants    []string             `json:"participants"`
	Attributes      map[string]string    `json:"attributes,omitempty"`
	Output          string               `json:"output,omitempty"`
	Cached          bool                 `json:"cached,omitempty"`
	// Environment, the project and the git fields repeat the run's, so
	// per-test history can be read and filtered without a join. The system
	// hash is not repeated: it is final only when the run is.
	Environment string  `json:"environment"`
	Project     string  `json:"project"`
	GitCommit   *string `json:"git_commit"`
	GitBranch   *string `json:"git_branch"`
}

// MetricDoc is one metric of a test. The seed reads metrics.<name>.score.
type MetricDoc struct {
	Value *float64 `json:"value"` // null when the value was NaN or ±Inf
	// NonFinite says what a null value was: "NaN", "+Inf" or "-Inf".
	NonFinite string   `json:"nonfinite,omitempty"`
	Name      string   `json:"name,omitempty"` // the user's name, when the key differs
	Unit      string   `json:"unit,omitempty"`
	Direction string   `json:"direction"`
	Threshold *float64 `json:"threshold,omitempty"`
	Weight    float64  `json:"weight,omitempty"`
	Score     float64  `json:"score"`
	Passed    *bool    `json:"passed,omitempty"`
	// Assumed says nothing gave the metric's direction (no definition, no
	// telling unit): it was scored as a higher-is-better fraction.
	Assumed bool `json:"assumed,omitempty"`
}
