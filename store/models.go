package store

import (
	"time"

	"evalrec.dev/provenance"
)

// EvaluationRun is one go test invocation, as stored in evaluation_runs.
type EvaluationRun struct {
	ID              ID                     `bson:"_id" json:"_id"`
	EvaluationRunID string                 `bson:"evaluation_run_id" json:"evaluation_run_id"`
	StartedAt       time.Time              `bson:"started_at" json:"started_at"`
	FinishedAt      *time.Time             `bson:"finished_at" json:"finished_at"`
	GitCommit       *string                `bson:"git_commit" json:"git_commit"`
	GitBranch       *string                `bson:"git_branch" json:"git_branch"`
	GitDirty        *bool                  `bson:"git_dirty" json:"git_dirty"`
	Environment     string                 `bson:"environment" json:"environment"`
	ExperimentTags  []string               `bson:"experiment_tags" json:"experiment_tags"`
	System          provenance.System      `bson:"system_information" json:"system_information"`
	SystemInfoHash  string                 `bson:"system_info_hash" json:"system_info_hash"`
	Metrics         map[string]float64     `bson:"metrics" json:"metrics"`
	MetricStats     map[string]MetricStats `bson:"metric_stats" json:"metric_stats"`
	NumTests        int                    `bson:"num_tests" json:"num_tests"`
	NumPassed       int                    `bson:"num_passed" json:"num_passed"`
	NumFailed       int                    `bson:"num_failed" json:"num_failed"`
	NumSkipped      int                    `bson:"num_skipped" json:"num_skipped"`
	NumIncomplete   int                    `bson:"num_incomplete" json:"num_incomplete"`
	Status          string                 `bson:"status" json:"status"`
	Score           *float64               `bson:"score" json:"score"`
	Error           string                 `bson:"error,omitempty" json:"error,omitempty"`
	// Source is how the run was recorded: "testmain", "converter" or "wrapper".
	Source string `bson:"source" json:"source"`
	// Project is the module path at the invocation's root (for the
	// converter outside a module, the module the test binaries announced,
	// else the common prefix of the packages), and Repository the git
	// remote, without credentials. Every query is scoped to one project by
	// default.
	Project    string `bson:"project" json:"project"`
	Repository string `bson:"repository,omitempty" json:"repository,omitempty"`
	// Packages are the packages that ran, sorted: a run is compared with
	// another on the packages both ran.
	Packages []string `bson:"packages" json:"packages"`
	// TestsSelected says go test was told to run some tests only (-run,
	// -skip): the tests it did not run are not gone, and comparisons
	// with this run keep to the tests both sides ran.
	TestsSelected bool `bson:"tests_selected,omitempty" json:"tests_selected,omitempty"`
}

// MetricStats summarises one metric over the tests of a run.
type MetricStats struct {
	N    int     `bson:"n" json:"n"`
	Mean float64 `bson:"mean" json:"mean"`
	Min  float64 `bson:"min" json:"min"`
	Max  float64 `bson:"max" json:"max"`
	P50  float64 `bson:"p50" json:"p50"`
	P90  float64 `bson:"p90" json:"p90"`
}

// TestRun is one test execution, as stored in test_runs. Its _id is the
// test_run_id, so storing it twice is a duplicate-key no-op.
type TestRun struct {
	ID              string               `bson:"_id" json:"_id"`
	EvaluationRunID ID                   `bson:"evaluation_run_id" json:"evaluation_run_id"`
	TestRunID       string               `bson:"test_run_id" json:"test_run_id"`
	TestID          string               `bson:"test_id" json:"test_id"`
	TestName        string               `bson:"test_name" json:"test_name"`
	Package         string               `bson:"package" json:"package"`
	GoTest          string               `bson:"go_test" json:"go_test"`
	Attempt         int                  `bson:"attempt" json:"attempt"`
	StartedAt       *time.Time           `bson:"started_at" json:"started_at"`
	FinishedAt      time.Time            `bson:"finished_at" json:"finished_at"`
	DurationMS      float64              `bson:"duration_ms" json:"duration_ms"`
	Status          string               `bson:"status" json:"status"`
	Passed          bool                 `bson:"passed" json:"passed"`
	Metrics         map[string]MetricDoc `bson:"metrics" json:"metrics"`
	Score           *float64             `bson:"score" json:"score"`
	ScoreMethod     string               `bson:"score_method" json:"score_method"`
	Tags            []string             `bson:"tags" json:"tags"`
	Participants    []string             `bson:"participants" json:"participants"`
	Attributes      map[string]string    `bson:"attributes,omitempty" json:"attributes,omitempty"`
	Output          string               `bson:"output,omitempty" json:"output,omitempty"`
	Cached          bool                 `bson:"cached,omitempty" json:"cached,omitempty"`
	// Environment, the project and the git fields repeat the run's, so
	// per-test history can be read and filtered without a join. The system
	// hash is not repeated: it is final only when the run is.
	Environment string  `bson:"environment" json:"environment"`
	Project     string  `bson:"project" json:"project"`
	GitCommit   *string `bson:"git_commit" json:"git_commit"`
	GitBranch   *string `bson:"git_branch" json:"git_branch"`
}

