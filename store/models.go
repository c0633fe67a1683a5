package store

import (
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"evalrec.dev/provenance"
)

// EvaluationRun is one go test invocation, as stored in evaluation_runs.
type EvaluationRun struct {
	ID              bson.ObjectID          `bson:"_id"`
	EvaluationRunID string                 `bson:"evaluation_run_id"`
	StartedAt       time.Time              `bson:"started_at"`
	FinishedAt      *time.Time             `bson:"finished_at"`
	GitCommit       *string                `bson:"git_commit"`
	GitBranch       *string                `bson:"git_branch"`
	GitDirty        *bool                  `bson:"git_dirty"`
	Environment     string                 `bson:"environment"`
	ExperimentTags  []string               `bson:"experiment_tags"`
	System          provenance.System      `bson:"system_information"`
	SystemInfoHash  string                 `bson:"system_info_hash"`
	Metrics         map[string]float64     `bson:"metrics"`
	MetricStats     map[string]MetricStats `bson:"metric_stats"`
	NumTests        int                    `bson:"num_tests"`
	NumPassed       int                    `bson:"num_passed"`
	NumFailed       int                    `bson:"num_failed"`
	NumSkipped      int                    `bson:"num_skipped"`
	NumIncomplete   int                    `bson:"num_incomplete"`
	Status          string                 `bson:"status"`
	Score           *float64               `bson:"score"`
	Error           string                 `bson:"error,omitempty"`
	// Source is how the run was recorded: "testmain", "converter" or "wrapper".
	Source string `bson:"source"`
}

// MetricStats summarises one metric over the tests of a run.
type MetricStats struct {
	N    int     `bson:"n"`
	Mean float64 `bson:"mean"`
	Min  float64 `bson:"min"`
	Max  float64 `bson:"max"`
	P50  float64 `bson:"p50"`
	P90  float64 `bson:"p90"`
}

// TestRun is one test execution, as stored in test_runs. Its _id is the
// test_run_id, so storing it twice is a duplicate-key no-op.
type TestRun struct {
	ID              string               `bson:"_id"`
	EvaluationRunID bson.ObjectID        `bson:"evaluation_run_id"`
	TestRunID       string               `bson:"test_run_id"`
	TestID          string               `bson:"test_id"`
	TestName        string               `bson:"test_name"`
	Package         string               `bson:"package"`
	GoTest          string               `bson:"go_test"`
	Attempt         int                  `bson:"attempt"`
	StartedAt       *time.Time           `bson:"started_at"`
	FinishedAt      time.Time            `bson:"finished_at"`
	DurationMS      float64              `bson:"duration_ms"`
	Status          string               `bson:"status"`
	Passed          bool                 `bson:"passed"`
	Metrics         map[string]MetricDoc `bson:"metrics"`
	Score           *float64             `bson:"score"`
	ScoreMethod     string               `bson:"score_method"`
	Tags            []string             `bson:"tags"`
	Participants    []string             `bson:"participants"`
	Attributes      map[string]string    `bson:"attributes,omitempty"`
	Output          string               `bson:"output,omitempty"`
	Cached          bool                 `bson:"cached,omitempty"`
	// Environment and the git fields repeat the run's, so per-test history
	// can be read and filtered without a join. The system hash is not
	// repeated: it is final only when the run is.
	Environment string  `bson:"environment"`
	GitCommit   *string `bson:"git_commit"`
	GitBranch   *string `bson:"git_branch"`
}

// MetricDoc is one metric of a test. The seed reads metrics.<name>.score.
type MetricDoc struct {
	Value *float64 `bson:"value"` // null when the value was NaN or ±Inf
	// NonFinite says what a null value was: "NaN", "+Inf" or "-Inf".
	NonFinite string   `bson:"nonfinite,omitempty"`
	Name      string   `bson:"name,omitempty"` // the user's name, when the key differs
	Unit      string   `bson:"unit,omitempty"`
	Direction string   `bson:"direction"`
	Threshold *float64 `bson:"threshold,omitempty"`
	Weight    float64  `bson:"weight,omitempty"`
	Score     float64  `bson:"score"`
	Passed    *bool    `bson:"passed,omitempty"`
}

// Part is the record one writer keeps of its share of a run: one test binary
// in TestMain mode, one package for the converter. Only its owner writes it,
// so plain $set updates are safe on FerretDB; a run's totals are computed from
// its parts.
type Part struct {
	ID              string        `bson:"_id"`
	EvaluationRunID bson.ObjectID `bson:"evaluation_run_id"`
	Package         string        `bson:"package"`
	Host            string        `bson:"host"`
	PID             int           `bson:"pid"`
	StartedAt       time.Time     `bson:"started_at"`
	HeartbeatAt     time.Time     `bson:"heartbeat_at"`
	FinishedAt      *time.Time    `bson:"finished_at"`
	Status          string        `bson:"status"`
	ExitCode        *int          `bson:"exit_code"`
	Error           string        `bson:"error,omitempty"`
	Summary         Counts        `bson:"summary"`
	// Values are stored apart, in PartValuesCollection, so that the parts
	// collection stays light: FerretDB scans a whole collection for any
	// filter but _id, and finalization filters parts by run.
	Values Values `bson:"-"`
	// Dependencies of this binary, merged into the run's system information.
	Dependencies []provenance.Module `bson:"dependencies,omitempty"`
	// System is what the test binary announced about itself on the stream
	// (converter and wrapper). Finalization fills the run's system
	// information from it where the writer could not know.
	System *provenance.System `bson:"system,omitempty"`
	Cached bool               `bson:"cached,omitempty"`
}

// PartEnd is how a part ended.
type PartEnd struct {
	Status   string // StatusCompleted, or StatusFailed when it broke
	ExitCode *int
	Error    string
	// System is what the test binary announced about itself, if anything.
	System *provenance.System
	Cached bool
}

// Counts are a part's test counts, stored on the part.
type Counts struct {
	NumTests      int `bson:"num_tests"`
	NumPassed     int `bson:"num_passed"`
	NumFailed     int `bson:"num_failed"`
	NumSkipped    int `bson:"num_skipped"`
	NumIncomplete int `bson:"num_incomplete"`
}

// PartValues holds the values a part contributes to its run's statistics.
// Its _id is the part's, so finalization reads it by _id.
type PartValues struct {
	ID              string        `bson:"_id"`
	EvaluationRunID bson.ObjectID `bson:"evaluation_run_id"`
	Values          `bson:",inline"`
}

// Values are the metric values and test scores of a part.
type Values struct {
	MetricValues map[string]Floats `bson:"metric_values"`
	// MetricScores are the scores of tests that reported metrics;
	// StatusScores those of tests scored by their status alone. A run's score
	// is the mean of MetricScores, or of StatusScores when there are none.
	MetricScores Floats `bson:"metric_scores"`
	StatusScores Floats `bson:"status_scores"`
}
