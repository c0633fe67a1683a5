// Package store is the only package that knows MongoDB. It defines the stored
// documents, creates the indexes, writes results in idempotent batches
// (journaled on disk first, so that a writer that dies, or a server that is
// away, loses nothing), finalizes evaluation runs, and answers queries.
//
// Every rule here holds on real MongoDB and on the embedded FerretDB v1 store:
//
//   - Idempotency comes from unique keys on insert. A duplicate key (11000)
//     means "already stored". There are no upserts and no transactions.
//   - Run totals are never built with $inc, which FerretDB v1 loses under
//     concurrency. Each test binary (or each package, for the converter) owns
//     one part document; a run's totals are recomputed from its parts, or
//     from its stored test runs when a part's writer died, and written with a
//     deterministic $set.
//   - Aggregation sticks to $match, $group with $sum, $sort, $limit and
//     $project. Means, percentiles and statistics are computed in Go.
//   - NaN and ±Inf never reach the server (FerretDB drops the connection), and
//     field names from users never contain "." or a leading "$".
//   - Every operation has a short deadline, never the driver's 30 s default.
package store

// Collection names.
const (
	RunsCollection  = "evaluation_runs"
	TestsCollection = "test_runs"
	// PartsCollection holds one document per test binary (TestMain mode) or
	// per package (converter): the unit that writes results and knows when it
	// is done.
	PartsCollection = "evaluation_run_parts"
	// PartValuesCollection holds each part's metric values and scores,
	// under the part's _id, packed as binary (see Floats).
	PartValuesCollection = "evaluation_run_part_values"
	// PartsArchiveCollection holds the parts, with their values, of runs
	// that settled more than ArchiveAfter ago; ArchivedRunsCollection marks
	// those runs. See DB.ArchiveSettled.
	PartsArchiveCollection = "evaluation_run_parts_archive"
	ArchivedRunsCollection = "evaluation_runs_archived"
)

// Run statuses.
const (
	StatusRunning   = "running"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
)
