package main

import (
	"strings"

	"evalrec.dev/compare"
	"evalrec.dev/internal/pipeline"
	"evalrec.dev/store"
)

// testJSON is what evalrec test -json prints: the stored run, and what it
// was compared with.
type testJSON struct {
	ID              string   `json:"id"`
	EvaluationRunID string   `json:"evaluation_run_id"`
	Status          string   `json:"status"`
	Stored          bool     `json:"stored"`
	Store           string   `json:"store"`
	SpoolPath       string   `json:"spool_path,omitempty"`
	NotStarted      string   `json:"not_started,omitempty"`
	Error           string   `json:"error,omitempty"`
	Tests           counts   `json:"tests"`
	Score           *float64 `json:"score"`
	// Previous is the comparison with the previous comparable run.
	Previous *previousJSON `json:"previous"`
	// Baseline is the -baseline comparison, when one was asked for.
	Baseline *compare.Report `json:"baseline"`
	ExitCode int             `json:"exit_code"`
}

type counts struct {
	Passed     int `json:"passed"`
	Failed     int `json:"failed"`
	Skipped    int `json:"skipped"`
	Incomplete int `json:"incomplete"`
}

type previousJSON struct {
	ID              string   `json:"id"`
	EvaluationRunID string   `json:"evaluation_run_id"`
	ScoreDelta      *float64 `json:"score_delta"`
	NewTests        []string `json:"new_tests"`
	RemovedTests    []string `json:"removed_tests"`
	NewlyFailing    []string `json:"newly_failing"`
	Fixed           []string `json:"fixed"`
	ChangedTests    int      `json:"changed_tests"`
}

// summaryJSON describes the run as stored.
func (c *testCmd) summaryJSON(db *store.DB, where string, res *pipeline.Result, diff *compare.Diff, report *compare.Report, code int) testJSON {
	out := testJSON{Store: where, Baseline: report, ExitCode: code}
	if res == nil || res.Run == nil {
		return out
	}
	// Once stored, res.Run is the run as finalized in the store.
	r := res.Run
	out.Stored = db != nil && res.StorageErr == nil
	out.ID, out.EvaluationRunID, out.Status = r.ID.Hex(), r.EvaluationRunID, r.Status
	out.SpoolPath, out.Error, out.Score = res.SpoolPath, r.Error, r.Score
	out.Tests = counts{r.NumPassed, r.NumFailed, r.NumSkipped, r.NumIncomplete}
	if diff != nil {
		p := &previousJSON{ID: diff.Base.ID.Hex(), EvaluationRunID: diff.Base.EvaluationRunID,
			NewTests: diff.NewTests, RemovedTests: diff.RemovedTests, NewlyFailing: diff.NewlyFailing, Fixed: diff.Fixed,
			ChangedTests: len(diff.Tests)}
		if d, ok := diff.ScoreDelta(); ok {
			p.ScoreDelta = &d
		}
		out.Previous = p
	}
	return out
}

// withoutAttrLines drops the lines that frame evalrec's attributes
// ("=== ATTR  TestX evalrec.metric.wer 0.09") from a test's output for
// display; the stored output keeps them.
func withoutAttrLines(output string) string {
	lines := strings.SplitAfter(output, "\n")
	kept := lines[:0]
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(strings.TrimLeft(l, " "), "=== ATTR"); ok {
			if f := strings.Fields(rest); len(f) >= 2 && strings.HasPrefix(f[1], "evalrec.") {
				continue
			}
		}
		kept = append(kept, l)
	}
	return strings.Join(kept, "")
}