// MetricDoc is one metric of a test. The seed reads metrics.<name>.score.
type MetricDoc struct {
	Value *float64 `bson:"value" json:"value"` // null when the value was NaN or ±Inf
	// NonFinite says what a null value was: "NaN", "+Inf" or "-Inf".
	NonFinite string   `bson:"nonfinite,omitempty" json:"nonfinite,omitempty"`
	Name      string   `bson:"name,omitempty" json:"name,omitempty"` // the user's name, when the key differs
	Unit      string   `bson:"unit,omitempty" json:"unit,omitempty"`
	Direction string   `bson:"direction" json:"direction"`
	Threshold *float64 `bson:"threshold,omitempty" json:"threshold,omitempty"`
	Weight    float64  `bson:"weight,omitempty" json:"weight,omitempty"`
	Score     float64  `bson:"score" json:"score"`
	Passed    *bool    `bson:"passed,omitempty" json:"passed,omitempty"`
	// Assumed says nothing gave the metric's direction (no definition, no
	// telling unit): it was scored as a higher-is-better fraction.
	Assumed bool `bson:"assumed,omitempty" json:"assumed,omitempty"`
}

// Part is the record one writer keeps of its share of a run: one test binary
// in TestMain mode, one package for the converter. Only its owner writes it
// (others only reap it, conditionally, once its owner is gone); a run's
// status, and when it ended, come from its parts.
type Part struct {
	ID              string     `bson:"_id" json:"_id"`
	EvaluationRunID ID         `bson:"evaluation_run_id" json:"evaluation_run_id"`
	Package         string     `bson:"package" json:"package"`
	Host            string     `bson:"host" json:"host"`
	PID             int        `bson:"pid" json:"pid"`
	StartedAt       time.Time  `bson:"started_at" json:"started_at"`
	HeartbeatAt     time.Time  `bson:"heartbeat_at" json:"heartbeat_at"`
	FinishedAt      *time.Time `bson:"finished_at" json:"finished_at"`
	Status          string     `bson:"status" json:"status"`
	ExitCode        *int       `bson:"exit_code" json:"exit_code"`
	Error           string     `bson:"error,omitempty" json:"error,omitempty"`
	Summary         Counts     `bson:"summary" json:"summary"`
	// Values are kept in memory only (see [Values]).
	Values Values `bson:"-" json:"-"`
	// Dependencies of this binary, merged into the run's system information.
	Dependencies []provenance.Module `bson:"dependencies,omitempty" json:"dependencies,omitempty"`
	// System is what the test binary announced about itself on the stream
	// (converter and wrapper). Finalization fills the run's system
	// information from it where the writer could not know.
	System *provenance.System `bson:"system,omitempty" json:"system,omitempty"`
	Cached bool               `bson:"cached,omitempty" json:"cached,omitempty"`
	// Reaped marks a part that another writer found dead and failed.
	Reaped bool `bson:"reaped,omitempty" json:"reaped,omitempty"`
}

// PartEnd is how a part ended.
type PartEnd struct {
	Status   string `json:"status"` // StatusCompleted, or StatusFailed when it broke
	ExitCode *int   `json:"exit_code,omitempty"`
	Error    string `json:"error,omitempty"`
	// System is what the test binary announced about itself, if anything.
	System *provenance.System `json:"system,omitempty"`
	Cached bool               `json:"cached,omitempty"`
	// At is when the part ended, as its source tells it (the stream's own
	// time); zero means now.
	At time.Time `json:"at"`
}

// Counts are a part's test counts, stored on the part.
type Counts struct {
	NumTests      int `bson:"num_tests" json:"num_tests"`
	NumPassed     int `bson:"num_passed" json:"num_passed"`
	NumFailed     int `bson:"num_failed" json:"num_failed"`
	NumSkipped    int `bson:"num_skipped" json:"num_skipped"`
	NumIncomplete int `bson:"num_incomplete" json:"num_incomplete"`
}

// Values are the metric values and test scores of a part, kept in memory
// only, for a dry run's totals; stored runs count their test runs.
type Values struct {
	MetricValues map[string][]float64
	// Scores hold, for each test that ran (skipped tests do not count), its
	// score, or 0 when it failed or never finished: a run's score is their
	// mean, so that a failing test always lowers it (see [RunScore]).
	Scores []float64
}
