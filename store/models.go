package store

import (
	"time"

	"evalrec.dev/model"
	"evalrec.dev/provenance"
)

// Part is the record one writer keeps of its share of a run: one test binary
// in TestMain mode, one package for the converter. Only its owner writes it
// (others only reap it, conditionally, once its owner is gone); a run's
// status, and when it ended, come from its parts.
type Part struct {
	ID              string     `json:"_id"`
	EvaluationRunID model.ID   `json:"evaluation_run_id"`
	Package         string     `json:"package"`
	Host            string     `json:"host"`
	PID             int        `json:"pid"`
	StartedAt       time.Time  `json:"started_at"`
	HeartbeatAt     time.Time  `json:"heartbeat_at"`
	FinishedAt      *time.Time `json:"finished_at"`
	Status          string     `json:"status"`
	ExitCode        *int       `json:"exit_code"`
	Error           string     `json:"error,omitempty"`
	Summary         Counts     `json:"summary"`
	// Values are kept in memory only (see [Values]).
	Values Values `json:"-"`
	// Dependencies of this binary, merged into the run's system information.
	Dependencies []provenance.Module `json:"dependencies,omitempty"`
	// System is what the test binary announced about itself on the stream
	// (converter and wrapper). Finalization fills the run's system
	// information from it where the writer could not know.
	System *provenance.System `json:"system,omitempty"`
	Cached bool               `json:"cached,omitempty"`
	// Reaped marks a part that another writer found dead and failed.
	Reaped bool `json:"reaped,omitempty"`
	// Journal is the journal its writer holds locked while it runs (see
	// journal.Create), on Host. In a store on one machine (SQLite) that
	// lock, not a heartbeat, says whether the writer is alive.
	Journal string `json:"journal,omitempty"`
}

// Counts are a part's test counts, stored on the part.
type Counts struct {
	NumTests      int `json:"num_tests"`
	NumPassed     int `json:"num_passed"`
	NumFailed     int `json:"num_failed"`
	NumSkipped    int `json:"num_skipped"`
	NumIncomplete int `json:"num_incomplete"`
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
